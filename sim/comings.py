"""check_world's part on agents that come and go: what the engine, PettingZoo and the viewers rely on when
`world.agents(state)` changes between turns.

The contract (World.reward and docs/worlds.md say it too):
- an agent that acted in `previous` is asked about in `reward(state, previous, agent)` even when it left
  during the turn: `state` no longer has it, so the world answers without looking it up there;
- an agent that arrives is a full agent from its first turn: observe, action_schema, role, the no-op and the
  heuristic work for it, and `portray` draws it;
- a departed agent leaves the picture, and its name never comes back (PettingZoo cannot revive an agent, and
  a trace would mix two lives under one name).

`check_comings` reads the steps of a run (made by sim.checks, which plays until an agent has left and one
has arrived, or gives up quietly for a world whose agents never change).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from sim.world import World

REWARD_FIX = ("reward(state, previous, agent) is called for every agent that acted in `previous`, also one "
              "that left during the turn and is missing from `state`: answer for it without looking it up in "
              "`state` (e.g. `if agent not in state.names: return 0.0`)")


def changed(world: World, step: Any) -> tuple[list[str], list[str]]:
    """(who left, who arrived) during one step's turn, each in the order the world lists them."""
    before, after = world.agents(step.before), world.agents(step.after)
    kept_before, kept_after = set(before), set(after)
    return [a for a in before if a not in kept_after], [a for a in after if a not in kept_before]


class Watch:
    """A run's stop condition: true once the run has seen an agent leave and one arrive (in any turns)."""

    def __init__(self, world: World):
        self.world, self.left, self.arrived = world, False, False

    def __call__(self, step: Any) -> bool:
        gone, new = changed(self.world, step)
        self.left, self.arrived = self.left or bool(gone), self.arrived or bool(new)
        return self.left and self.arrived


def check_comings(world: World, steps: Sequence[Any], report: Any, check_ask: Callable) -> None:
    """Problems with the rewards of the agents that acted in these steps, and with agents that left or arrived
    in them. `check_ask(world, state, agent, rng, report, decided, garbage)` is check_world's check of one agent
    in one state."""
    gone_for_good: dict[str, int] = {}
    drawn_checked = 0
    for step in steps:
        turn = step.turn.turn
        left, arrived = changed(world, step)
        acted = [d.agent for d in step.turn.decisions]
        for agent in acted:
            who = f"{agent}, who left at turn {turn}," if agent in left else agent
            with report.guard(f"reward for {who}", REWARD_FIX if agent in left else "return a float for every "
                              "agent that acted in `previous`"):
                value = world.reward(step.after, step.before, agent)
                if not _finite(value):
                    report.add(f"reward for {who} is {value!r}: return a finite number (a float)",
                               key=("reward value", agent in left))
        for agent in arrived:
            if agent in gone_for_good:
                report.add(f"{agent} left at turn {gone_for_good[agent]} and came back at turn {turn}: give a "
                           "newcomer a name never used before (PettingZoo cannot revive an agent, and a trace "
                           "would mix two lives under one name)", key="name came back")
            decided = None
            with report.guard(f"heuristics for {agent}, who arrived at turn {turn}",
                              "answer every agent it is asked about, newcomers too"):
                decided = world.heuristics(step.after, [agent], np.random.default_rng(turn)).get(agent)
            check_ask(world, step.after, agent, np.random.default_rng(turn), report, decided, False)
        for agent in left:
            gone_for_good[agent] = turn
        if (left or arrived) and drawn_checked < 3:  # a few turns with changes show how portray copes
            drawn_checked += 1
            _check_drawn(world, step, left, arrived, report)


def _check_drawn(world: World, step: Any, left: list[str], arrived: list[str], report: Any) -> None:
    turn = step.turn.turn
    with report.guard(f"portray at turn {turn}, when agents left or arrived", "draw the agents of the record's "
                      "state, from the record alone"):
        glyphs = world.portray(step.turn).glyphs
        still = [a for a in left if a in glyphs]
        missing = [a for a in arrived if a not in glyphs]
        if still:
            report.add(f"portray still draws {', '.join(still)} after they left at turn {turn}: draw only the agents "
                       "of the record's state (keep a `names` list in the state for the default portrait, or "
                       "override portray)", key="departed drawn")
        if missing:
            report.add(f"portray does not draw {', '.join(missing)}, who arrived at turn {turn}: draw every agent "
                       "of the record's state (keep a `names` list in the state for the default portrait, or "
                       "override portray)", key="arrival not drawn")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and \
        math.isfinite(float(value))
