"""World.heuristics, the one heuristic hook: the scripted policy asks a world for all its agents' decisions at
once; the wood's batch gives what asking it for each creature alone, in turn, would give, draws included."""
from __future__ import annotations

import numpy as np
import pytest

from agents.backends.scripted import ScriptedBackend
from agents.council import Council
from agents.policies import scripted
from sim import Engine
from sim.policy import Ask, PolicyOptions, heuristics
from sim.world import World
from worlds.template import GuessWorld
from worlds.wood import WoodWorld, text, trader


class CountingGuess(GuessWorld):
    """The template world, counting how it is asked."""

    def __init__(self, agents=None, **params):
        super().__init__(agents, **params)
        self.batches: list[list[str]] = []

    def heuristics(self, state, agents, rng):
        self.batches.append(list(agents))
        return super().heuristics(state, agents, rng)


def test_the_default_answers_every_agents_noop():
    class Idle(GuessWorld):
        heuristics = World.heuristics

    world = Idle(agents=4)
    state = world.initial_state(np.random.default_rng(0))
    assert world.heuristics(state, world.agents(state), np.random.default_rng(1)) == {
        a: {"guess": None} for a in world.agents(state)}


def test_the_scripted_policy_asks_once_a_turn_for_all_agents():
    world = CountingGuess(agents=5)
    engine = Engine(world, scripted(PolicyOptions(seed=0)), seed=0)
    list(engine.run(3))
    assert world.batches == [world.agents(engine.state)] * 3


def test_a_council_asks_for_each_backends_agents_in_their_order():
    world = CountingGuess(agents=4)
    state = world.initial_state(np.random.default_rng(0))
    first, second = world.agents(state)[:2], world.agents(state)[2:]
    council = Council({"*": ScriptedBackend(0), **dict.fromkeys(second, ScriptedBackend(1))})
    council.decide(0, [Ask(world, state, a, 0) for a in world.agents(state)])
    assert world.batches == [first, second]


def test_asks_from_different_states_are_decided_against_their_own():
    world = GuessWorld(agents=2)
    before = world.initial_state(np.random.default_rng(0))
    after = world.apply(before, {a: world.noop(a) for a in world.agents(before)}, np.random.default_rng(0)).state
    asks = [Ask(world, before, "player0", 0), Ask(world, after, "player0", 1)]
    each = np.random.default_rng(2)
    assert heuristics(asks, np.random.default_rng(2)) == [world.heuristics(s, ["player0"], each)["player0"]
                                                          for s in (before, after)]


@pytest.mark.parametrize("second_act", [True, False])
def test_the_wood_decides_all_creatures_at_once_as_it_does_one_by_one(second_act):
    world = WoodWorld(agents=40, second_act=second_act)
    engine = Engine(world, scripted(PolicyOptions(seed=3)), seed=3)
    list(engine.run(12))  # into the season where creatures offer, lend and owe
    state, agents = engine.state, world.agents(engine.state)
    each = np.random.default_rng(4)
    one_by_one = {a: world.heuristics(state, [a], each)[a] for a in agents}
    together = np.random.default_rng(4)
    assert world.heuristics(state, agents, together) == one_by_one
    assert together.random() == each.random()  # and it leaves the rng where the loop would


def wood_in_autumn(**params):
    world = WoodWorld(agents=40, **params)
    engine = Engine(world, scripted(PolicyOptions(seed=3)), seed=3, legends={2: ["tulip_mania"], 5: ["bank_run"]})
    list(engine.run(12))
    return world, engine.state


@pytest.mark.parametrize("economy", ["living", "classic"])
def test_the_trader_decides_all_creatures_at_once_as_it_does_one_by_one(economy):
    world, state = wood_in_autumn(economy=economy)
    view = world.outlook(state)
    rows = list(range(len(state.names)))
    draws = np.random.default_rng(5).random((len(rows), trader.DRAWS))
    assert trader.choose_all(state, rows, draws, view) == [trader.choose(state, i, d.tolist(), view)
                                                           for i, d in zip(rows, draws)]


@pytest.mark.parametrize("levers", ["", "crossing", "bands,budget"])
def test_every_creature_is_shown_its_own_worked_example(levers):
    world, state = wood_in_autumn(levers=levers)
    view = world.outlook(state)
    for i, agent in enumerate(world.agents(state)):
        assert world.suggestion(state, agent) == text.example_for(state, i, view, world.levers)
