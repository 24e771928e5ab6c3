"""The replay backend: answers each agent with the reply recorded in a trace, so re-running the world with
the trace's seed reproduces every state without loading any model. A reply comes back with everything the
trace recorded of it (backend, model, prompt, token counts), so the replayed decisions are the recorded ones,
which a fork's first turns must be."""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from sim.policy import Ask, Reply
from sim.trace import iter_turns


class ReplayBackend:
    name = "replay"
    model = ""
    is_model = False

    def __init__(self, trace: str):
        self.trace = trace
        self.recorded: dict[int, dict[str, Reply]] = {}
        for turn in iter_turns(trace):
            self.recorded[turn.turn] = {
                d.agent: Reply(d.reply, backend=d.backend, model=d.model,
                               error=None if d.reply is not None else d.reason, prompt=d.prompt,
                               prompt_tokens=d.prompt_tokens, output_tokens=d.output_tokens, server=d.server)
                for d in turn.decisions
            }

    def generate(self, turn: int, asks: Sequence[Ask]) -> list[Reply]:
        recorded = self.recorded.get(turn, {})
        missing = Reply(text=None, error=f"the trace has no reply for this agent at turn {turn}")
        return [replace(recorded.get(ask.agent, missing)) for ask in asks]
