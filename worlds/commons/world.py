"""The Commons: fishers share one lake. Its fish regrow logistically towards the lake's capacity, fastest at
half full; if the stock falls below the collapse level the lake dies and the run ends.

One turn, in order: every fisher's catch is landed at once (shared in proportion to the asks when they
exceed the stock); an outsider fleet, if a legend sent one, takes its share; the fish regrow.
"""
from __future__ import annotations

from functools import cached_property
from typing import Mapping

import numpy as np

from sim.metrics import gini
from sim.portrayal import Portrait
from sim.records import Turn
from sim.world import Outcome, World
from worlds.commons import fisher, legends, look, text
from worlds.commons.actions import CommonsAction, catch_limit, fisher_schema
from worlds.commons.params import CommonsParams
from worlds.commons.state import CommonsState

NAMES = ["Marta", "Ishmael", "Nell", "Tobin", "Ada", "Sven", "Kai", "Mira", "Bram", "Ines",
         "Oskar", "Lena", "Piet", "Runa", "Teo", "Vera", "Wim", "Yara", "Edda", "Finn"]
KEEP_MESSAGES = 6
HORIZON = 999  # turns_left when the stock is not falling


class CommonsWorld(World[CommonsState, CommonsAction]):
    name = "commons"
    headline = ("last.stock", "mean.harvest", "last.gini")  # the columns a sweep prints first
    Action = CommonsAction
    Params = CommonsParams  # --set, sweeps and trace headers go through it
    briefing = text.BRIEFING
    example = text.json.dumps(text.EXAMPLE)
    legends = {name: legend.title for name, legend in legends.LEGENDS.items()}

    agents_default = 5
    params: CommonsParams  # growth, collapse and the rest, read and checked there

    @cached_property
    def capacity(self) -> int:
        """Most fish the lake holds: the `capacity` parameter, or 100 per fisher."""
        return self.params.capacity if self.params.capacity is not None else 100 * self.n_agents

    @cached_property
    def collapse(self) -> int:
        """The stock, in fish, below which the lake dies."""
        return int(self.params.collapse * self.capacity)

    # --- setup and views ---------------------------------------------------------------------------
    def initial_state(self, rng: np.random.Generator) -> CommonsState:
        n = self.n_agents
        return CommonsState(
            turn=0,
            names=[NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f"-{i // len(NAMES)}") for i in range(n)],
            temperament=fisher.temperaments(n, self.params.greedy),
            stock=int(self.params.stock * self.capacity),
            caught=np.zeros(n, dtype=np.int64),
            last_catch=np.zeros(n, dtype=np.int64),
        )

    def agents(self, state: CommonsState) -> list[str]:
        return state.names

    def limit(self, state: CommonsState) -> int:
        return catch_limit(state.stock, len(state.names))

    def observe(self, state: CommonsState, agent: str) -> str:
        return text.observe(state, state.position[agent], self.capacity, self.collapse, self.limit(state))

    def action_schema(self, state: CommonsState, agent: str) -> dict:
        return fisher_schema(self.limit(state))

    def noop(self, agent: str) -> CommonsAction:
        return CommonsAction()

    def role(self, state: CommonsState, agent: str) -> str:
        return state.temperament[state.position[agent]]

    def heuristics(self, state: CommonsState, agents: list[str], rng: np.random.Generator) -> dict[str, dict]:
        limit = self.limit(state)
        return {agent: fisher.decide(state, state.position[agent], rng, collapse=self.collapse, limit=limit)
                for agent in agents}

    def check(self, state: CommonsState, agent: str, action: CommonsAction) -> str | None:
        limit = self.limit(state)
        return f"asks for {action.catch} fish but may take at most {limit} now" if action.catch > limit else None

    def done(self, state: CommonsState) -> bool:
        return state.stock < self.collapse

    def reward(self, state: CommonsState, previous: CommonsState, agent: str) -> float:
        """Fish this fisher landed this turn."""
        return float(state.last_catch[state.position[agent]])

    # --- the turn ----------------------------------------------------------------------------------
    def apply(self, state: CommonsState, actions: Mapping[str, CommonsAction],
              rng: np.random.Generator) -> Outcome[CommonsState]:
        s = state.copy()
        events: list[dict] = []
        asks = np.zeros(len(s.names), dtype=np.int64)
        for agent, action in actions.items():
            asks[s.position[agent]] = action.catch
            if action.say:
                s.messages.append([agent, action.say])
                events.append({"kind": "message", "from": agent, "text": action.say})
        s.messages = s.messages[-KEEP_MESSAGES:]
        caught = share(asks, s.stock, rng)
        s.stock -= int(caught.sum())
        s.caught = s.caught + caught
        s.last_catch = caught
        events.append({"kind": "catch", "units": int(caught.sum()), "asked": int(asks.sum()),
                       "shared": bool(asks.sum() > state.stock)})

        s.last_outsiders = int(legends.outsider_share(s.effects, s.turn) * s.stock)
        s.stock -= s.last_outsiders
        if s.last_outsiders:
            events.append({"kind": "outsiders", "units": s.last_outsiders})

        rate = self.params.growth * legends.regrowth_factor(s.effects, s.turn)
        expected = rate * s.stock * (1 - s.stock / self.capacity)
        # stochastic rounding keeps small lakes regrowing fairly on average
        s.last_regrowth = min(int(np.floor(expected + rng.random())), self.capacity - s.stock)
        s.stock += s.last_regrowth
        events.append({"kind": "regrowth", "units": s.last_regrowth})

        s.turn += 1
        s.effects = [e for e in s.effects if e["until"] > s.turn]
        if self.done(s):
            events.append({"kind": "collapse", "stock": s.stock})
        return Outcome(s, events)

    # --- legends, metrics, rules -------------------------------------------------------------------
    def legend(self, state: CommonsState, name: str, text: str | None = None) -> Outcome[CommonsState]:
        s = state.copy()
        effects, line = legends.start(name, s.turn, text)
        s.effects.extend(effects)
        s.rumours = (s.rumours + [line])[-4:]
        return Outcome(s, [{"kind": "rumour", "text": line}])

    def metrics(self, state: CommonsState, events: list[dict]) -> dict:
        harvest = int(state.last_catch.sum())
        falling = harvest + state.last_outsiders - state.last_regrowth
        if self.done(state):
            turns_left = 0.0
        elif falling > 0:
            turns_left = min(HORIZON, (state.stock - self.collapse) / falling)
        else:
            turns_left = float(HORIZON)
        lifetime = state.turn + turns_left
        return {
            "stock": state.stock,
            "harvest": harvest,
            "regrowth": state.last_regrowth,
            "outsiders": state.last_outsiders,
            # fish caught per fish regrown: above 1 the lake is being fished down
            "sustainability": round(harvest / max(state.last_regrowth, 1), 4),
            "gini": round(gini(state.caught), 4),
            "turns_left": round(turns_left, 2),  # at this turn's pace, until collapse
            # share of the lake's projected life already lived: 0 while it holds up, 1 at collapse
            "survival": round(state.turn / lifetime, 4) if lifetime else 0.0,
            "messages": sum(1 for e in events if e["kind"] == "message"),
        }

    def portray(self, turn: Turn) -> Portrait:
        return look.portrait(turn)

    def invariants(self, state: CommonsState, previous: CommonsState, events: list[dict]) -> list[str]:
        broken = []
        if not 0 <= state.stock <= self.capacity:
            broken.append(f"stock {state.stock} outside [0, {self.capacity}]")
        if (state.last_catch < 0).any():
            broken.append("a negative catch")
        if (state.caught != previous.caught + state.last_catch).any():
            broken.append("cumulative catches do not add up to last turn's catches")
        units = {kind: sum(e.get("units", 0) for e in events if e["kind"] == kind)
                 for kind in ("catch", "outsiders", "regrowth")}
        asked = sum(e["asked"] for e in events if e["kind"] == "catch")
        if units["catch"] != state.last_catch.sum() or units["catch"] > min(asked, previous.stock):
            broken.append(f"caught {units['catch']} fish of {asked} asked from a lake of {previous.stock}")
        expected = previous.stock - units["catch"] - units["outsiders"] + units["regrowth"]
        if state.stock != expected:
            broken.append(f"fish not conserved: expected {expected}, found {state.stock}")
        return broken


def share(asks: np.ndarray, stock: int, rng: np.random.Generator) -> np.ndarray:
    """Each fisher's catch: what it asked, or when the asks exceed the stock, a share in proportion to its
    ask. Whole fish left over by rounding go to the largest remainders, ties broken by the rng."""
    total = int(asks.sum())
    if total <= stock:
        return asks.copy()
    exact = asks * stock / total
    caught = np.floor(exact).astype(np.int64)
    left = stock - int(caught.sum())
    order = np.lexsort((rng.random(asks.size), -(exact - caught)))
    caught[order[:left]] += 1
    return caught
