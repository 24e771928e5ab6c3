"""The chaos backend breaks each agent's own schema, in every world, and every break ends as a no-op."""
from __future__ import annotations

import json

import numpy as np
import pytest

from agents.backends.chaos import SCHEMA_BREAKERS, ChaosBackend, someone_else
from agents.policies import chaos
from sim import Engine
from sim.parse import parse
from sim.policy import Ask, PolicyOptions, Reply
from sim.registry import get_world, world_names
from sim.schemas import example, valid


@pytest.mark.parametrize("name", world_names())
def test_every_schema_break_is_caught_in_every_world(name):
    world = get_world(name)()
    rng = np.random.default_rng(0)
    state = world.initial_state(rng)
    names = world.agents(state)
    caught = {}
    for agent in names[:4]:
        ask = Ask(world, state, agent, 0)
        for breaker in SCHEMA_BREAKERS:
            for _ in range(5):
                broken = breaker(example(ask.schema, rng), [n for n in names if n != agent], rng)
                if broken is None:
                    continue
                decision = parse(Reply(json.dumps(broken)), world, state, agent, ask)[0]
                if decision.status == "noop":
                    caught[breaker.__name__] = caught.get(breaker.__name__, 0) + 1
                # what is applied is always inside the schema: an Action that ignores unknown fields drops them
                assert valid(ask.schema, decision.action), (breaker.__name__, broken, decision)
    assert caught.get("out_of_range") and caught.get("wrong_type")


@pytest.mark.parametrize("name", world_names())
def test_a_chaos_run_plays_every_world_and_keeps_its_invariants(name):
    world = get_world(name)()
    engine = Engine(world, chaos(PolicyOptions(seed=3)), seed=3)
    statuses = set()
    previous = engine.state
    for _ in range(12):
        if world.done(engine.state):
            break
        turn = engine.step()
        assert world.invariants(engine.state, previous, turn.events) == []
        previous = engine.state
        statuses |= {d.status for d in turn.decisions}
    assert "noop" in statuses and statuses & {"valid", "repaired"}


def test_names_of_other_agents_go_where_text_belongs():
    rng = np.random.default_rng(1)
    broken = someone_else({"to": "", "say": "hi"}, ["bob", "cy"], rng)
    assert set(broken.values()) & {"bob", "cy"}
    assert someone_else({"n": 3}, ["bob"], rng) is None  # nothing to put a name in


def test_replies_are_the_same_for_the_same_seed_and_turn():
    world = get_world("commons")()
    state = world.initial_state(np.random.default_rng(0))
    asks = [Ask(world, state, a, 2) for a in world.agents(state)]
    first = [r.text for r in ChaosBackend(5).generate(2, asks)]
    assert first == [r.text for r in ChaosBackend(5).generate(2, asks)]
    assert first != [r.text for r in ChaosBackend(6).generate(2, asks)]
