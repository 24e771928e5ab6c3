"""Forks: continue any recorded run from the state after its turn T-1, with another policy or new legends.

The exact state after turn T-1 includes the engine's rng, which no trace line holds, so a fork replays the
source's recorded replies for turns 0..T-1 through the replay policy (exactly as `python -m sim replay`
does, with every legend and patron act the source received, at the turn it received it) and then lets its
own policy decide:

    source trace -> Engine(seed, replay policy, source's interventions) -> turns 0..T-1, recorded into the fork
                 -> the fork's policy (default: the source's) and legends from turn T on

The fork's trace is a run like any other: its header's config names the source and T (fork_of, fork_at),
`replay` of it needs only the fork's own trace, and `--resume` continues it (still replaying the source
if it was cut short before T).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from pydantic import ValidationError

from sim import intervention, registry
from sim.config import RunConfig
from sim.engine import Engine
from sim.errors import UsageError, UserError
from sim.policy import Ask, Batch
from sim.records import Turn
from sim.trace import TRACE, DamagedRun, iter_turns, read_header
from sim.world import World

MAX_SEED = 2**63 - 1  # numpy takes any size; JSON readers stop at 64 bits


@dataclass
class Source:
    """A recorded run to replay or fork: its trace, header, turns and configuration."""

    path: Path
    header: dict
    turns: list[Turn]
    config: RunConfig


def read_source(trace: str | Path) -> Source:
    """The run recorded at `trace` (a trace.jsonl or the folder holding one); a one-line UserError for
    a path that holds no trace or a trace that was damaged, down to the legends and patron acts its turns
    recorded (replay and forks queue them again, so each must be one its world can take)."""
    path = Path(trace)
    if os.path.isdir(path) and os.path.isfile(path / TRACE):  # os.path: False, not an error, when unreadable
        path = path / TRACE
    if not os.path.lexists(path):
        raise UsageError(f"no trace at {path}")
    header = read_header(path)
    turns = list(iter_turns(path))
    config = header_config(path, header)
    world = config.make_world()
    try:
        received = intervention.recorded(turns)
    except DamagedRun as exc:
        raise DamagedRun(f"{path}: {exc}") from None
    for turn, entries in sorted(received.items()):
        for entry in entries:
            try:
                intervention.check(world, entry)
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                raise DamagedRun(f"{path}: turn {turn} holds {_what(entry)} its world cannot take "
                                 f"({first_error(exc)}); the trace was damaged") from None
    return Source(path, header, turns, config)


def _what(entry: dict) -> str:
    return f"the legend {entry['name'][:40]!r}" if entry["by"] == "legend" else "a patron act"


def first_error(exc: ValueError) -> str:
    """One short line for a ValueError; for pydantic's, its first error and where."""
    if isinstance(exc, ValidationError):
        err = exc.errors(include_url=False, include_input=False)[0]
        return f"{'.'.join(str(p) for p in err['loc']) or 'the act'}: {err['msg']}"[:120]
    return " ".join(str(exc).split())[:120]


def header_config(path: Path, header: dict) -> RunConfig:
    """The RunConfig a trace header records; DamagedRun, naming the trace, for one that no run could have
    written (a seed past 64 bits, `turns` that are text), rather than an error that blames a flag."""
    try:
        config = RunConfig.from_json(header["config"])
    except (registry.UnknownName, registry.BrokenPlugin):  # the installation is at fault, not the trace
        raise
    except (UserError, TypeError, ValueError) as exc:
        raise DamagedRun(f"{path}: the trace header's config cannot be used ({exc}); the trace was damaged") from None
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or not 0 <= config.seed <= MAX_SEED:
        raise DamagedRun(f"{path}: the trace header's seed {config.seed!r} is not a seed; the trace was damaged")
    return config


def received(source: Source, at: int, world: World) -> dict[int, list[dict]]:
    """The source's interventions a fork at `at` keeps: those it received before `at` (queued again as they
    happened) and those it had scheduled from `at` on. DamagedRun for a schedule this world cannot take."""
    out = intervention.recorded(source.turns[:at])
    try:
        for t, entries in intervention.scheduled_in(source.header).items():
            if t >= at:
                out.setdefault(t, []).extend(intervention.check(world, e) for e in entries)
    except DamagedRun as exc:
        raise DamagedRun(f"{source.path}: its header schedules {exc}; the trace was damaged") from None
    except ValueError as exc:
        raise DamagedRun(f"{source.path} schedules what its world {world.name!r} cannot take: {first_error(exc)}; "
                         "the trace was damaged") from None
    return out


class ForkPolicy:
    """The source's recorded replies (the replay policy) for turns before `at`, then `then`'s decisions.
    The trace header names `then`'s backends: they are the fork's own."""

    def __init__(self, replay, then, at: int):
        self.replay, self.then, self.at = replay, then, at

    def decide(self, turn: int, asks: Sequence[Ask]) -> Batch:
        return (self.replay if turn < self.at else self.then).decide(turn, asks)

    def describe(self, asks: Sequence[Ask]) -> dict[str, dict]:
        return self.then.describe(asks)


def policy_of(config: RunConfig, turn: int = 0, factory: Callable | None = None,
              announce: Callable[[str], None] = print, verify: bool = True):
    """The policy of the run `config` describes, from `turn` on. For a fork before its fork_at, that is the
    source's recorded replies up to fork_at, then its own policy (which the replay policy, too, reads from
    the source). `verify`: check first that the source's first fork_at turns are still those the fork was
    made from (a resumed fork replays whatever trace now sits at that path)."""
    replaying = config.fork_at is not None and turn < config.fork_at
    if config.fork_of and (replaying or config.policy == "replay") and not os.path.isfile(config.fork_of):
        raise UsageError(f"this fork replays its source {config.fork_of} from turn {turn} on, and that trace is "
                         "gone: fork the source again")
    if replaying and verify and config.fork_sha256 is not None:
        if source_digest(Path(config.fork_of), config.fork_at) != config.fork_sha256:
            raise UsageError(f"this fork replays its source {config.fork_of} from turn {turn} on, and that trace "
                             f"is no longer the one it was forked from (its first {config.fork_at} turns changed): "
                             "fork the source again")
    then = config.make_policy(factory, announce=announce, trace=config.fork_of)
    if not replaying:
        return then
    return ForkPolicy(config.replace(policy="replay").make_policy(trace=config.fork_of), then, config.fork_at)


def source_digest(path: Path, at: int) -> str | None:
    """sha256 of a trace's header line and its first `at` turn lines; None when it has fewer whole lines
    or cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for _ in range(at + 1):
                line = f.readline()
                if not line.endswith(b"\n"):
                    return None
                digest.update(line)
    except OSError:
        return None
    return digest.hexdigest()


def schedule(source: Source, at: int, legends: Mapping[int, list] | None, turns: int,
             world: World) -> dict[int, list[dict]]:
    """The interventions a fork of `source` at `at`, `turns` long, plays: the source's (see `received`) and
    `legends`. UsageError, saying what to change, for a fork that cannot be made as asked; DamagedRun for a
    source whose interventions cannot be read."""
    if not 0 <= at <= len(source.turns):
        raise UsageError(f"--at {at} is outside the trace: {source.path} holds {len(source.turns)} turns, so "
                         f"--at takes 0 to {len(source.turns)}")
    if turns < at:
        raise UsageError(f"--turns {turns} ends before --at {at}: the fork has at least the {at} turns it copies")
    out = received(source, at, world)
    for turn, names in sorted((legends or {}).items()):
        started = [intervention.legend(*((e, None) if isinstance(e, str) else e)) for e in names]
        name = started[0]["name"]
        if turn < at:
            raise UsageError(f"--legend {name}@{turn} is before --at {at}: the fork's turns before {at} are the "
                             f"source's; pick a turn from {at} on")
        if turn >= turns:
            raise UsageError(f"--legend {name}@{turn} would never start: the fork plays turns 0 to {turns - 1}; "
                             "pick an earlier turn or more --turns")
        out.setdefault(int(turn), []).extend(started)
    return out


def fork(source: Source | str | Path, at: int, *, out: str | Path | None = None,
         legends: Mapping[int, list] | None = None, turns: int | None = None,
         changes: Mapping[str, Any] | None = None, factory: Callable | None = None,
         announce: Callable[[str], None] = print) -> Engine:
    """An Engine positioned at turn `at` of a fork of `source`: its turns 0..at-1 replayed from the source
    (recorded into `out` when given) and checked state by state against it. `legends`: {turn: [name or
    (name, text)]} added from turn `at` on, after what the source had scheduled for those turns.
    `turns`: the fork's length in all (default: the source's). `changes`: RunConfig fields to change from
    the source's (policy, backend, model, url, council, temperature). `factory` builds policies (as
    RunConfig.make_policy's). Play on with `engine.run(turns)` or `engine.step()`."""
    source = source if isinstance(source, Source) else read_source(source)
    turns = len(source.turns) if turns is None else turns
    config = source.config.replace(**dict(changes or {}), turns=turns, fork_of=str(source.path.resolve()),
                                   fork_at=at, fork_sha256=source_digest(source.path, at))
    world = config.make_world()
    scheduled = schedule(source, at, legends, turns, world)
    policy = policy_of(config, 0, factory, announce, verify=False)  # the source was just read
    engine = Engine(world, policy, seed=config.seed, out=out, interventions=scheduled, config=config.to_json())
    for recorded in source.turns[:at]:
        again = engine.step()
        if again.state != recorded.state:
            engine.close()
            raise UserError(f"turn {recorded.turn} of {source.path} does not replay to the state it recorded (was "
                            "it made by other code?), so it cannot be forked" + (f"; remove {out}" if out else ""))
    return engine
