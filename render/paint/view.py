"""What a viewer shows of one Turn record, from the world's Portrait (sim.portrayal): figures (an agent, or a
whole group when there are too many to draw one by one) and flows (arrows between the figures shown). The
world decides what its agents look like; nothing here knows any world. A viewer finds the world's drawing
hook with `portrayer` (a trace's world with `world_from_header`) and wraps it in `Portraits`, so each turn
is portrayed once however many painters draw it."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Collection

from sim.config import RunConfig
from sim.portrayal import Portrait, portrait
from sim.records import Turn
from sim.world import World

KEEP_PORTRAITS = 64  # Portraits a viewer keeps made: the web log shows 40 turns, the scene two
MAX_FIGURES = 60  # beyond this a scene draws one figure per group: 1000 sprites are noise, not a picture
Portray = Callable[[Turn], Portrait]  # a world's `portray`, or the default sim.portrayal.portrait


def world_from_header(header: dict) -> World | None:
    """The world a trace was recorded in, rebuilt from its header (None if it is not installed here)."""
    try:
        return RunConfig.from_json(header.get("config", {})).make_world()
    except Exception:
        return None


def portrayer(world: World | None) -> Portray | None:
    """How to draw turns of `world`: its own `portray` hook, or None (the default portrait) when the world
    is not installed here."""
    return world.portray if world is not None else None


@dataclass
class Figure:
    key: str  # agent name, or the group's role when aggregated
    label: str
    role: str
    shape: str = ""
    colour: tuple | None = None
    count: int = 1  # agents this figure stands for
    mood: float | None = None  # mean, in [0, 1]
    numbers: dict[str, float] = field(default_factory=dict)  # mean per agent
    held: dict[str, float] = field(default_factory=dict)  # mean per agent
    status: dict[str, int] = field(default_factory=dict)  # decision status -> count
    badge: str = ""
    say: str = ""
    action: str = ""  # what it did this turn, in a few words
    reason: str = ""  # why its reply was repaired or became a no-op
    at: tuple[float, float] | None = None  # where it stands (Glyph.at); None for a group


@dataclass
class Flow:
    source: str  # figure keys
    target: str
    label: str
    amount: float


def portrayed(turn: Turn, portray: Portray | None = None) -> Portrait:
    """The turn's Portrait; a world whose hook fails on this record is drawn with the default (a viewer
    draws whatever it gets)."""
    if portray is not None:
        try:
            return portray(turn)
        except Exception:
            pass
    return portrait(turn)


class Portraits:
    """A world's `portray` that makes each turn's Portrait once: the scene (this turn and the one before, in
    every animation frame), the cards, the log (40 turns) and the charts of one web turn asked for 49
    Portraits of 41 turns each time before. Hand one of these to every painter in place of the hook; it keeps
    the `keep` most recently asked turns (held, so a turn's id is not reused while it is kept)."""

    def __init__(self, portray: Portray | None, keep: int = KEEP_PORTRAITS):
        self.portray, self.keep = portray, keep
        self.made: OrderedDict[int, tuple[Turn, Portrait]] = OrderedDict()
        self.lock = threading.Lock()  # a tab's branch charts its run while the run plays on

    def __call__(self, turn: Turn) -> Portrait:
        with self.lock:
            found = self.made.get(id(turn))
            if found is not None and found[0] is turn:
                self.made.move_to_end(id(turn))
                return found[1]
        drawn = portrayed(turn, self.portray)
        with self.lock:
            self.made[id(turn)] = (turn, drawn)
            while len(self.made) > self.keep:
                self.made.popitem(last=False)
        return drawn


def creatures(turn: Turn, look: Portrait, only: Collection[str] | None = None) -> list[Figure]:
    """One figure per agent the portrait draws (`only`: per agent named there), with its decision of this
    turn."""
    decided = {d.agent: d for d in turn.decisions}
    out = []
    for name, g in look.glyphs.items():
        if only is not None and name not in only:
            continue
        fig = Figure(key=name, label=g.label, role=g.role, shape=g.shape, colour=g.colour, mood=g.mood,
                     numbers=dict(g.numbers), held=dict(g.held), badge=g.badge, action=g.action, at=g.at)
        d = decided.get(name)
        if d is not None:
            fig.status = {d.status: 1}
            fig.say = str(d.action.get("say") or "") if isinstance(d.action, dict) else ""
            fig.reason = d.reason or ""
        out.append(fig)
    return out


def figures(turn: Turn, look: Portrait, limit: int = MAX_FIGURES) -> list[Figure]:
    """Figures to draw: every agent, or one per role when there are more than `limit`."""
    each = creatures(turn, look)
    return each if len(each) <= limit else group(each)


def group(each: list[Figure]) -> list[Figure]:
    by_role: dict[str, list[Figure]] = {}
    for f in each:
        by_role.setdefault(f.role, []).append(f)
    out = []
    for role, members in by_role.items():
        n = len(members)
        fig = Figure(key=role, label=f"{role or 'agents'}", role=role, shape=members[0].shape,
                     colour=members[0].colour, count=n)
        fig.mood = _mean([m.mood for m in members])
        fig.numbers = {k: _mean([m.numbers.get(k) for m in members]) for k in members[0].numbers}
        for m in members:
            for g, u in m.held.items():
                fig.held[g] = fig.held.get(g, 0.0) + u / n
            for s, c in m.status.items():
                fig.status[s] = fig.status.get(s, 0) + c
        badges = [m.badge for m in members if m.badge]
        fig.badge = badges[0] if len(badges) > n / 2 else ""
        speakers = [m for m in members if m.say]
        if speakers:
            fig.say = f"{speakers[0].label}: {speakers[0].say}"
        out.append(fig)
    return out


def flows(look: Portrait, shown: list[Figure]) -> list[Flow]:
    """The portrait's arrows between the figures shown (arrows inside one group are dropped; arrows between
    groups add up)."""
    keys = {f.key for f in shown}
    grouped = not all(f.count == 1 for f in shown)
    owner = {name: g.role for name, g in look.glyphs.items()} if grouped else {}
    out: dict[tuple, Flow] = {}
    for a in look.arrows:
        s, t = owner.get(a.source, a.source), owner.get(a.target, a.target)
        if s not in keys or t not in keys or s == t:
            continue
        flow = out.setdefault((s, t, a.label), Flow(s, t, a.label, 0.0))
        flow.amount += a.amount
    return list(out.values())


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None
