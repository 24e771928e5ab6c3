"""How much a model decides: every model reply is set beside the worked example its prompt showed, and the
run's summary.json says how often it was the example exactly and where it departed (sim.agency)."""
from __future__ import annotations

import json
import re

from agents.backends.scripted import ScriptedBackend
from agents.council import Council
from sim import Engine
from sim.agency import compare
from sim.policy import Reply
from worlds.wood import WoodWorld

EXAMPLE_LINE = re.compile(r"For example: (\{.*\})")


class Copier:
    """A model that writes back the worked example its prompt shows, leaving out the orders of `skip` (a
    side and good, e.g. "buy firewood"): the two ends of how much a model can decide."""

    model = "copier"
    is_model = True

    def __init__(self, name: str = "copier", skip: str = ""):
        self.name, self.skip = name, skip

    def generate(self, turn, asks):
        replies = []
        for ask in asks:
            example = json.loads(EXAMPLE_LINE.search(ask.observation).group(1))
            example["orders"] = [o for o in example["orders"] if f"{o[0]} {o[1]}" != self.skip]
            replies.append(Reply(json.dumps(example), backend=self.name, model=self.model))
        return replies


def test_parts_are_followed_changed_dropped_or_added():
    assert compare({"buy firewood": [2, 5], "sell honey": [3, 9], "lend": {"to": "Moss"}},
                   {"buy firewood": [2, 6], "sell honey": [3, 9], "buy berries": [1, 4]}) == {
        "buy firewood": "changed", "sell honey": "followed", "lend": "dropped", "buy berries": "added"}


def test_the_wood_names_each_order_by_its_side_and_good():
    world = WoodWorld(agents=5)
    action = {"orders": [["buy", "firewood", 2, 5], ["sell", "honey", 3, 9]], "say": "hi", "accept": "Moss"}
    assert world.parts(action) == {"buy firewood": [2, 5], "sell honey": [3, 9], "accept": "Moss"}


def test_a_model_that_copies_the_example_follows_it_exactly(tmp_path):
    engine = Engine(WoodWorld(agents=5), Council.of(Copier()), seed=3, out=tmp_path / "run")
    for _ in engine.run(25):  # past the first winter's start: firewood bids are part of the example
        pass
    agency = json.loads((tmp_path / "run" / "summary.json").read_text())["agency"]
    assert agency["decisions"] == 125 and agency["noop"] == 0
    assert agency["exact"] == 125 and agency["exact_share"] == 1.0
    assert agency["parts"]["buy firewood"]["followed"] > 0
    assert all(kinds["changed"] == kinds["dropped"] == kinds["added"] == 0 for kinds in agency["parts"].values())


def test_leaving_out_the_firewood_is_a_departure_by_good_and_side(tmp_path):
    engine = Engine(WoodWorld(agents=5), Council.of(Copier(skip="buy firewood")), seed=3)
    for _ in engine.run(25):
        pass
    parts = engine.summary()["agency"]["parts"]
    assert parts["buy firewood"]["dropped"] > 0 and parts["buy firewood"]["followed"] == 0
    assert engine.summary()["agency"]["exact_share"] < 1.0


def test_the_tally_survives_a_resume(tmp_path):
    out = tmp_path / "run"
    first = Engine(WoodWorld(agents=5), Council.of(Copier()), seed=1, out=out)
    for _ in first.run(6):
        pass
    again = Engine.resume(out, WoodWorld(agents=5), Council.of(Copier()))
    for _ in again.run(10):
        pass
    assert json.loads((out / "summary.json").read_text())["agency"]["decisions"] == 50


def test_the_scripted_council_and_a_prompt_without_the_example_count_nothing(rng):
    scripted = Engine(WoodWorld(agents=5), Council.of(ScriptedBackend(0)), seed=0)
    for _ in scripted.run(3):
        pass
    assert scripted.summary()["agency"]["decisions"] == 0  # the world's own heuristic is not a model
    world = WoodWorld(agents=5, aids="never_buy,shortfall")
    state = world.initial_state(rng)
    assert world.suggestion(state, "Bramble") is None
    assert "For example" not in world.observe(state, "Bramble")


def test_tallies_of_several_runs_add_up():
    from sim.agency import Tally

    runs = []
    for seed in (1, 2):
        engine = Engine(WoodWorld(agents=5), Council.of(Copier(skip="buy firewood")), seed=seed)
        for _ in engine.run(20):
            pass
        runs.append(engine.summary()["agency"])
    pooled = Tally.pooled(runs).summary()
    assert pooled["decisions"] == 200 == runs[0]["decisions"] + runs[1]["decisions"]
    assert pooled["exact"] == runs[0]["exact"] + runs[1]["exact"]
    assert pooled["exact_share"] == round(pooled["exact"] / 200, 4)
    for part, kinds in pooled["parts"].items():
        assert all(kinds[k] == sum(r["parts"].get(part, {}).get(k, 0) for r in runs) for k in kinds)
