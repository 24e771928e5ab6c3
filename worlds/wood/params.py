"""The wood's parameters: what `--set`, sweeps and the web demo may change, with bounds."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from worlds.wood.text import AIDS


class WoodParams(BaseModel):
    # `schema` is spelled through an alias: as a field name it would shadow BaseModel.schema
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_by_name=True, serialize_by_alias=True)

    season_turns: int = Field(5, ge=1, le=10_000, description="turns per season (four seasons make a year)")
    pebbles: int = Field(20, ge=3, le=1_000_000, description="starting pebbles per creature (each gets this +-3)")
    aids: str = Field(",".join(AIDS), description=f"comma-separated prompt aids creatures get ({', '.join(AIDS)}; "
                      "empty for none)")
    schema_: Literal["creature", "general"] = Field(
        "creature", alias="schema", description="creature: each creature's schema narrowed to what it may do "
        "now; general: the Action model's schema for all")

    economy: Literal["living", "classic"] = Field(
        "living", description="living: prices move only on trades, firewood is short each winter; classic: the "
        "first version")

    levers: str = Field("", description="comma-separated market aids for models (bands: prices near the market; "
                        "budget: the purse split over the orders; book: last turn's best bid and ask; crossing: a "
                        "worked example whose prices meet the book); empty for none")

    second_act: bool = Field(True, description="direct offers, loans at interest, creatures' memory and the patron's "
                             "seat; false: the first version's rules exactly, so old results stay comparable")

    @field_validator("levers")
    @classmethod
    def _known_levers(cls, value: str) -> str:
        from worlds.wood.actions import LEVERS

        return _known_names(value, LEVERS, "levers")

    @field_validator("aids")
    @classmethod
    def _known_aids(cls, value: str) -> str:
        return _known_names(value, AIDS, "prompt aids")


def _known_names(value: str, known, what: str) -> str:
    """A comma-separated list whose every name is one of `known`."""
    unknown = sorted({name for name in value.split(",") if name} - set(known))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}")
    return value
