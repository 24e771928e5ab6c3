"""How much a model decides for itself: each model reply set beside the worked example its prompt showed.

A small model is a good copier, so a world that shows a worked example (World.suggestion) could be playing
itself through the model. The tally says how often a reply was the example exactly, and, part by part
(World.parts: the wood names each order by its side and good), whether the reply kept a part as shown
(followed), kept it with other numbers (changed), left it out (dropped) or wrote one the example did not have
(added). Decisions of the scripted policy are the world's own heuristic, not a model's, and are not counted.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sim.records import Decision

NOT_A_MODEL = ("scripted",)  # backends whose replies are the world's own heuristic
KINDS = ("followed", "changed", "dropped", "added")


class Counts(BaseModel):
    """A tally's counts as a checkpoint keeps them (read back strictly: a damaged one is refused)."""

    decisions: int = Field(ge=0)
    exact: int = Field(ge=0)
    noop: int = Field(ge=0)
    parts: dict[str, dict[str, int]]


def compare(example: dict[str, Any], reply: dict[str, Any]) -> dict[str, str]:
    """{part: kind} for every part of either."""
    out = {}
    for name, value in example.items():
        out[name] = "dropped" if name not in reply else "followed" if reply[name] == value else "changed"
    out.update((name, "added") for name in reply if name not in example)
    return out


class Tally:
    """Counts over a run, JSON-able (`data`) so a checkpoint carries it across a resume."""

    def __init__(self, data: dict | None = None):
        self.data = data or {"decisions": 0, "exact": 0, "noop": 0, "parts": {}}

    def add(self, world, state, decision: Decision) -> None:
        if decision.backend in NOT_A_MODEL:
            return
        example = world.suggestion(state, decision.agent)
        if example is None:
            return
        d = self.data
        d["decisions"] += 1
        if decision.status == "noop":  # an unreadable or infeasible reply decided nothing: not a departure
            d["noop"] += 1
            return
        kinds = compare(world.parts(example), world.parts(decision.action))
        d["exact"] += all(k == "followed" for k in kinds.values())
        for name, kind in kinds.items():
            row = d["parts"].setdefault(name, dict.fromkeys(KINDS, 0))
            row[kind] += 1

    @classmethod
    def pooled(cls, tallies: list[dict]) -> "Tally":
        """Several runs' tallies (their `data` or `summary()`) added up into one."""
        total = cls()
        for data in tallies:
            for key in ("decisions", "exact", "noop"):
                total.data[key] += data.get(key, 0)
            for part, kinds in data.get("parts", {}).items():
                row = total.data["parts"].setdefault(part, dict.fromkeys(KINDS, 0))
                for kind in KINDS:
                    row[kind] += kinds.get(kind, 0)
        return total

    def summary(self) -> dict:
        """The counts, with the share of readable replies that were the example exactly."""
        d = self.data
        read = d["decisions"] - d["noop"]
        return {**d, "exact_share": round(d["exact"] / read, 4) if read else None,
                "parts": dict(sorted(d["parts"].items()))}
