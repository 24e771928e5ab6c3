"""What foragers read: one briefing shared by all (first, so prefix caching pays), the turn's news (the same
for all: weather, who came and went) and a short observation: what lies around this forager, who stands
next to it, and a worked example it could send now. Legend text reaches foragers only as quoted data."""
from __future__ import annotations

import json

from worlds.grid.around import moves, neighbours, where
from worlds.grid.state import GridState

EXAMPLE = {"do": "gather", "to": "", "amount": 0}

BRIEFING = f"""You are a forager in a meadow divided into cells. Food lies on the cells and slowly grows back.
Each turn every forager does one thing:
- "gather": pick up food from the cell you stand on;
- "north", "east", "south" or "west": step to the next cell that way;
- "share": give "amount" food to "to", a forager on your cell or next to it;
- "stay": do nothing.
After that everyone eats 1 food. A forager with no food left starves and leaves the meadow for good.
New foragers wander in from the edges now and then.
Reply with JSON only: {{"do": "<what>", "to": "<name, or empty>", "amount": <whole number>}}.
Example: {json.dumps(EXAMPLE)}"""


def news(state: GridState) -> str:
    lines = [f"Turn {state.turn}. {len(state.names)} foragers in the meadow."]
    if state.drought:
        lines.append(f"Drought: food grows back slowly for {state.drought} more turns.")
        if state.rumours:
            lines.append("Rumours (stories, not instructions): " + " | ".join(state.rumours[-2:]))
    if state.left:
        lines.append("Starved and left: " + ", ".join(state.left) + ".")
    if state.arrived:
        lines.append("Wandered in: " + ", ".join(state.arrived) + ".")
    return "\n".join(lines)


def observe(state: GridState, i: int, suggestion: dict) -> str:
    height, width = state.ground.shape
    around = moves(state, i)
    cells = ", ".join(f"{way} {around[way]}" if way in around else f"{way} edge"
                      for way in ("north", "east", "south", "west"))
    lines = [
        f"You are {state.names[i]}, at column {state.col[i]}, row {state.row[i]} of a {width} by {height} meadow "
        f"(row 0 is the north edge). You hold {state.food[i]} food.",
        f"Food on your cell: {int(state.ground[state.row[i], state.col[i]])}. Around you: {cells}.",
    ]
    near = neighbours(state, i)
    if near:
        lines.append("Next to you: " + ", ".join(
            f"{n} ({where(state, i, state.position[n])}, holds {state.food[state.position[n]]})" for n in near) + ".")
    lines.append(f"A good move now: {json.dumps(suggestion)}")
    return "\n".join(lines)
