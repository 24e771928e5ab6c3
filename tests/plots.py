"""A test-only world that places its agents: three gatherers on a 6 x 4 field with food on the ground. Ann
walks east one cell a turn, Bob stays in the far corner, Cy leaves after the first turn (the state keeps
every name that ever lived and who is still alive, as a world where agents starve often does). The
north-east cell holds the most food and nobody stands on it. Viewers' tests draw its turns
(tests/test_space.py)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from pydantic import BaseModel, ConfigDict

from sim import Outcome, World
from sim.portrayal import Ground

COLS, ROWS, MOST = 6, 4, 9
PURPLE = (200, 30, 200)  # the gatherers' colour: nothing else in a scene is this colour
START = {"ann": (0, 0), "bob": (5, 3), "cy": (2, 2)}
RICH = (5, 0)  # (column, row) of the cell holding MOST food
STEPS = {"stay": (0, 0), "east": (1, 0), "west": (-1, 0), "north": (0, -1), "south": (0, 1)}


@dataclass
class Field:
    turn: int
    names: list[str]  # everyone who ever lived here, departed included
    alive: list[bool]
    where: dict[str, list[int]]  # name -> [column, row]
    food: list[list[int]]  # rows of cells, row 0 at the top
    carried: dict[str, int]


class Go(BaseModel):
    model_config = ConfigDict(extra="forbid")
    go: Literal["stay", "east", "west", "north", "south"] = "stay"


class PlotsWorld(World[Field, Go]):
    name = "plots"
    Action = Go
    briefing = 'Gather food on a small field. Reply {"go": "stay"|"east"|"west"|"north"|"south"}.'
    example = '{"go": "east"}'

    def initial_state(self, rng) -> Field:
        food = [[(c + r) % 3 for c in range(COLS)] for r in range(ROWS)]
        food[RICH[1]][RICH[0]] = MOST
        return Field(0, list(START), [True] * len(START), {n: list(at) for n, at in START.items()}, food,
                     {n: 0 for n in START})

    def agents(self, state):
        return [n for n, live in zip(state.names, state.alive) if live]

    def observe(self, state, agent):
        c, r = state.where[agent]
        return f"Turn {state.turn}. You stand on ({c}, {r}) with {state.food[r][c]} food."

    def noop(self, agent):
        return Go()

    def role(self, state, agent):
        return "gatherer"

    def heuristics(self, state, agents, rng):
        return {a: {"go": "east" if a == "ann" else "stay"} for a in agents}

    def apply(self, state, actions, rng):
        where, food, carried = dict(state.where), [list(row) for row in state.food], dict(state.carried)
        for name, act in actions.items():
            dc, dr = STEPS[act.go]
            c, r = where[name]
            c, r = min(COLS - 1, max(0, c + dc)), min(ROWS - 1, max(0, r + dr))
            where[name] = [c, r]
            if food[r][c] and (c, r) != RICH:
                food[r][c] -= 1
                carried[name] += 1
        leaving = state.turn == 1  # the second turn: the record of turn 0 still has Cy, turn 1's has not
        alive = [live and not (leaving and name == "cy") for name, live in zip(state.names, state.alive)]
        events = [{"kind": "left", "agent": "cy"}] if leaving else []
        return Outcome(replace(state, turn=state.turn + 1, alive=alive, where=where, food=food, carried=carried),
                       events)

    def portray(self, turn):
        drawn = super().portray(turn)  # the default: a glyph for each live agent, its carried food beside it
        for name, glyph in drawn.glyphs.items():
            glyph.at = tuple(turn.state["where"][name])
        drawn.ground = Ground(turn.state["food"], label="food", most=MOST)
        drawn.theme.colours = {"gatherer": PURPLE}
        return drawn
