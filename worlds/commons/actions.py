"""What a fisher may do each turn: catch some fish and say one short line. One pydantic model validates;
a per-fisher JSON schema bounds the catch by what this fisher could sensibly take now."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

BOAT = 30  # most fish one boat can land in a turn
SAY_CHARS = 60


class CommonsAction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    catch: int = Field(default=0, ge=0, le=BOAT)
    say: str = ""

    @field_validator("say", mode="before")
    @classmethod
    def _one_short_line(cls, value: object) -> str:
        # messages reach other fishers' prompts: keep them one printable line, short
        text = "".join(ch if ch.isprintable() else " " for ch in str(value or ""))
        return " ".join(text.split())[:SAY_CHARS]


def catch_limit(stock: int, fishers: int) -> int:
    """The most one fisher may ask for now: its boat, or an equal share of every fish left if that is less."""
    return max(0, min(BOAT, stock // max(fishers, 1)))


def fisher_schema(limit: int) -> dict:
    return {
        "type": "object",
        "properties": {
            "catch": {"type": "integer", "minimum": 0, "maximum": limit},
            "say": {"type": "string", "maxLength": SAY_CHARS},
        },
        "required": ["catch", "say"],
        "additionalProperties": False,
    }
