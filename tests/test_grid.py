"""The meadow (worlds/grid): the spatial example world. check_world, schemas narrowed to what a forager can do
where it stands, foragers that starve and leave and wanderers that arrive, food conserved, its portrait
(positions and the ground layer), the command line and PettingZoo with agents coming and going."""
from __future__ import annotations

import json
import warnings
from importlib.metadata import entry_points

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from agents.policies import scripted
from sim import Engine
from sim.checks import WorldCheckError, check_world
from sim.cli import main
from sim.parse import parse
from sim.pettingzoo import WorldEnv
from sim.policy import PolicyOptions, Reply
from worlds.grid import GridWorld
from worlds.grid.state import GridState
from tests.conftest import played_in_window, web_session_frame
from worlds.grid.world import STARVED


def meadow(names, cols, rows, food, ground=None, **kw) -> GridState:
    """A hand-made state: foragers at (col, row) holding `food`, on a 4 x 4 meadow (1 food a cell by default)."""
    ground = np.ones((4, 4), dtype=np.int64) if ground is None else np.asarray(ground, dtype=np.int64)
    return GridState(turn=0, names=list(names), kind=["settler"] * len(names), col=list(cols), row=list(rows),
                     food=list(food), ground=ground, born=len(names), **kw)


def play(world, turns, seed=0, **engine_kwargs):
    engine = Engine(world, scripted(PolicyOptions(seed=seed)), seed=seed, **engine_kwargs)
    return engine, list(engine.run(turns))


def test_check_world_passes_on_the_default_and_a_crowded_little_meadow():
    check_world(GridWorld())
    check_world(GridWorld(agents=6, width=3, height=3, carry=1, arrive_every=1, crowd=4))


def test_a_foragers_schema_offers_only_what_it_can_do_where_it_stands():
    world = GridWorld()
    state = meadow(["Ada", "Bram", "Cleo"], [0, 1, 3], [0, 0, 3], [3, 0, 2], ground=np.zeros((4, 4)))
    ada = world.action_schema(state, "Ada")["properties"]
    assert ada["do"]["enum"] == ["stay", "east", "south", "share"]  # a corner, no food on its cell, a neighbour
    assert ada["to"]["enum"] == ["", "Bram"] and ada["amount"]["maximum"] == 3
    bram = world.action_schema(state, "Bram")["properties"]
    assert "share" not in bram["do"]["enum"] and bram["amount"]["maximum"] == 0  # holds nothing to share
    cleo = world.action_schema(state, "Cleo")["properties"]
    assert cleo["do"]["enum"] == ["stay", "north", "west"] and cleo["to"]["enum"] == [""]  # alone in a corner
    decision, _ = parse(Reply('{"do": "share", "to": "Bram", "amount": 4}'), world, state, "Ada")
    assert decision.status == "noop" and "maximum of 3" in decision.reason
    decision, _ = parse(Reply('{"do": "north", "to": "", "amount": 0}'), world, state, "Ada")
    assert decision.status == "noop"  # off the edge: outside its schema


def test_the_worked_example_walks_to_the_richest_cell_and_gathers_where_food_lies_thick():
    world = GridWorld()
    ground = np.zeros((4, 4), dtype=np.int64)
    ground[1, 2], ground[2, 1] = 4, 2  # east of (1, 1) is rich, south of it less so
    state = meadow(["Ada"], [1], [1], [3], ground=ground)
    assert world.suggestion(state, "Ada") == {"do": "east", "to": "", "amount": 0}
    assert "east 4" in world.observe(state, "Ada") and '"do": "east"' in world.observe(state, "Ada")
    rich = meadow(["Ada"], [2], [1], [3], ground=ground)
    assert world.suggestion(rich, "Ada")["do"] == "gather"
    giver = meadow(["Ada", "Bram"], [1, 1], [1, 2], [8, 0], ground=ground)
    assert world.suggestion(giver, "Ada") == {"do": "share", "to": "Bram", "amount": 2}


def test_a_forager_without_food_starves_and_leaves_and_its_reward_is_still_asked():
    world = GridWorld()
    state = meadow(["Ada", "Bram"], [0, 3], [0, 3], [2, 0], ground=np.zeros((4, 4)))
    outcome = world.apply(state, {a: world.noop(a) for a in state.names}, np.random.default_rng(0))
    after = outcome.state
    assert after.names == ["Ada"] and after.left == ["Bram"] and after.food == [1]
    assert {"kind": "starve", "agent": "Bram", "carried": 0} in outcome.events
    assert world.reward(after, state, "Bram") == STARVED  # asked about an agent that left: no raise
    assert world.reward(after, state, "Ada") == -1.0  # it ate one
    assert world.invariants(after, state, outcome.events) == []


def test_a_share_feeds_a_hungry_neighbour_before_the_meal():
    world = GridWorld()
    state = meadow(["Ada", "Bram"], [1, 1], [1, 2], [6, 0], ground=np.zeros((4, 4)))
    act = world.Action(do="share", to="Bram", amount=2)
    outcome = world.apply(state, {"Ada": act, "Bram": world.noop("Bram")}, np.random.default_rng(0))
    assert outcome.state.names == ["Ada", "Bram"] and outcome.state.food == [3, 1]
    assert world.invariants(outcome.state, state, outcome.events) == []


def test_wanderers_arrive_at_an_edge_every_k_turns_while_the_meadow_is_not_crowded():
    world = GridWorld(agents=4, arrive_every=2, crowd=6)
    _, turns = play(world, 12)
    arrived = [(t.turn, e) for t in turns for e in t.events if e["kind"] == "arrive"]
    assert [t for t, _ in arrived][:2] == [1, 3]  # after turns 1 and 3: the meadow's turns 2 and 4 begin with them
    for _, e in arrived:
        assert e["col"] in (0, 11) or e["row"] in (0, 11)
    assert max(t.metrics["population"] for t in turns) <= 6
    names = [e["agent"] for _, e in arrived]
    assert len(set(names)) == len(names) and not set(names) & {"Ada", "Bram", "Cleo", "Dov"}


def test_agents_come_and_go_in_a_scripted_run_with_a_drought_and_names_never_return():
    world = GridWorld(carry=2)
    engine, turns = play(world, 60, legends={5: ["drought"]})
    left = [e["agent"] for t in turns for e in t.events if e["kind"] == "starve"]
    came = [e["agent"] for t in turns for e in t.events if e["kind"] == "arrive"]
    assert left and came and all(t.metrics["noop"] == 0 for t in turns)
    seen_after = {n for t in turns for n in t.state["names"]}
    for name in left:  # once gone, never listed again
        gone_at = next(t.turn for t in turns if any(e.get("agent") == name and e["kind"] == "starve" for e in t.events))
        assert all(name not in t.state["names"] for t in turns[gone_at:])
    assert set(came) <= seen_after
    assert turns[5].legends == ["drought"] and turns[6].state["drought"] == world.params.drought_turns - 2


def test_food_is_conserved_and_a_leak_fails_check_world():
    class Leaky(GridWorld):
        def apply(self, state, actions, rng):
            outcome = super().apply(state, actions, rng)
            outcome.state.ground[0, 0] = min(outcome.state.ground[0, 0] + 1, self.params.most)
            return outcome

    with pytest.raises(WorldCheckError, match="food not conserved"):
        check_world(Leaky(), turns=5)


def test_check_world_fails_a_reward_that_looks_up_an_agent_who_left():
    class Careless(GridWorld):
        def reward(self, state, previous, agent):  # the pattern that raises for a departed forager
            return float(state.food[state.names.index(agent)] - previous.food[previous.names.index(agent)])

    with pytest.raises(WorldCheckError) as caught:
        check_world(Careless(carry=1))
    message = str(caught.value)
    assert "who left at turn" in message and "raised ValueError" in message
    assert "called for every agent that acted in `previous`, also one that left" in message


def test_check_world_fails_a_portrait_that_still_draws_a_departed_agent():
    from sim.portrayal import Glyph

    class Haunted(GridWorld):
        def portray(self, turn):
            drawn = super().portray(turn)
            for name in turn.state["left"]:
                drawn.glyphs[name] = Glyph(label=name)
            return drawn

    with pytest.raises(WorldCheckError, match="portray still draws .* after they left"):
        check_world(Haunted(carry=1))


def test_the_portrait_places_each_forager_on_its_cell_over_the_food():
    world = GridWorld(carry=2)
    _, turns = play(world, 30)
    turn = next(t for t in turns if any(e["kind"] == "starve" for e in t.events))
    drawn = world.portray(turn)
    s = turn.state
    assert list(drawn.glyphs) == s["names"]
    for i, name in enumerate(s["names"]):
        assert drawn.glyphs[name].at == (s["col"][i], s["row"][i]) and drawn.glyphs[name].numbers["food"] == s["food"][i]
    assert drawn.ground.cells == s["ground"] and drawn.ground.most == world.params.most
    gone = [e["agent"] for e in turn.events if e["kind"] == "starve"]
    assert not set(gone) & set(drawn.glyphs) and any("starved" in line for line in drawn.log)
    shared = next(t for t in turns if any(e["kind"] == "share" for e in t.events))
    assert world.portray(shared).arrows  # who fed whom


@pytest.fixture
def registered(tmp_path, monkeypatch):
    """The meadow under its entry point name, for the command line, when the installed metadata predates it."""
    if "grid" not in {ep.name for ep in entry_points(group="smallworlds.worlds")}:
        info = tmp_path / "site" / "grid_world-0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: grid-world\nVersion: 0\n")
        (info / "entry_points.txt").write_text("[smallworlds.worlds]\ngrid = worlds.grid:GridWorld\n")
        monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return tmp_path


def test_the_command_line_runs_and_replays_the_meadow(registered):
    out = registered / "run"
    assert main(["run", "--quiet", "--world", "grid", "--policy", "scripted", "--turns", "12", "--agents", "5",
                 "--set", "carry=2", "--legend", "drought@3", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines()]
    assert lines[0]["config"]["world"] == "grid" and len(lines) == 13
    assert main(["replay", str(out / "trace.jsonl")]) == 0
    assert json.loads((out / "summary.json").read_text())["metrics"]["population"]["first"] == 5


def test_pettingzoo_sees_foragers_born_and_foragers_starve():
    env = WorldEnv(GridWorld(carry=2, arrive_every=2), max_turns=40)
    observations, _ = env.reset(seed=0)
    first = list(env.agents)
    born, died = set(), set()
    for _ in range(40):
        acting = list(env.agents)
        observations, rewards, terminations, _, infos = env.step({a: {"do": "stay", "to": "", "amount": 0}
                                                                  for a in acting})
        new = [a for a in env.agents if a not in acting]
        for a in new:
            assert observations[a].startswith("Turn") and f"You are {a}" in observations[a]
            assert rewards[a] == 0.0 and not terminations[a] and infos[a]["arrived"] and a in env.possible_agents
        for a in acting:
            if terminations[a]:
                assert a not in env.agents and rewards[a] == STARVED and observations[a] == ""
                died.add(a)
        born |= set(new)
        if not env.agents:
            break
    assert born and died and set(first) <= died  # standing still, everyone starves in the end


def test_pettingzoo_api_test_passes_with_agents_coming_and_going():
    env = WorldEnv(GridWorld(carry=2, arrive_every=2), max_turns=30)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        parallel_api_test(env, num_cycles=30)
    assert not [w for w in said if "was given" in str(w.message) or "not given" in str(w.message)]
    assert len(env.possible_agents) > 8  # newcomers joined the list
    parallel_seed_test(lambda: WorldEnv(GridWorld(carry=2), max_turns=20))


def test_every_viewer_draws_the_meadow_while_foragers_come_and_go(registered, tmp_path):
    import os

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from render.paint import gif
    from render.paint.charts import charts
    from render.paint.panels import cards_html, log_html
    from render.paint.scene import draw
    from sim.config import RunConfig

    world = GridWorld(agents=5, carry=1, arrive_every=1, most=1, regrow=0)  # a bare meadow: foragers starve soon
    engine = Engine(world, scripted(PolicyOptions(seed=0)), seed=0, out=tmp_path / "run")
    turns = list(engine.run(6))
    changed = [k for k in range(1, 6) if set(turns[k - 1].state["names"]) - set(turns[k].state["names"])]
    assert changed  # turns after which someone who was drawn is gone
    for k in changed:
        assert draw(turns[k], turns[k - 1], 0.5, size=(320, 200), portray=world.portray).size == (320, 200)
        assert "food" in cards_html(turns[k], world.portray)
    log = log_html(turns, portray=world.portray)
    assert "starved and left" in log and "wandered in" in log
    assert charts(turns, size=(480, 240), portray=world.portray).size == (480, 240)
    gif.export(tmp_path / "run" / "trace.jsonl", tmp_path / "m.gif", frames_per_turn=1, size=(200, 120))

    player = played_in_window(RunConfig(world="grid", seed=1, params={"carry": 1, "arrive_every": 1}))
    assert player.turn is not None
    assert web_session_frame(RunConfig(world="grid", seed=3)).size == (320, 200)


@pytest.mark.model
def test_the_embedded_model_council_plays_the_meadow_in_one_call_a_turn():
    """The meadow with the embedded model deciding (vLLM on this CPU): one batched call a turn for every
    forager, newcomers included, and every reply read inside its forager's narrowed schema."""
    from sim.config import make_policy

    world = GridWorld(agents=5, carry=2, arrive_every=1)
    policy = make_policy("llm", PolicyOptions(backend="auto", seed=3))
    turns = list(Engine(world, policy, seed=3).run(3))
    assert [t.metrics["llm_calls"] for t in turns] == [1, 1, 1]
    decisions = [d for t in turns for d in t.decisions]
    assert len(decisions) >= 15 and all(d.backend != "scripted" for d in decisions)
    assert sum(d.status == "noop" for d in decisions) <= len(decisions) // 10, [d.reason for d in decisions]
