"""Turn records: what the engine yields, what traces store, what viewers draw. Plain JSON-able data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["valid", "repaired", "noop"]
ENGINE_METRICS = ("llm_calls", "valid", "repaired", "noop", "turn_seconds")  # added to every turn by the engine


@dataclass
class Decision:
    """How one agent's reply became its action this turn."""

    agent: str
    action: dict  # the action applied (the no-op when status is "noop")
    status: Status
    reason: str | None = None  # why a reply was repaired or became a no-op
    reply: str | None = None
    backend: str = ""
    model: str = ""
    prompt: str | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    server: str = ""  # the server that answered (its base URL) for HTTP backends; "" for in-process ones


@dataclass
class Turn:
    """One turn as it happened. `state` is the world's JSON form of the state AFTER the turn."""

    turn: int
    state: dict
    decisions: list[Decision]
    events: list[dict]
    metrics: dict[str, Any]
    legends: list[str] = field(default_factory=list)  # legends that began this turn

    def to_json(self) -> dict:
        """The JSON form (shallow: the state and events are already plain JSON data)."""
        return {**vars(self), "decisions": [vars(d).copy() for d in self.decisions]}

    @classmethod
    def from_json(cls, data: dict) -> "Turn":
        known = {k: data[k] for k in ("turn", "state", "events", "metrics", "legends") if k in data}
        return cls(decisions=[Decision(**d) for d in data.get("decisions", [])], **known)
