"""The template's one parameter. Every field needs a default, bounds and a description: `--set`, sweeps
and trace headers are read through this model, and a typo or an out-of-bounds value is an error."""
from pydantic import BaseModel, ConfigDict, Field


class GuessParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    points: int = Field(1, ge=1, le=100, description="points each winner of a round scores")
