"""Forks: continue any recorded run from the state after its turn T-1, with another policy or new legends.

The exact state after turn T-1 includes the engine's rng, which no trace line holds, so a fork replays the
source's recorded replies for turns 0..T-1 through the replay policy (exactly as `python -m sim replay`
does, with every legend the source started, at the turn it started) and then lets its own policy decide:

    source trace -> Engine(seed, replay policy, source's legends and patron acts) -> turns 0..T-1, recorded
    into the fork
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

from sim import registry
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
    recorded (replay and forks re-inject them, so each must be one its world can take)."""
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
        legends, acts = legends_of(turns), patrons_of(turns)
    except DamagedRun as exc:
        raise DamagedRun(f"{path}: {exc}") from None
    for turn, entries in sorted(legends.items()):
        for name, _ in entries:
            if name not in world.legends:
                raise DamagedRun(f"{path}: turn {turn} started legend {name[:40]!r}, which its world {world.name!r} "
                                 "does not have; the trace was damaged")
    for turn, entries in sorted(acts.items()):
        for act in entries:
            try:
                Engine.check_patron(world, act)
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                raise DamagedRun(f"{path}: turn {turn} holds a patron act its world cannot take ({first_error(exc)}); "
                                 "the trace was damaged") from None
    return Source(path, header, turns, config)


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


def legends_of(turns: list[Turn]) -> dict[int, list]:
    """Every legend a recorded run started, with its turn and (for player rumours) its text. DamagedRun for
    a legend event without a name as text."""
    return _events_by_turn(turns, ("legend",), _legend_of)


def _legend_of(event: dict) -> tuple[str, str | None]:
    name, text = event.get("name"), event.get("text")
    if not isinstance(name, str) or not isinstance(text, (str, type(None))):
        raise DamagedRun(f"a legend event without a name and text: {str(event)[:80]}")
    return name, text


def patrons_of(turns: list[Turn]) -> dict[int, list[dict]]:
    """Every patron act a recorded run received (applied or refused), with its turn, in the order applied.
    The engine records an act as {"kind": "patron", "act": ...}; a world may call its own account of the act
    "patron" too (the wood does, with what was done), so only events that carry an "act" are acts."""
    return _events_by_turn(turns, ("patron", "patron_refused"), _act_of)


def _act_of(event: dict) -> dict | None:
    if "act" not in event and event.get("kind") == "patron":
        return None  # the world's own event
    if not isinstance(event.get("act"), dict):
        raise DamagedRun(f"a patron event without its act: {str(event)[:80]}")
    return event["act"]


def _events_by_turn(turns: list[Turn], kinds: tuple[str, ...], pick: Callable[[dict], Any]) -> dict[int, list]:
    """{turn: [pick(event) for each event of these kinds that turn, unless None]}: what replay and forks
    re-inject. DamagedRun, naming the turn, for an event `pick` cannot read."""
    out: dict[int, list] = {}
    for turn in turns:
        for event in turn.events:
            if event.get("kind") in kinds:
                try:
                    picked = pick(event)
                except DamagedRun as exc:
                    raise DamagedRun(f"turn {turn.turn} holds {exc}; the trace was damaged") from None
                if picked is not None:
                    out.setdefault(turn.turn, []).append(picked)
    return out


def recorded_legends(source: Source, at: int, world: World) -> dict[int, list]:
    """The source's legends a fork at `at` keeps: those it started before `at` (replayed as they happened)
    and those it had scheduled from `at` on. DamagedRun for a schedule this world cannot read."""
    out = legends_of(source.turns[:at])
    try:
        for t, entries in (source.header.get("legends") or {}).items():
            if int(t) >= at:
                out.setdefault(int(t), []).extend((name, text) for name, text in entries)
        unknown = {name for entries in out.values() for name, _ in entries} - set(world.legends)
    except (AttributeError, TypeError, ValueError) as exc:
        raise DamagedRun(f"{source.path}: the legends it recorded cannot be read ({type(exc).__name__}: "
                         f"{str(exc)[:80]}); the trace was damaged") from None
    if unknown:
        raise DamagedRun(f"{source.path} starts legends its world {world.name!r} does not have: "
                         f"{', '.join(sorted(map(str, unknown)))}")
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
             world: World) -> dict[int, list]:
    """The legends a fork of `source` at `at`, `turns` long, plays: the source's (see recorded_legends) and
    `legends`. UsageError, saying what to change, for a fork that cannot be made as asked; DamagedRun for a
    source whose legends cannot be read."""
    if not 0 <= at <= len(source.turns):
        raise UsageError(f"--at {at} is outside the trace: {source.path} holds {len(source.turns)} turns, so "
                         f"--at takes 0 to {len(source.turns)}")
    if turns < at:
        raise UsageError(f"--turns {turns} ends before --at {at}: the fork has at least the {at} turns it copies")
    out = recorded_legends(source, at, world)
    for turn, names in sorted((legends or {}).items()):
        name = names[0] if isinstance(names[0], str) else names[0][0]
        if turn < at:
            raise UsageError(f"--legend {name}@{turn} is before --at {at}: the fork's turns before {at} are the "
                             f"source's; pick a turn from {at} on")
        if turn >= turns:
            raise UsageError(f"--legend {name}@{turn} would never start: the fork plays turns 0 to {turns - 1}; "
                             "pick an earlier turn or more --turns")
        out.setdefault(int(turn), []).extend(names)
    return out


def fork(source: Source | str | Path, at: int, *, out: str | Path | None = None,
         legends: Mapping[int, list] | None = None, turns: int | None = None,
         changes: Mapping[str, Any] | None = None, factory: Callable | None = None,
         announce: Callable[[str], None] = print) -> Engine:
    """An Engine positioned at turn `at` of a fork of `source`: its turns 0..at-1 replayed from the source
    (recorded into `out` when given) and checked state by state against it. `legends`: {turn: [name or
    (name, text)]} added from turn `at` on, beside the legends the source had scheduled for those turns.
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
    engine = Engine(world, policy, seed=config.seed, out=out, legends=scheduled,
                    patrons=patrons_of(source.turns[:at]), config=config.to_json())
    for recorded in source.turns[:at]:
        again = engine.step()
        if again.state != recorded.state:
            engine.close()
            raise UserError(f"turn {recorded.turn} of {source.path} does not replay to the state it recorded (was "
                            "it made by other code?), so it cannot be forked" + (f"; remove {out}" if out else ""))
    return engine
