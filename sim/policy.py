"""What the engine asks of a policy, and what it gets back.

Each turn the engine builds one `Ask` per live agent and calls `policy.decide(turn, asks)` exactly once.
A policy (in `agents/`) groups the asks by backend and makes one generate call per backend. It must return
a `Reply` for every ask it was given; a reply it could not get is `Reply(text=None, error=...)`, which the
parse path turns into that agent's no-op. `decide` must not raise for anything a model or server does.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from typing import TYPE_CHECKING, Any, Protocol, Sequence

if TYPE_CHECKING:
    import numpy as np

    from sim.world import World


class Ask:
    """One agent's question for this turn. Everything is computed lazily: a scripted policy never pays for
    the text observation or the schema, a model backend never pays for the world's heuristics."""

    __slots__ = ("agent", "turn", "_world", "_state", "__dict__")

    def __init__(self, world: World, state: Any, agent: str, turn: int):
        self.agent = agent
        self.turn = turn
        self._world = world
        self._state = state

    @property
    def briefing(self) -> str:
        """The long shared part of the prompt: identical for every agent of the world, so it goes first."""
        return self._world.briefing

    @property
    def news(self) -> str:
        """What every agent reads this turn alike; it goes before the per-agent part."""
        return self._world.news(self._state)

    @cached_property
    def observation(self) -> str:
        """The short per-agent part of the prompt."""
        return self._world.observe(self._state, self.agent)

    @cached_property
    def schema(self) -> dict:
        """JSON schema of what this agent may do now (for constrained decoding)."""
        return self._world.action_schema(self._state, self.agent)

    @property
    def role(self) -> str:
        """The agent's group in its world (e.g. its trade); councils can assign backends by it."""
        return self._world.role(self._state, self.agent)

    @property
    def example(self) -> str:
        """One worked example reply for this world (JSON text)."""
        return self._world.example


def heuristics(asks: Sequence[Ask], rng: np.random.Generator) -> list[dict]:
    """The world's baseline decisions for these asks, in their order: one World.heuristics call per run of
    asks that share a world and a state (a turn's asks all do), so a world decides for all of its agents at
    once."""
    out: list[dict] = []
    for _, run in groupby(asks, key=lambda ask: (id(ask._world), id(ask._state))):
        run = list(run)
        decided = run[0]._world.heuristics(run[0]._state, [ask.agent for ask in run], rng)
        out.extend(decided[ask.agent] for ask in run)
    return out


@dataclass
class Reply:
    """A backend's answer for one agent. `text` is None when no answer came; `error` says why."""

    text: str | None
    backend: str = ""
    model: str = ""
    error: str | None = None
    prompt: str | None = None  # the prompt as sent, when a model backend built one
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    server: str = ""  # which server answered (its base URL), for backends that spread over several
    # the world's own decision this text was written from (an action dict from World.heuristics), set only by
    # a backend that answers with the world's heuristic: the engine reads it without parsing the text back
    # (World.own_actions), with exactly the result parsing would give. A model's reply never has one.
    own: dict | None = None


@dataclass
class Batch:
    """A policy's answers for one turn: a Reply per asked agent, and how many model calls it took."""

    replies: dict[str, Reply]
    model_calls: int = 0


@dataclass
class PolicyOptions:
    """What the CLI, the web demo and sweeps know about the policy they want built."""

    backend: str = "auto"
    model: str | None = None
    url: str | None = None
    seed: int = 0
    temperature: float = 0.7
    council: str | None = None  # path of a council file: which agents use which backend
    trace: str | None = None  # the trace a replay policy answers from
    announce: Any = print  # where a policy says in one line which backend it picked and why


class Policy(Protocol):
    def decide(self, turn: int, asks: Sequence[Ask]) -> Batch: ...

    def describe(self, asks: Sequence[Ask]) -> dict[str, dict]:
        """Which backend and model each agent uses, for the trace header: {agent: {backend, model}}."""
        ...
