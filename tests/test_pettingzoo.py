"""Every registered world as a PettingZoo ParallelEnv: PettingZoo's own conformance tests, and what the
wrapper adds (actions as JSON text, bad actions as no-ops, rewards, terminations, truncations)."""
from __future__ import annotations

import json

import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from sim.pettingzoo import WorldEnv
from sim.registry import get_world, world_names
from worlds.commons import CommonsWorld


@pytest.mark.parametrize("name", world_names())
def test_pettingzoo_api_and_seed_tests_pass(name):
    parallel_api_test(WorldEnv(get_world(name)(), max_turns=20), num_cycles=40)
    parallel_seed_test(lambda: WorldEnv(get_world(name)(), max_turns=20))


def test_actions_are_json_text_dicts_or_actions_and_bad_ones_become_noops():
    env = WorldEnv(CommonsWorld(agents=4))
    observations, infos = env.reset(seed=0)
    assert observations["Marta"].startswith("You are Marta") and infos["Tobin"] == {"role": "cautious"}
    marta, ishmael, nell, tobin = env.agents
    actions = {marta: '{"catch": 5, "say": "hi"}', ishmael: {"catch": 2, "say": ""},
               nell: CommonsWorld.Action(catch=1), tobin: "give me all the fish"}
    observations, rewards, _, _, infos = env.step(actions)
    assert rewards == {marta: 5.0, ishmael: 2.0, nell: 1.0, tobin: 0.0}
    assert infos[tobin]["status"] == "noop" and infos[tobin]["action"] == {"catch": 0, "say": ""}
    assert infos[marta]["status"] == "valid"
    assert '"hi"' in observations[nell]  # the message reached the others
    assert json.loads(env.render())["turn"] == 0  # the Turn record viewers draw


def test_an_agent_left_out_of_the_actions_does_nothing():
    env = WorldEnv(CommonsWorld(agents=2))
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step({"Marta": '{"catch": 3, "say": ""}'})
    assert rewards["Ishmael"] == 0.0 and infos["Ishmael"]["reason"] == "no action given for this agent"


def test_a_collapse_terminates_everyone():
    env = WorldEnv(CommonsWorld(agents=3), max_turns=100)
    env.reset(seed=0)
    for _ in range(100):
        _, _, terminations, truncations, _ = env.step({a: {"catch": 30, "say": ""} for a in env.agents})
        if not env.agents:
            break
    assert all(terminations.values()) and not any(truncations.values())
    assert env.last_turn.events[-1]["kind"] == "collapse"


def test_max_turns_truncates_and_unseeded_resets_follow_the_first_seed():
    env = WorldEnv(get_world("template")(), max_turns=3)
    env.reset(seed=5)
    for _ in range(3):
        _, _, terminations, truncations, _ = env.step({a: '{"guess": 20}' for a in env.agents})
    assert all(truncations.values()) and not any(terminations.values()) and env.agents == []
    other = WorldEnv(get_world("template")(), max_turns=3)
    other.reset(seed=5)
    assert env.reset()[0] == other.reset()[0] and env.engine.seed == other.engine.seed


def test_sampled_actions_are_moves_the_agent_may_make():
    env = WorldEnv(CommonsWorld())
    env.reset(seed=0)
    space = env.action_space("Marta")
    space.seed(0)
    for _ in range(20):
        sample = space.sample()
        assert sample in space and 0 <= json.loads(sample)["catch"] <= 30
    _, _, _, _, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    assert {info["status"] for info in infos.values()} == {"valid"}
