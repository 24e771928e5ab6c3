"""The lake's state: plain data, with one numpy column per fisher so large fleets stay cheap."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np


@dataclass
class CommonsState:
    turn: int
    names: list[str]
    temperament: list[str]  # "cautious" | "fair" | "greedy": the fisher's role, drawn by viewers
    stock: int  # fish in the lake now
    caught: np.ndarray  # (N,) int: each fisher's catch since the start
    last_catch: np.ndarray  # (N,) int: each fisher's catch last turn
    last_regrowth: int = 0
    last_outsiders: int = 0  # fish an outsider fleet took last turn
    effects: list[dict] = field(default_factory=list)  # legend effects, see legends.py
    messages: list[list[str]] = field(default_factory=list)  # recent [fisher, text]
    rumours: list[str] = field(default_factory=list)  # recent legend and player rumours

    def copy(self) -> "CommonsState":
        return replace(
            self,
            caught=self.caught.copy(),
            last_catch=self.last_catch.copy(),
            effects=[dict(e) for e in self.effects],
            messages=[list(m) for m in self.messages],
            rumours=list(self.rumours),
        )

    @cached_property
    def position(self) -> dict[str, int]:
        """Fisher name -> row in the columns (built once per state)."""
        return {name: i for i, name in enumerate(self.names)}
