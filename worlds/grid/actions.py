"""What a forager may do in one turn: one flat, closed object. `do` is the one thing it does (stay, gather
where it stands, step to a neighbouring cell, or share food); `to` and `amount` matter only for a share.
The Action validates every reply; each forager's schema narrows it to what it can do now: only directions
that stay inside the meadow, only neighbours as `to`, an `amount` of at most what it holds."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

STEPS = {"north": (0, -1), "east": (1, 0), "south": (0, 1), "west": (-1, 0)}  # (d column, d row)
MOST_SHARE = 50  # the Action's own bound; a forager's schema allows at most what it holds
NAME_CHARS = 24


class GridAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    do: Literal["stay", "gather", "north", "east", "south", "west", "share"]
    to: str = Field(default="", max_length=NAME_CHARS)  # the neighbour a share goes to
    amount: int = Field(default=0, ge=0, le=MOST_SHARE)  # food shared


NOOP = {"do": "stay", "to": "", "amount": 0}


def forager_schema(moves: list[str], can_gather: bool, neighbours: list[str], held: int) -> dict:
    """The schema of one forager now: `moves` are the directions that stay inside the meadow."""
    dos = ["stay", *(["gather"] if can_gather else []), *moves, *(["share"] if neighbours and held else [])]
    return {
        "type": "object",
        "properties": {
            "do": {"type": "string", "enum": dos},
            "to": {"type": "string", "enum": ["", *neighbours]},
            "amount": {"type": "integer", "minimum": 0, "maximum": min(held, MOST_SHARE)},
        },
        "required": ["do", "to", "amount"],
        "additionalProperties": False,
    }
