"""The scripted forager, which is also the worked example each forager's prompt shows.

A forager sees only its cell, the four cells around it and its neighbours. It gathers where food lies
thick (or where there is any and it is hungry), otherwise steps toward the richest cell around it; when it
holds plenty and a neighbour is down to its last bite, it shares. The scripted one sometimes wanders off in
a random direction instead of walking to the richest cell, so a crowd spreads out over the meadow.
"""
from __future__ import annotations

from worlds.grid.actions import NOOP
from worlds.grid.around import moves, neighbours
from worlds.grid.state import GridState

RICH = 2  # food on a cell worth stopping to gather
HUNGRY = 1  # a forager holding this much or less gathers whatever lies under it
PLENTY = 6  # holding this much, a forager shares with a hungry neighbour
GIFT = 2
WANDER = 0.15  # how often the scripted forager takes a random step instead


def decide(state: GridState, i: int, draw: float | None = None) -> dict:
    """One forager's action dict. `draw` (a uniform number in [0, 1)) lets the scripted forager wander;
    None: the worked example, which never does."""
    held, here = state.food[i], int(state.ground[state.row[i], state.col[i]])
    if held >= PLENTY:
        hungry = [n for n in neighbours(state, i) if state.food[state.position[n]] <= HUNGRY]
        if hungry:
            return {"do": "share", "to": hungry[0], "amount": GIFT}
    if here >= RICH or (here and held <= HUNGRY):
        return {**NOOP, "do": "gather"}
    around = moves(state, i)
    if draw is not None and draw < WANDER:
        ways = list(around)
        return {**NOOP, "do": ways[int(draw / WANDER * len(ways))]}
    best = max(around, key=around.get)  # the first of the richest, in the order north, east, south, west
    if around[best] > here:
        return {**NOOP, "do": best}
    return {**NOOP, "do": "gather"} if here else {**NOOP, "do": best}
