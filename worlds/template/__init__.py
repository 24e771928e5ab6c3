"""The smallest complete world: copy this folder to start your own.

The game is a guessing contest. Each turn every agent guesses a whole number from 0 to 100; whoever comes
closest to two thirds of the average guess scores a point. To make it yours: rename the class and `name`,
change the state, the Action and the rules in `apply`, then register it in your pyproject.toml:

    [project.entry-points."smallworlds.worlds"]
    mygame = "mypackage:MyWorld"

and run `python -m sim run --world mygame`. `sim.checks.check_world(MyWorld())` tells you what to fix;
`python -m sim prompt --world mygame --turn 3` shows the exact messages and schema a model gets.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.metrics import gini
from sim.portrayal import Portrait
from sim.records import Turn
from sim.world import Outcome, World
from worlds.template.params import GuessParams


@dataclass
class GuessState:  # plain data: the engine writes it to traces as JSON and reads it back for --resume
    turn: int
    scores: dict[str, int]
    target: float = 50.0  # last turn's winning number, shown to everyone


class Guess(BaseModel):
    # extra="forbid" puts "additionalProperties": false in the schema, so a decoder cannot invent fields
    model_config = ConfigDict(extra="forbid")
    guess: int | None = Field(default=None, ge=0, le=100)  # None: sit this turn out (the no-op)


class GuessWorld(World[GuessState, Guess]):
    name = "template"
    Action = Guess  # validates replies; its JSON schema is also what constrained decoding follows
    briefing = ("Each turn everyone guesses a whole number from 0 to 100. Whoever is closest to two thirds "
                'of the average guess scores a point. Reply with JSON only: {"guess": <number>}.')
    example = '{"guess": 33}'
    headline = ("last.gini", "mean.target")  # what `python -m sim sweep` prints for this world
    Params = GuessParams  # `--set points=3`: checked, then read as self.params.points; written to trace headers
    agents_default = 3  # players when `--agents` is not given

    def initial_state(self, rng: np.random.Generator) -> GuessState:
        return GuessState(turn=0, scores={f"player{i}": 0 for i in range(self.n_agents)})

    def agents(self, state: GuessState) -> list[str]:
        return list(state.scores)

    def observe(self, state: GuessState, agent: str) -> str:  # short: the shared rules are in `briefing`
        return f"Turn {state.turn}. Last winning number: {state.target:.1f}. Your score: {state.scores[agent]}."

    def noop(self, agent: str) -> Guess:  # what an unreadable reply becomes
        return Guess()

    def heuristics(self, state: GuessState, agents: list[str], rng: np.random.Generator) -> dict[str, dict]:
        # the scripted policy's brain: aim a little under last time's winner (only ever use `rng` for chance)
        return {a: {"guess": int(np.clip(round(state.target * rng.uniform(0.5, 0.9)), 0, 100))} for a in agents}

    def apply(self, state: GuessState, actions: dict[str, Guess], rng: np.random.Generator) -> Outcome[GuessState]:
        guesses = {a: act.guess for a, act in actions.items() if act.guess is not None}
        if not guesses:
            return Outcome(replace(state, turn=state.turn + 1), [])
        target = 2 / 3 * np.mean(list(guesses.values()))
        best = min(abs(g - target) for g in guesses.values())
        winners = [a for a, g in guesses.items() if abs(g - target) == best]
        points = self.params.points  # read and checked by GuessParams when the world was built
        scores = {a: s + points * (a in winners) for a, s in state.scores.items()}  # a new dict: never mutate state
        return Outcome(GuessState(state.turn + 1, scores, round(float(target), 3)),
                       [{"kind": "round", "target": round(float(target), 3), "winners": winners}])

    def metrics(self, state: GuessState, events: list[dict]) -> dict:  # numbers only: they become CSV columns
        return {"gini": round(gini(list(state.scores.values())), 4), "target": state.target}

    def reward(self, state: GuessState, previous: GuessState, agent: str) -> float:  # for sim.pettingzoo
        return float(state.scores[agent] - previous.scores[agent])

    def portray(self, turn: Turn) -> Portrait:  # how viewers draw a turn, from its record alone
        drawn = super().portray(turn)  # the default: a disc per player, with its score beside it
        drawn.theme.centre = "target"  # last round's winning number, large in the middle
        return drawn

    def invariants(self, state: GuessState, previous: GuessState, events: list[dict]) -> list[str]:
        won = self.params.points * sum(len(e["winners"]) for e in events if e["kind"] == "round")
        ok = sum(state.scores.values()) == sum(previous.scores.values()) + won
        return [] if ok else ["points appeared from nowhere"]
