"""What a forager sees from where it stands: the cells it may step to and the neighbours it may share with."""
from __future__ import annotations

from worlds.grid.actions import STEPS
from worlds.grid.state import GridState


def moves(state: GridState, i: int) -> dict[str, int]:
    """{direction: food on that cell} for each step that stays inside the meadow, in the order of STEPS."""
    height, width = state.ground.shape
    out = {}
    for way, (dc, dr) in STEPS.items():
        c, r = state.col[i] + dc, state.row[i] + dr
        if 0 <= c < width and 0 <= r < height:
            out[way] = int(state.ground[r, c])
    return out


def neighbours(state: GridState, i: int) -> list[str]:
    """Foragers on the same cell or one step away (north, east, south or west), in the order they appeared."""
    c, r = state.col[i], state.row[i]
    return [name for j, name in enumerate(state.names)
            if j != i and abs(state.col[j] - c) + abs(state.row[j] - r) <= 1]


def where(state: GridState, i: int, j: int) -> str:
    """Where forager j stands, seen from forager i: "here", or the direction of its cell."""
    step = (state.col[j] - state.col[i], state.row[j] - state.row[i])
    return next((way for way, d in STEPS.items() if d == step), "here")
