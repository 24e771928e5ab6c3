"""The backend interface: a name, a model, and one batched generate per turn."""
from __future__ import annotations

from typing import Protocol, Sequence

from sim.errors import BackendUnavailable  # noqa: F401  (re-exported: backends raise it)
from sim.policy import Ask, Reply


class Backend(Protocol):
    name: str  # short id shown in traces, e.g. "scripted", "vllm", "openai"
    model: str  # model id or path; "" for non-model backends
    is_model: bool  # True when generate() is a language-model call (counted in metrics as llm_calls)

    def generate(self, turn: int, asks: Sequence[Ask]) -> list[Reply]:
        """One batched call for all these agents; a Reply per ask, same order. Never raises for model or
        server faults: a failed agent gets Reply(text=None, error="why")."""
        ...
