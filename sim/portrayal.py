"""How a world wants to be drawn: the world draws itself, the viewer only paints (Mesa's portrayal idea).

`World.portray(turn)` turns one Turn record into a Portrait: per agent a Glyph (label, group, sprite, colour,
numbers, mood, held amounts, a badge, what it did), the arrows of the turn (who gave what to whom), a theme
(background, weather, colours, the number drawn large, the numbers on the ticker) and the lines of the event
log. It reads only the record (state JSON, decisions, events, metrics), so it is pure and works on a trace
as well as on a live run. Every viewer (scene, cards, log, charts, window, GIF, web demo) paints a Portrait
and knows no world. `portrait(turn)` below is the default any world gets.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping

from sim.records import ENGINE_METRICS, Turn

RGB = tuple[int, int, int]


@dataclass
class Glyph:
    """One agent as drawn."""

    label: str
    role: str = ""  # its group: the colour when `colour` is None, and what large crowds are grouped by
    shape: str = ""  # a sprite the viewer may know ("squirrel"); "" or unknown: a disc with the role's initial
    colour: RGB | None = None
    numbers: dict[str, float] = field(default_factory=dict)  # beside it (two) and on its card (all)
    mood: float | None = None  # in [0, 1]: a face and a bar
    held: dict[str, float] = field(default_factory=dict)  # amounts drawn as small bars, coloured by name
    badge: str = ""  # one short mark beside it ("❄")
    action: str = ""  # what it did this turn, in a few words
    # where it stands: (x, y) in the portrait's space, a cell (column, row) of the ground's grid or continuous
    # coordinates; None: on the default ring (a world that places nobody is drawn as a ring). With a ground the
    # agent is drawn at its cell's centre; agents on one spot stand round it; once any glyph has `at`, glyphs
    # without one are left off the picture (their cards remain)
    at: tuple[float, float] | None = None


@dataclass
class Arrow:
    """Something that went from one agent to another this turn (goods, a message, a payment)."""

    source: str
    target: str
    label: str = ""  # also picks the colour, through Theme.colours
    amount: float = 1.0  # line width, relative to the turn's largest


@dataclass
class Theme:
    background: str = "plain"  # "plain" | "forest" | "market" (a forest with a stall) | "water"
    season: str = ""  # "spring" | "summer" | "autumn" | "winter" tint the ground; "" is summer's
    weather: str = ""  # "snow" | ""
    colours: dict[str, RGB] = field(default_factory=dict)  # name (a role, a good) -> colour
    centre: str = ""  # a metric drawn large in the middle ("" draws none)
    ticker: list[str] | None = None  # metrics along the bottom (None: every world number)
    title: str = ""  # after "Turn N" in the top bar ("Winter")
    spread: str = ""  # a per-agent number whose spread over agents gets a chart ("" none)


@dataclass
class Ground:
    """A value layer over the world's ground: a grid of cells, row 0 at the top. A cell is a number (painted
    on a ramp from `low` at 0 to `high` at `most`) or an RGB colour (terrain). A glyph with `at=(c, r)` stands
    on cell (column c, row r)."""

    cells: list[list[float]] | list[list[RGB]]
    label: str = ""  # what the numbers are ("food"), shown beside the picture
    low: RGB = (236, 228, 200)
    high: RGB = (46, 125, 50)
    most: float | None = None  # the number painted full `high` (None: the largest cell of this turn)


@dataclass
class Portrait:
    glyphs: dict[str, Glyph]  # agent -> glyph, in drawing order
    arrows: list[Arrow] = field(default_factory=list)
    theme: Theme = field(default_factory=Theme)
    banner: tuple[str, str] = ("", "")  # (title, text) of a legend in force, or ("", "")
    log: list[str] | None = None  # the event log's lines for this turn (None: one line per event)
    ground: Ground | None = None  # a value layer under the agents (None: the theme's background alone)
    # the extent (width, height) of the coordinates glyphs stand at; None: the ground's grid size, or, with no
    # ground, the smallest box around every glyph's `at`
    space: tuple[float, float] | None = None


def portrait(turn: Turn, roles: Mapping[str, str] | None = None) -> Portrait:
    """The portrait any world gets: a disc per agent coloured by its role, its numbers (values of the state
    keyed by agent name, or lists beside a `names` list), its mood if it has one, the compact JSON of what
    it did, no arrows, the first world number large in the middle, and the legend that began this turn.
    `roles`: the world's agents now and their groups (World.portray reads them from the state): a name the
    record still lists but `roles` lacks has left the world and gets no glyph, and one only `roles` names
    (it arrived and has not acted yet) gets one at the end. None: every name of the record is drawn."""
    agents = agents_of(turn)
    if roles is not None:
        listed = set(agents)
        agents = agents + [a for a in roles if a not in listed]
    numbers = per_agent_numbers(turn.state, agents)
    decided = {d.agent: d for d in turn.decisions}
    glyphs = {}
    for name in agents:
        if roles is not None and name not in roles:
            continue
        own = numbers.get(name, {})
        mood = own.pop("mood", None)
        d = decided.get(name)
        glyphs[name] = Glyph(label=name, role=(roles or {}).get(name, ""), numbers=own,
                             mood=None if mood is None else max(0.0, min(1.0, mood)),
                             action=describe(d.action) if d is not None else "")
    world_numbers = [k for k, v in turn.metrics.items() if k not in ENGINE_METRICS and _number(v)]
    return Portrait(glyphs, theme=Theme(centre=world_numbers[0] if world_numbers else ""), banner=began(turn))


def agents_of(turn: Turn) -> list[str]:
    """The agents of a record: the state's `names` list when it has one (agents who did not act this turn
    still stand there; an empty one: every agent has left), else those who decided."""
    names = turn.state.get("names")
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    return [d.agent for d in turn.decisions]


def per_agent_numbers(state: Mapping, agents: list[str]) -> dict[str, dict[str, float]]:
    """{agent: {key: number}} from state values that are clearly per agent: a dict keyed by agent names, or a
    list of numbers as long as the state's own `names` list."""
    out: dict[str, dict[str, float]] = {a: {} for a in agents}
    names = state.get("names")
    for key, value in state.items():
        if isinstance(value, dict) and value and set(value) <= set(out) and all(map(_number, value.values())):
            for a, v in value.items():
                out[a][key] = float(v)
        elif (key != "names" and isinstance(names, list) and isinstance(value, list) and len(value) == len(names)
              and value and all(map(_number, value))):
            for a, v in zip(names, value):
                if a in out:
                    out[a][key] = float(v)
    return out


def describe(action: dict) -> str:
    """An action in a few words: its fields as compact JSON, without what it said."""
    rest = {k: v for k, v in action.items() if k != "say" and v not in (None, [], {}, "")}
    return json.dumps(rest, separators=(",", ":"))[:80] if rest else "waits"


def began(turn: Turn) -> tuple[str, str]:
    """(title, text) of the legend that began this turn, from its `legend` event; ("", "") if none did."""
    for event in turn.events:
        if event.get("kind") == "legend":
            return str(event.get("name", "legend")).replace("_", " ").title(), str(event.get("text") or "")
    return "", ""


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
