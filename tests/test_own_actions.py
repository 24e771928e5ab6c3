"""The engine's batch path for the world's own decisions (Reply.own, World.own_actions): a scripted run reads
its replies without parsing their text, and gets exactly what parsing gives, reply by reply and run by run."""
from __future__ import annotations

import json

import numpy as np
import pytest

from agents.backends.scripted import ScriptedBackend
from agents.council import Council
from sim import Engine
from sim.parse import parse, parse_all
from sim.policy import Ask, Reply, heuristics
from worlds.template import GuessWorld
from worlds.wood import WoodWorld

LEGENDS = {3: ["bank_run"], 6: ["tulip_mania"], 9: ["early_frost"]}  # panics, crazes and a hard winter


class Parsed(ScriptedBackend):
    """The scripted backend with its decisions taken away: every reply goes through the full parse path."""

    def generate(self, turn, asks):
        replies = super().generate(turn, asks)
        for reply in replies:
            reply.own = None
        return replies


def played(world_args: dict, backend, turns: int = 15) -> list[dict]:
    engine = Engine(WoodWorld(**world_args), Council.of(backend), seed=5, legends=LEGENDS)
    out = []
    for turn in engine.run(turns):
        record = turn.to_json()
        record["metrics"].pop("turn_seconds")
        out.append(record)
    return out


@pytest.mark.parametrize("second_act", [True, False])
def test_a_scripted_run_is_the_same_read_in_one_batch_or_parsed(second_act):
    args = {"agents": 60, "second_act": second_act}
    batch, parsed = played(args, ScriptedBackend(5)), played(args, Parsed(5))
    assert json.dumps(batch) == json.dumps(parsed)
    assert {d["status"] for turn in batch for d in turn["decisions"]} == {"valid"}


def test_the_wood_vouches_for_every_scripted_creature():
    world = WoodWorld(agents=200)
    engine = Engine(world, Council.of(ScriptedBackend(1)), seed=1)
    for _ in range(16):  # into autumn, where creatures offer, lend and accept
        state = engine.state
        agents = world.agents(state)
        decided = heuristics([Ask(world, state, a, engine.turn) for a in agents], np.random.default_rng(engine.turn))
        assert None not in world.own_actions(state, agents, decided)
        engine.step()


def wood_state():
    world = WoodWorld(agents=12)
    engine = Engine(world, Council.of(ScriptedBackend(2)), seed=2)
    list(engine.run(12))
    return world, engine.state


@pytest.mark.parametrize("decided", [
    {"orders": [["buy", "acorns", 1, 4]]},  # its own good (Bramble makes acorns): infeasible
    {"orders": [["sell", "mushrooms", 1, 4]], "say": "x"},  # a good it does not hold
    {"orders": [["buy", "honey", 1, 99]]},  # more than its purse: outside its schema
    {"orders": [["buy", "honey", 1, 3], ["sell", "honey", 1, 3]]},  # both sides of one good
    {"orders": [["buy", "honey", 11, 3]]},  # past the Action's bounds
    {"orders": [["buy", "honey", True, 3]]},
    {"orders": [], "say": "  Honey,\tplease   and more honey than anyone could eat  "},  # cut and rewritten
    {"orders": [["buy", "honey", 1, 3]], "say": "Berries for everyone!"},  # a good its orders are not about
    {"orders": [["buy", "honey", 1, 3]], "tip": 1},  # a key the Action does not know
    {"orders": [], "offer": {"to": "Nobody", "good": "acorns", "qty": 1, "price": 3}},
    {"orders": [], "offer": {"to": "Clover", "good": "acorns", "qty": 1, "price": 3, "want": "honey"}},
    {"orders": [], "lend": {"to": "Clover", "pebbles": 50}},
    {"orders": [], "accept": "Clover"},  # no offer from Clover is open to it
    {"say": "hello"},
])
def test_decisions_not_valid_as_they_stand_read_as_parsing_reads_them(decided):
    world, state = wood_state()
    agent = world.agents(state)[0]
    ask = Ask(world, state, agent, state.turn)
    text = json.dumps(decided)
    (fast, fast_action), = parse_all([Reply(text, own=decided)], world, state, [agent], [ask])
    slow, slow_action = parse(Reply(text), world, state, agent, ask)
    assert vars(fast) == vars(slow)
    assert fast_action == slow_action and fast_action.model_fields_set == slow_action.model_fields_set


class Failing(GuessWorld):
    def own_actions(self, state, agents, decided):
        raise RuntimeError("the batch path is broken")


class OutOfShape(GuessWorld):
    def own_actions(self, state, agents, decided):
        return [{"guess": 1}] * len(agents)  # the bug: a dict, not (Action, dump)


@pytest.mark.parametrize("world_class", [Failing, OutOfShape])
def test_a_failing_batch_path_leaves_every_reply_to_parsing(world_class):
    world = world_class(agents=3)
    state = world.initial_state(np.random.default_rng(0))
    agents = world.agents(state)
    asks = [Ask(world, state, a, 0) for a in agents]
    replies = [Reply(json.dumps({"guess": 7}), own={"guess": 7}), Reply("nonsense", own={"guess": 8}), Reply(None)]
    read = parse_all(replies, world, state, agents, asks)
    assert [d.status for d, _ in read] == ["valid", "noop", "noop"]
    assert read[0][1].guess == 7
