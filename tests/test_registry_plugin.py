"""A third-party world, installed the way a user installs one, shows up everywhere a built-in world does:
the CLI (run, replay, prompt, describe), check_world, PettingZoo, the web demo, the window, GIFs, sweeps and
chaos, with its own numbers, its own schema bounds and its own drawing, and no change to sim/ or render/.

The test writes a tiny package with a "smallworlds.worlds" entry point, pip installs it into a temporary
target directory (no network, no build isolation, nothing left behind in the environment) and puts that
directory on sys.path for this process and on PYTHONPATH for the CLI.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from PIL import Image  # noqa: E402

from render.paint import gif  # noqa: E402
from render.paint.charts import charts  # noqa: E402
from render.paint.view import world_from_header  # noqa: E402
from render.paint.panels import cards_html, log_html  # noqa: E402
from sim import Engine, sweep  # noqa: E402
from sim.checks import check_world  # noqa: E402
from sim.cli import main  # noqa: E402
from sim.config import RunConfig, make_policy  # noqa: E402
from sim.parse import parse  # noqa: E402
from sim.pettingzoo import WorldEnv  # noqa: E402
from sim.policy import PolicyOptions, Reply  # noqa: E402
from sim.registry import get_world, world_names  # noqa: E402
from sim.trace import iter_turns, load_trace  # noqa: E402
from tests.conftest import installed_plugin, played_in_window, plugin_cli as cli, plugin_pyproject, web_session_frame  # noqa: E402,E501

MODULE = '''\
"""Third-party worlds: the template's guessing game between two named players, and a sealed-bid auction
written from docs/worlds.md alone (one lot a turn, highest bid wins and pays it, budgets never refill)."""
from dataclasses import dataclass, replace

from pydantic import BaseModel, ConfigDict, Field

from sim import Outcome, World
from sim.portrayal import Arrow
from worlds.template import GuessState, GuessWorld


class TinyWorld(GuessWorld):
    name = "tiny"

    def initial_state(self, rng) -> GuessState:
        return GuessState(turn=0, scores={"ann": 0, "bob": 0})


@dataclass
class Hall:
    turn: int
    budget: dict[str, int]
    lots: dict[str, int]
    price: int = 0


class Bid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bid: int = Field(default=0, ge=0, le=1000)


class AuctionWorld(World[Hall, Bid]):
    name = "auction"
    Action = Bid
    briefing = 'A lot is sold each turn to the highest bid. Reply {"bid": <pebbles>}.'
    example = '{"bid": 5}'
    headline = ("last.price", "mean.price")

    def initial_state(self, rng) -> Hall:
        names = ["ann", "bob", "cy"][: self.n_agents or 3]
        return Hall(0, {n: 40 for n in names}, {n: 0 for n in names})

    def agents(self, state):
        return [a for a, b in state.budget.items() if b > 0]

    def observe(self, state, agent):
        return f"Turn {state.turn}. You have {state.budget[agent]} pebbles. Last price {state.price}."

    def action_schema(self, state, agent):  # the budget is a bound only this schema knows
        return {"type": "object", "additionalProperties": False, "required": ["bid"],
                "properties": {"bid": {"type": "integer", "minimum": 0, "maximum": state.budget[agent]}}}

    def noop(self, agent):
        return Bid()

    def heuristics(self, state, agents, rng):
        return {a: {"bid": int(rng.integers(0, min(12, state.budget[a]) + 1))} for a in agents}

    def apply(self, state, actions, rng):
        bids = sorted(((a.bid, n) for n, a in actions.items()), reverse=True)
        if not bids or bids[0][0] == 0:
            return Outcome(replace(state, turn=state.turn + 1, price=0), [])
        price, winner = bids[0]
        budget, lots = dict(state.budget), dict(state.lots)
        budget[winner] -= price
        lots[winner] += 1
        runner = bids[1][1] if len(bids) > 1 else winner
        return Outcome(Hall(state.turn + 1, budget, lots, price),
                       [{"kind": "sold", "to": winner, "price": price, "outbid": runner}])

    def done(self, state):
        return not self.agents(state)

    def metrics(self, state, events):
        return {"price": state.price, "pebbles_left": sum(state.budget.values())}

    def invariants(self, state, previous, events):
        spent = sum(e["price"] for e in events)
        ok = sum(state.budget.values()) + spent == sum(previous.budget.values())
        return [] if ok and min(state.budget.values()) >= 0 else ["pebbles appeared or went negative"]

    def portray(self, turn):
        drawn = super().portray(turn)  # the default: budgets and lots as per-agent numbers, bidders only
        drawn.theme.centre = "price"
        drawn.arrows = [Arrow(e["outbid"], e["to"], "outbid", e["price"]) for e in turn.events if e["kind"] == "sold"]
        return drawn
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pyproject = plugin_pyproject("tinyworld", {"tiny": "tinyworld:TinyWorld", "auction": "tinyworld:AuctionWorld"})
    with installed_plugin(tmp_path_factory.mktemp("plugin"), pyproject, {"tinyworld.py": MODULE}) as target:
        yield target
    assert not {"tiny", "auction"} & set(world_names())  # nothing leaks into the other tests


def test_an_installed_world_is_registered(site):
    assert {"auction", "commons", "template", "tiny", "wood"} <= set(world_names())
    assert get_world("tiny")().initial_state(None).scores == {"ann": 0, "bob": 0}


def test_it_passes_check_world(site):
    check_world(get_world("tiny")(), seed=0, turns=10)
    check_world(get_world("auction")(), seed=0, turns=10)


def test_the_cli_runs_it(site, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "sim", "run", "--world", "tiny", "--turns", "4",
                           "--out", str(tmp_path / "run"), "--quiet"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "run" / "trace.jsonl").read_text().splitlines()) == 1 + 4  # header + 4 turns


@pytest.fixture(scope="module")
def auction_trace(site, tmp_path_factory):
    out = tmp_path_factory.mktemp("auction") / "run"
    done = cli(site, "run", "--world", "auction", "--turns", "30", "--seed", "2", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    return out / "trace.jsonl"


def test_the_cli_runs_replays_and_previews_it(site, auction_trace):
    turns = list(iter_turns(auction_trace))
    assert 1 < len(turns) < 30 and "price" in turns[0].metrics  # it ends when every budget is spent
    again = cli(site, "replay", str(auction_trace))
    assert again.returncode == 0 and "every state identical" in again.stdout, again.stderr
    shown = cli(site, "prompt", "--world", "auction", "--agent", "bob", "--turn", "2", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["schema"]["properties"]["bid"]["maximum"] <= 40
    described = cli(site, "describe", "--world", "auction", "--json")
    assert described.returncode == 0, described.stderr
    facts = json.loads(described.stdout)
    assert "price" in facts["metrics"] and "bid" in facts["schema"]["properties"]


def test_its_own_schema_is_enforced(site):
    world = get_world("auction")()
    state = world.initial_state(None)
    decision = parse(Reply('{"bid": 999}'), world, state, "ann")[0]
    assert decision.status == "noop" and decision.reason.startswith("outside its schema: bid: 999")


def test_pettingzoo_and_chaos_play_it(site):
    env = WorldEnv(get_world("auction")(), max_turns=8)
    env.reset(seed=1)
    while env.agents:
        env.step({a: env.action_space(a).sample() for a in env.agents})
    assert env.last_turn is not None
    engine = Engine(get_world("auction")(), make_policy("chaos", PolicyOptions(seed=4)), seed=4)
    statuses = {d.status for turn in engine.run(10) for d in turn.decisions}
    assert "noop" in statuses


def test_the_viewers_draw_it_with_its_own_hook(site, auction_trace, tmp_path):
    header, turns = load_trace(auction_trace)
    world = world_from_header(header)
    assert world is not None and world.name == "auction"
    drawn = world.portray(turns[3])
    assert drawn.theme.centre == "price" and drawn.arrows and set(drawn.glyphs["ann"].numbers) == {"budget", "lots"}
    assert "budget" in cards_html(turns[3], world.portray) and "• sold to=" in log_html(turns, portray=world.portray)
    with Image.open(gif.export(auction_trace, tmp_path / "a.gif", frames_per_turn=1, size=(200, 120))) as img:
        assert img.n_frames == len(turns)
    assert charts(turns, size=(480, 240), portray=world.portray).size == (480, 240)


def test_the_window_and_the_web_demo_play_it(site):
    player = played_in_window(RunConfig(world="auction", seed=1), turns=4)
    assert player.turn is not None and player.turn.metrics["price"] >= 0
    gradio = pytest.importorskip("gradio")
    from render.web.demo import build_demo

    assert isinstance(build_demo(policy="scripted"), gradio.Blocks)
    assert web_session_frame(RunConfig(world="auction", seed=3)).size == (320, 200)


def test_a_sweep_keeps_its_numbers_and_its_survival(site, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "--world", "auction", "--set", "agents=2,3", "--seeds", "0-1", "--turns", "40",
                 "--workers", "1", "--out", str(out), "--quiet"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header == ["agents", "n", "last.price", "mean.price", "noop_rate", "survived", "turns"]
    frame = sweep.load(out)
    assert {"last.pebbles_left", "mean.price", "survived"} <= set(frame.columns)
    assert not frame["survived"].any()  # every auction sells out before 40 turns


BROKEN = {"ghost": "ghostworld_not_installed:World", "boom": "boomworld:World"}


@pytest.fixture(scope="module")
def broken_worlds(tmp_path_factory):
    """Two registered worlds as a broken installation leaves them: one whose package is gone (its metadata
    kept), one whose module raises when imported. Installed as metadata plus module, on PYTHONPATH only."""
    site = tmp_path_factory.mktemp("broken-site")
    info = site / "brokenworlds-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenworlds\nVersion: 0.0.1\n")
    points = "".join(f"{name} = {target}\n" for name, target in BROKEN.items())
    (info / "entry_points.txt").write_text("[smallworlds.worlds]\n" + points)
    (site / "boomworld.py").write_text('raise RuntimeError("the world forgot its rules")\n')
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_registered_world_is_one_error_line_everywhere(broken_worlds, tmp_path, name):
    run = tmp_path / "run"
    assert main(["run", "--quiet", "--turns", "2", "--out", str(run)]) == 0
    lines = (run / "trace.jsonl").read_bytes().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["config"]["world"] = name
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "trace.jsonl").write_bytes(json.dumps(header).encode() + b"\n" + b"".join(lines[1:]))
    for argv in (["run", "--world", name, "--turns", "1", "--out", str(tmp_path / "new")],
                 ["replay", str(tmp_path / "other")], ["fork", str(tmp_path / "other"), "--at", "1", "--out",
                                                        str(tmp_path / "new")],
                 ["sweep", "--world", name, "--seeds", "1", "--turns", "1", "--out", str(tmp_path / "new")]):
        done = subprocess.run([sys.executable, "-m", "sim", *argv], capture_output=True, text=True, env=broken_worlds,
                              cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, (argv, done.stderr)
        assert done.stderr.startswith(f"error: the world {name!r} is registered by brokenworlds"), done.stderr
        assert "reinstall or uninstall brokenworlds" in done.stderr
        assert not (tmp_path / "new").exists()
