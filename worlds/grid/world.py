"""The Meadow: foragers on a grid (12 by 12 by default). Food lies on the cells and regrows; each turn every
forager stays, gathers where it stands, steps to a neighbouring cell or shares food with a neighbour; then
everyone eats one food, and a forager with none starves and leaves for good. Every few turns, while the
meadow is not crowded, a wanderer appears at a random edge cell. The drought (a legend) slows regrowth.

One turn, in order: shares (from what each held at the start), gathering (from what lay on each cell at the
start; foragers on one cell take turns in an order the rng draws), steps, eating, starving, regrowth, arrivals.
Agents come and go, so `reward` is also asked about a forager that left during the turn (see World.reward).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from sim.metrics import gini
from sim.portrayal import Portrait
from sim.records import Turn
from sim.world import Outcome, World
from worlds.grid import forager, look, text
from worlds.grid.actions import NOOP, STEPS, GridAction, forager_schema
from worlds.grid.around import moves, neighbours
from worlds.grid.params import GridParams
from worlds.grid.state import GridState, forager_name

STARVED = -1.0  # a forager's reward for the turn it starved and left
KEEP_RUMOURS = 4


class GridWorld(World[GridState, GridAction]):
    name = "grid"
    headline = ("mean.population", "last.food_ground", "mean.departures")
    Action = GridAction
    Params = GridParams
    agents_default = 8
    briefing = text.BRIEFING
    example = text.json.dumps(text.EXAMPLE)
    legends = {"drought": "A drought: food grows back far more slowly for a while"}

    # --- setup and views ---------------------------------------------------------------------------
    def initial_state(self, rng: np.random.Generator) -> GridState:
        p = self.params
        n = self.n_agents
        cells = rng.choice(p.width * p.height, size=min(n, p.width * p.height), replace=False)
        cells = [int(c) for c in cells] + [int(c) for c in rng.integers(0, p.width * p.height, n - len(cells))]
        return GridState(turn=0, names=[forager_name(k) for k in range(n)], kind=["settler"] * n,
                         col=[c % p.width for c in cells], row=[c // p.width for c in cells],
                         food=[p.carry] * n, ground=rng.integers(0, p.most + 1, (p.height, p.width)),
                         born=n)

    def agents(self, state: GridState) -> list[str]:
        return list(state.names)

    def news(self, state: GridState) -> str:
        return text.news(state)

    def observe(self, state: GridState, agent: str) -> str:
        i = state.position[agent]
        return text.observe(state, i, forager.decide(state, i))

    def action_schema(self, state: GridState, agent: str) -> dict:
        i = state.position[agent]
        here = int(state.ground[state.row[i], state.col[i]])
        return forager_schema(list(moves(state, i)), here > 0, neighbours(state, i), state.food[i])

    def check(self, state: GridState, agent: str, action: GridAction) -> str | None:
        i = state.position[agent]
        if action.do in STEPS and action.do not in moves(state, i):
            return f"cannot step {action.do}: that is the edge of the meadow"
        if action.do == "share":
            if action.to not in neighbours(state, i):
                return f"shares with {action.to or 'nobody'}, who is not next to {agent}"
            if not 0 < action.amount <= state.food[i]:
                return f"shares {action.amount} food but holds {state.food[i]}"
        return None

    def noop(self, agent: str) -> GridAction:
        return GridAction(**NOOP)

    def role(self, state: GridState, agent: str) -> str:
        return state.kind[state.position[agent]]

    def suggestion(self, state: GridState, agent: str) -> dict:
        return forager.decide(state, state.position[agent])

    def heuristics(self, state: GridState, agents: list[str], rng: np.random.Generator) -> dict[str, dict]:
        draws = rng.random(len(agents))  # one draw per forager, in the order asked
        return {a: forager.decide(state, state.position[a], float(d)) for a, d in zip(agents, draws)}

    def reward(self, state: GridState, previous: GridState, agent: str) -> float:
        """Food this forager gained over the turn (what it ate is a loss); STARVED for one that left."""
        if agent not in state.position:  # it starved during this turn: called anyway, as for every agent that acted
            return STARVED
        return float(state.food[state.position[agent]] - previous.food[previous.position[agent]])

    # --- the turn ----------------------------------------------------------------------------------
    def apply(self, state: GridState, actions: Mapping[str, GridAction],
              rng: np.random.Generator) -> Outcome[GridState]:
        p = self.params
        s = state.copy()
        events: list[dict] = []
        done = {a: actions.get(a, self.noop(a)) for a in state.names}
        tally = dict.fromkeys(("shared", "gathered", "moved", "eaten", "regrown", "arrivals", "departures"), 0)

        for agent, act in done.items():  # shares: all from what each held at the start
            if act.do == "share" and self.check(state, agent, act) is None:
                s.food[state.position[agent]] -= act.amount
                s.food[state.position[act.to]] += act.amount
                tally["shared"] += act.amount
                events.append({"kind": "share", "from": agent, "to": act.to, "amount": act.amount})

        gatherers = [a for a, act in done.items() if act.do == "gather"]
        for k in rng.permutation(len(gatherers)) if gatherers else []:
            i = state.position[gatherers[int(k)]]
            got = int(min(p.gather, s.ground[s.row[i], s.col[i]]))
            s.ground[s.row[i], s.col[i]] -= got
            s.food[i] += got
            tally["gathered"] += got

        for agent, act in done.items():
            if act.do in STEPS and act.do in moves(state, state.position[agent]):
                i = state.position[agent]
                s.col[i] += STEPS[act.do][0]
                s.row[i] += STEPS[act.do][1]
                tally["moved"] += 1

        eats = [f > 0 for f in s.food]
        tally["eaten"] = sum(eats)
        s.food = [f - 1 if e else f for f, e in zip(s.food, eats)]
        s.left = [name for name, e in zip(s.names, eats) if not e]
        for name in s.left:
            events.append({"kind": "starve", "agent": name, "carried": 0})
        keep = [k for k, e in enumerate(eats) if e]
        s.names, s.kind, s.col, s.row, s.food = ([column[k] for k in keep]
                                                 for column in (s.names, s.kind, s.col, s.row, s.food))
        tally["departures"] = len(s.left)

        rate = p.regrow * (p.drought_regrow if s.drought else 1.0)
        grows = (rng.random(s.ground.shape) < rate) & (s.ground < p.most)
        s.ground = s.ground + grows
        tally["regrown"] = int(grows.sum())
        events.append({"kind": "regrow", "units": tally["regrown"]})
        events.append({"kind": "eat", "units": tally["eaten"]})

        s.turn += 1
        s.drought = max(0, s.drought - 1)
        s.arrived = []
        if s.turn % p.arrive_every == 0 and len(s.names) < p.crowd:
            events.append(self._arrive(s, rng))
            tally["arrivals"] = 1
        s.last = tally
        return Outcome(s, events)

    def _arrive(self, s: GridState, rng: np.random.Generator) -> dict:
        """A wanderer appears on a random edge cell (changes `s`, the new state being built)."""
        height, width = s.ground.shape
        edge = [(c, r) for r in range(height) for c in range(width) if r in (0, height - 1) or c in (0, width - 1)]
        c, r = edge[int(rng.integers(len(edge)))]
        name = forager_name(s.born)
        s.born += 1
        s.names.append(name)
        s.kind.append("wanderer")
        s.col.append(c)
        s.row.append(r)
        s.food.append(self.params.carry)
        s.arrived = [name]
        return {"kind": "arrive", "agent": name, "col": c, "row": r, "food": self.params.carry}

    # --- legends, metrics, rules -------------------------------------------------------------------
    def legend(self, state: GridState, name: str, text: str | None = None) -> Outcome[GridState]:
        if name not in self.legends:
            raise KeyError(name)
        s = state.copy()
        s.drought = self.params.drought_turns
        line = f'Drought: "{text}"' if text else "Drought: the rain has stopped and the meadow dries out."
        s.rumours = (s.rumours + [line])[-KEEP_RUMOURS:]
        return Outcome(s, [{"kind": "rumour", "text": line}])

    def metrics(self, state: GridState, events: list[dict]) -> dict:
        return {
            "population": len(state.names),
            "food_ground": int(state.ground.sum()),
            "food_held": sum(state.food),
            "gini": round(gini(state.food), 4),
            **{k: state.last.get(k, 0) for k in ("gathered", "shared", "moved", "regrown", "arrivals", "departures")},
        }

    def portray(self, turn: Turn) -> Portrait:
        return look.portrait(turn, self.params.most)

    def invariants(self, state: GridState, previous: GridState, events: list[dict]) -> list[str]:
        p = self.params
        broken = []
        height, width = state.ground.shape
        if (state.ground < 0).any() or (state.ground > p.most).any():
            broken.append(f"a cell holds food outside [0, {p['most']}]")
        if any(f < 0 for f in state.food):
            broken.append("a forager holds negative food")
        if not all(0 <= c < width and 0 <= r < height for c, r in zip(state.col, state.row)):
            broken.append("a forager stands outside the meadow")
        if len(set(state.names)) != len(state.names) or set(state.names) & set(previous.left):
            broken.append("a name came back: foragers that left never return")
        units = {kind: sum(e.get("units", 0) for e in events if e["kind"] == kind) for kind in ("regrow", "eat")}
        brought = sum(e["food"] for e in events if e["kind"] == "arrive")
        carried = sum(e["carried"] for e in events if e["kind"] == "starve")
        expected = previous.total_food() + units["regrow"] - units["eat"] + brought - carried
        if state.total_food() != expected:
            broken.append(f"food not conserved: expected {expected} (before {previous.total_food()}, regrown "
                          f"{units['regrow']}, eaten {units['eat']}, brought {brought}), found {state.total_food()}")
        return broken
