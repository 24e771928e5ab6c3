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
        """The record a trace line holds; TypeError naming the first field that is not of its kind (a damaged
        line must not reach replay or a viewer as a turn whose events are text)."""
        for key, kind in SHAPE.items():
            if key in data and not _is(data[key], kind):
                raise TypeError(f"{key} is a {type(data[key]).__name__}, not {kind[2]}")
        known = {k: data[k] for k in ("turn", "state", "events", "metrics", "legends") if k in data}
        return cls(decisions=[Decision(**d) for d in data.get("decisions", [])], **known)


# what each key of a turn line must be: (the Python type, its items' type or None, the kind in words)
SHAPE = {"turn": (int, None, "a turn number"), "state": (dict, None, "an object"),
         "decisions": (list, dict, "a list of objects"), "events": (list, dict, "a list of objects"),
         "metrics": (dict, None, "an object"), "legends": (list, str, "a list of names")}


def _is(value: Any, kind: tuple) -> bool:
    cls, item, _ = kind
    if not isinstance(value, cls) or isinstance(value, bool):
        return False
    return item is None or all(isinstance(v, item) for v in value)
