"""Interventions: something from outside a world changes its state at the start of a turn, before agents
observe. Two kinds share one queue, one checkpoint field, one event family and one replay path:

    {"by": "legend", "name": "drought", "text": null}   a legend (`--legend NAME@TURN`, `engine.inject`):
                                                        world.legend(state, name, text); text: a player's rumour
    {"by": "patron", "act": {...}}                      a patron act (`engine.patron`): world.patron(state, act),
                                                        the act as world.Patron dumps it

The engine applies each due intervention in the order queued and records it as one event whose kind is its
"by", then the events the world's hook returned; a world that refuses one (ValueError) gets it recorded as
"<by>_refused" with the reason, and the turn goes on:

    {"kind": "legend", "name": "drought"}                    (with "text" when there is one)
    {"kind": "patron", "act": {...}}
    {"kind": "patron_refused", "act": {...}, "reason": "..."}   (and "legend_refused", with name and text)

These are the very events earlier versions wrote, so viewers that look for kind "legend" and traces written
before the one queue read alike. `recorded` reads a trace's events back into interventions (replay, forks);
`scheduled_in` and `queued_in` read a header's schedule and a checkpoint's queue, in today's form
("interventions": {turn: [intervention]}) or in the separate legend and patron fields of older versions.
"""
from __future__ import annotations

from typing import Any, Iterable

from pydantic import BaseModel

from sim.records import Turn
from sim.trace import DamagedRun
from sim.world import Outcome, World

KINDS = ("legend", "patron")


def legend(name: str, text: str | None = None) -> dict:
    return {"by": "legend", "name": name, "text": text}


def patron(act: Any) -> dict:
    return {"by": "patron", "act": act.model_dump(mode="json") if isinstance(act, BaseModel) else act}


def check(world: World, entry: Any) -> dict:
    """`entry` as an intervention `world` can take: a listed legend (text: None or one line) or an act that
    validates as `world.Patron`, dumped as JSON. ValueError saying what is wrong (for an act, pydantic's)."""
    by = entry.get("by") if isinstance(entry, dict) else None
    if by == "legend":
        name, text = entry.get("name"), entry.get("text")
        if not isinstance(name, str) or not isinstance(text, (str, type(None))):
            raise ValueError(f"a legend without a name and text: {str(entry)[:80]}")
        if name not in world.legends:
            known = ", ".join(sorted(world.legends)) or "none"
            raise ValueError(f"unknown legend {name!r} for world {world.name!r} (known: {known})")
        return legend(name, text)
    if by == "patron":
        if world.Patron is None:
            raise ValueError(f"world {world.name!r} has no patron seat")
        return patron(world.Patron.model_validate(entry.get("act")))
    raise ValueError(f"not an intervention (a legend or a patron act): {str(entry)[:80]}")


def apply(world: World, state: Any, entry: dict) -> tuple[Any, list[dict]]:
    """One checked intervention applied to `state` now: (the state after it, its events). A world's ValueError
    is a refusal: the state is unchanged and the event says why."""
    try:
        if entry["by"] == "legend":
            outcome: Outcome = world.legend(state, entry["name"], entry["text"])
        else:
            outcome = world.patron(state, world.Patron.model_validate(entry["act"]))
    except ValueError as exc:
        reason = (str(exc).strip().splitlines() or ["refused"])[0][:200]
        return state, [event(entry, refused=reason)]
    return outcome.state, [event(entry), *outcome.events]


def event(entry: dict, refused: str | None = None) -> dict:
    """The event that records an intervention (a legend's text only when there is one)."""
    what = {k: v for k, v in entry.items() if k != "by" and not (k == "text" and not v)}
    if refused is None:
        return {"kind": entry["by"], **what}
    return {"kind": f"{entry['by']}_refused", **what, "reason": refused}


def of_event(event: dict) -> dict | None:
    """The intervention an event records, or None for any other event. A world may name an event of its own
    "patron" too (the wood does, saying what was done): only one that carries an act is the engine's.
    DamagedRun for an intervention's event that lacks what it needs."""
    kind = event.get("kind")
    by = kind.removesuffix("_refused") if isinstance(kind, str) else None
    if by not in KINDS:
        return None
    if by == "legend":
        name, text = event.get("name"), event.get("text")
        if not isinstance(name, str) or not isinstance(text, (str, type(None))):
            raise DamagedRun(f"a legend event without a name and text: {str(event)[:80]}")
        return legend(name, text)
    if "act" not in event and kind == "patron":
        return None  # the world's own event
    if not isinstance(event.get("act"), dict):
        raise DamagedRun(f"a patron event without its act: {str(event)[:80]}")
    return patron(event["act"])


def recorded(turns: Iterable[Turn]) -> dict[int, list[dict]]:
    """{turn: [intervention, in the order applied]} of every intervention a recorded run received, applied
    or refused: what replay and forks queue again. DamagedRun, naming the turn, for an event that cannot be
    read."""
    out: dict[int, list[dict]] = {}
    for turn in turns:
        for e in turn.events:
            try:
                entry = of_event(e)
            except DamagedRun as exc:
                raise DamagedRun(f"turn {turn.turn} holds {exc}; the trace was damaged") from None
            if entry is not None:
                out.setdefault(turn.turn, []).append(entry)
    return out


def scheduled_in(header: dict) -> dict[int, list[dict]]:
    """The interventions a trace header schedules, {turn: [intervention]}: its "interventions", or, in a
    header of an earlier version, its "legends" ({turn: [[name, text]]}) then its "patrons" ({turn: [act]})."""
    if "interventions" in header:
        return _by_turn(header["interventions"], lambda e: e)
    old = _by_turn(header.get("legends") or {}, lambda e: legend(*e))
    for t, acts in _by_turn(header.get("patrons") or {}, patron).items():
        old.setdefault(t, []).extend(acts)
    return old


def queued_in(checkpoint: dict) -> dict[int, list[dict]]:
    """The interventions a checkpoint has queued, {turn: [intervention]}: its "interventions", or, in a
    checkpoint of an earlier version, what its four fields held, in the order that version applied them:
    at the checkpoint's turn its scheduled legends, the legends queued during play, its scheduled patron
    acts, the acts queued during play."""
    if checkpoint.get("interventions") is not None:
        return _by_turn(checkpoint["interventions"], lambda e: e)
    queue = _by_turn(checkpoint.get("scheduled") or {}, lambda e: legend(*e))
    now = queue.setdefault(checkpoint["turn"], [])
    now.extend(legend(*e) for e in checkpoint.get("pending") or [])
    for t, acts in _by_turn(checkpoint.get("patrons") or {}, patron).items():
        queue.setdefault(t, []).extend(acts)
    now.extend(patron(a) for a in checkpoint.get("patron_pending") or [])
    return {t: entries for t, entries in queue.items() if entries}


def _by_turn(data: Any, read) -> dict[int, list[dict]]:
    """{int turn: [read(entry)]} of {"turn": [entry]}; DamagedRun for anything else."""
    try:
        return {int(t): [read(e) for e in entries] for t, entries in data.items()}
    except (AttributeError, TypeError, ValueError) as exc:
        raise DamagedRun(f"interventions that cannot be read ({type(exc).__name__}: {str(exc)[:80]})") from None

