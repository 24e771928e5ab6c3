"""A test-only world whose action is a variant at the root: move, gather or share, a pydantic tagged union.

Foragers on a 4x4 torus hold food. Each agent's schema is a root anyOf of three closed objects, narrowed for
it: share only with someone else, at most what it holds (and no share branch when it holds nothing).
`PlainForage` keeps the Action's own schema (oneOf with pydantic's `discriminator`).
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel

from sim.world import Outcome, World

SIDE = 4
STEPS = {"north": (0, -1), "south": (0, 1), "east": (1, 0), "west": (-1, 0)}


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")
    do: Literal["move"]
    to: Literal["north", "south", "east", "west"]


class Gather(BaseModel):
    model_config = ConfigDict(extra="forbid")
    do: Literal["gather"]


class Share(BaseModel):
    model_config = ConfigDict(extra="forbid")
    do: Literal["share"]
    to: str = Field(max_length=12)
    amount: int = Field(1, ge=1, le=9)  # a default the per-agent schema does not grant: it requires amount


class Act(RootModel[Annotated[Union[Move, Gather, Share], Field(discriminator="do")]]):
    pass


def closed(do: str, **props: dict) -> dict:
    return {"type": "object", "additionalProperties": False, "required": ["do", *props],
            "properties": {"do": {"const": do}, **props}}


class Forage(World):
    name = "forage-test"
    Action = Act
    briefing = ("You forage on a small grid. Each turn do one thing: move a step, gather food where you stand, "
                "or share some of your food with another forager.")
    example = '{"do": "gather"}'

    def initial_state(self, rng) -> dict:
        n = self.n_agents or 3
        return {"turn": 0, "food": {f"f{k}": 1 for k in range(n)},
                "at": {f"f{k}": [int(rng.integers(SIDE)), int(rng.integers(SIDE))] for k in range(n)}}

    def agents(self, state):
        return list(state["food"])

    def observe(self, state, agent):
        return f"You are {agent} at {state['at'][agent]} holding {state['food'][agent]} food."

    def noop(self, agent):
        return Act(Gather(do="gather"))

    def action_schema(self, state, agent):
        others = [a for a in state["food"] if a != agent]
        kinds = [closed("move", to={"enum": list(STEPS)}), closed("gather")]
        if state["food"][agent] >= 1:
            kinds.append(closed("share", to={"enum": others},
                                amount={"type": "integer", "minimum": 1, "maximum": state["food"][agent]}))
        return {"anyOf": kinds}

    def heuristics(self, state, agents, rng):
        return {agent: self._decide(state, agent, rng) for agent in agents}

    def _decide(self, state, agent, rng):
        others = [a for a in state["food"] if a != agent]
        if state["food"][agent] >= 3:
            return {"do": "share", "to": others[int(rng.integers(len(others)))], "amount": 1}
        if rng.random() < 0.3:
            return {"do": "move", "to": list(STEPS)[int(rng.integers(4))]}
        return {"do": "gather"}

    def check(self, state, agent, action):
        act = action.root
        if isinstance(act, Share) and (act.to not in state["food"] or act.to == agent):
            return f"there is no other forager called {act.to!r}"
        if isinstance(act, Share) and act.amount > state["food"][agent]:
            return f"{agent} holds only {state['food'][agent]} food"
        return None

    def apply(self, state, actions, rng):
        food, at = dict(state["food"]), {a: list(p) for a, p in state["at"].items()}
        events = []
        for agent, action in actions.items():
            act = action.root
            if isinstance(act, Move):
                dx, dy = STEPS[act.to]
                at[agent] = [(at[agent][0] + dx) % SIDE, (at[agent][1] + dy) % SIDE]
            elif isinstance(act, Gather):
                food[agent] += 1
            elif food[agent] >= act.amount:
                food[agent] -= act.amount
                food[act.to] += act.amount
                events.append({"kind": "shared", "from": agent, "to": act.to, "amount": act.amount})
        return Outcome({"turn": state["turn"] + 1, "food": food, "at": at}, events)

    def invariants(self, state, previous, events):
        gathered = sum(state["food"].values()) - sum(previous["food"].values())
        return [] if 0 <= gathered <= len(state["food"]) else [f"food appeared or vanished: {gathered}"]


class PlainForage(Forage):
    """The same world on the Action's own schema: pydantic's oneOf of $refs with its discriminator."""

    name = "forage-plain-test"
    action_schema = World.action_schema
