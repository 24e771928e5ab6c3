"""A council: which backend each agent uses. One generate call per backend per turn, all its agents in it.

Assignment rules map an agent's name or its role (e.g. its trade in the wood) to a backend, with "*" as
the default; the first matching rule wins in the order: name, role, "*".

A backend marked `interactive` (a person's seat, agents/backends/human.py) waits on someone, not on a
model: its call runs in a thread beside the other backends' calls, so a turn takes as long as the slower of
the person and the model batch, not both in turn. Replies are still gathered in group order.

A backend spread over several servers (agents/backends/spread.py) makes one call per server it deals agents
to, all in flight at once; the turn's model calls count each, and the trace header says which server each
agent is dealt to.
"""
from __future__ import annotations

import threading
from typing import Mapping, Sequence

from agents.backends.base import Backend
from agents.backends.spread import Spread
from sim.policy import Ask, Batch, Reply


class Council:
    def __init__(self, assign: Mapping[str, Backend]):
        if "*" not in assign:
            raise ValueError('a council needs a default backend under "*"')
        self.assign = dict(assign)

    @classmethod
    def of(cls, backend: Backend) -> "Council":
        return cls({"*": backend})

    def with_seat(self, agent: str, backend: Backend) -> "Council":
        """A copy of this council in which `agent` (by name) uses `backend`; every other agent keeps its own."""
        return Council({**self.assign, agent: backend})

    def backend_for(self, agent: str, role: str = "") -> Backend:
        return self.assign.get(agent) or self.assign.get(role) or self.assign["*"]

    def decide(self, turn: int, asks: Sequence[Ask]) -> Batch:
        groups: dict[int, tuple[Backend, list[Ask]]] = {}
        if len(self.assign) == 1 and asks:  # one backend for all (a scripted wood of thousands): no rule to match
            groups[id(self.assign["*"])] = (self.assign["*"], list(asks))
        elif asks:
            for ask in asks:
                backend = self.backend_for(ask.agent, ask.role)
                groups.setdefault(id(backend), (backend, []))[1].append(ask)
        answers: dict[int, list[Reply]] = {}

        def answer(key: int) -> None:
            backend, group = groups[key]
            answers[key] = _generate(backend, turn, group)

        interactive = [key for key, (backend, _) in groups.items() if getattr(backend, "interactive", False)]
        waiting = [threading.Thread(target=answer, args=(key,), name="council-seat", daemon=True)
                   for key in interactive]
        for thread in waiting:
            thread.start()
        for key in groups:
            if key not in interactive:
                answer(key)
        for thread in waiting:
            thread.join()
        replies: dict[str, Reply] = {}
        calls = 0
        for key, (backend, group) in groups.items():
            calls += backend.calls(len(group)) if isinstance(backend, Spread) else int(backend.is_model)
            for ask, reply in zip(group, answers[key]):
                reply.backend = reply.backend or backend.name
                reply.model = reply.model or backend.model
                replies[ask.agent] = reply
        return Batch(replies, calls)

    def describe(self, asks: Sequence[Ask]) -> dict[str, dict]:
        out = {}
        spreads: dict[int, tuple[Spread, list[str]]] = {}
        for ask in asks:
            backend = self.backend_for(ask.agent, ask.role if len(self.assign) > 1 else "")
            out[ask.agent] = {"backend": backend.name, "model": backend.model}
            if isinstance(backend, Spread):
                spreads.setdefault(id(backend), (backend, []))[1].append(ask.agent)
        for backend, agents in spreads.values():
            for agent, server in backend.describe(agents).items():
                out[agent]["server"] = server
        return out


def _generate(backend: Backend, turn: int, group: list[Ask]) -> list[Reply]:
    """The backend's replies, always one per ask: a crash or a short answer becomes error replies."""
    try:
        replies = list(backend.generate(turn, group))
    except Exception as exc:
        return [Reply(text=None, error=f"{backend.name} failed: {type(exc).__name__}: {exc}"[:300]) for _ in group]
    if len(replies) < len(group):
        missing = Reply(text=None, error=f"{backend.name} returned {len(replies)} replies for {len(group)} agents")
        replies += [Reply(text=None, error=missing.error) for _ in group[len(replies):]]
    return replies[: len(group)]
