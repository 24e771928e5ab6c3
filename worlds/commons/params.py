"""The commons' parameters: what `--set`, sweeps and the web demo may change, with bounds."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class CommonsParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    capacity: int | None = Field(None, ge=1, le=10**9, description="most fish the lake holds (default: 100 per fisher)")
    stock: float = Field(0.6, gt=0, le=1, description="starting fill, as a share of the capacity")
    growth: float = Field(0.3, gt=0, le=1, description="logistic regrowth rate (faster overshoots the capacity)")
    collapse: float = Field(0.15, ge=0, lt=1, description="share of the capacity below which the lake dies")
    greedy: float = Field(1 / 3, ge=0, le=1, description="share of the fishers who are greedy (the rest are "
                          "cautious and fair in turn)")

    @model_validator(mode="after")
    def _collapse_below_stock(self) -> "CommonsParams":
        if self.collapse >= self.stock:
            raise ValueError(f"collapse ({self.collapse}) must be below stock ({self.stock}): the lake would "
                             "start dead")
        return self
