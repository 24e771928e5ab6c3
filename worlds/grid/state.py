"""The meadow's state: plain data. Foragers are few (tens), so each of their columns is a list beside
`names`; the ground is one (height, width) int64 array of food per cell, row 0 at the north edge."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

NAMES = ["Ada", "Bram", "Cleo", "Dov", "Edda", "Finn", "Gus", "Hana", "Ines", "Jory", "Kai", "Lena",
         "Mira", "Nell", "Oskar", "Pia", "Quin", "Runa", "Sven", "Teo", "Uma", "Vera", "Wim", "Yara"]


def forager_name(k: int) -> str:
    """The k-th forager ever to appear; names never repeat, so one that left is never seen again."""
    return NAMES[k % len(NAMES)] + ("" if k < len(NAMES) else str(k // len(NAMES) + 1))


@dataclass
class GridState:
    turn: int
    names: list[str]  # the foragers in the meadow now, in the order they appeared
    kind: list[str]  # "settler" (there from the start) or "wanderer" (arrived later): the role
    col: list[int]
    row: list[int]
    food: list[int]  # food each one holds
    ground: np.ndarray  # (height, width) int64: food lying on each cell
    born: int = 0  # foragers that ever appeared: the next one's name
    drought: int = 0  # turns of drought left
    last: dict[str, int] = field(default_factory=dict)  # last turn's tallies: gathered, shared, moved, ...
    arrived: list[str] = field(default_factory=list)  # who appeared at the end of last turn
    left: list[str] = field(default_factory=list)  # who starved and left last turn
    rumours: list[str] = field(default_factory=list)  # recent legend lines, quoted to foragers

    def copy(self) -> "GridState":
        return replace(self, names=list(self.names), kind=list(self.kind), col=list(self.col), row=list(self.row),
                       food=list(self.food), ground=self.ground.copy(), last=dict(self.last),
                       arrived=list(self.arrived), left=list(self.left), rumours=list(self.rumours))

    @cached_property
    def position(self) -> dict[str, int]:
        """Forager name -> index in the columns (built once per state)."""
        return {name: i for i, name in enumerate(self.names)}

    def total_food(self) -> int:
        return int(self.ground.sum()) + sum(self.food)
