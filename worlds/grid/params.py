"""The meadow's parameters: what `--set`, sweeps and the web demo may change, with bounds."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GridParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    width: int = Field(12, ge=3, le=60, description="columns of the meadow")
    height: int = Field(12, ge=3, le=60, description="rows of the meadow")
    most: int = Field(5, ge=1, le=50, description="most food one cell holds")
    regrow: float = Field(0.06, ge=0, le=1, description="chance a cell below `most` grows one food each turn")
    gather: int = Field(3, ge=1, le=20, description="most food a forager picks up in one turn")
    carry: int = Field(4, ge=1, le=50, description="food a forager holds when it appears")
    arrive_every: int = Field(3, ge=1, le=1000, description="turns between wanderers arriving at an edge")
    crowd: int = Field(16, ge=1, le=500, description="no wanderer arrives while this many foragers live")
    drought_turns: int = Field(6, ge=1, le=100, description="turns a drought (the legend) lasts")
    drought_regrow: float = Field(0.15, ge=0, le=1, description="share of the usual regrowth during a drought")
