"""The proof of the second edition of the World contract: a world written outside this repository, pip-installed
with a "smallworlds.worlds" entry point, uses everything the edition added (agents placed on cells, a value
layer on the ground, a root variant action as a pydantic tagged union, agents that leave and arrive) and goes
through every command and viewer with no change to sim/ or render/: run, replay, fork, sweep, describe,
check_world, PettingZoo's parallel_api_test, the chaos council, the GIF, the window, a web session and a seat.

The pond: frogs on a grid of lily pads, flies on the pads (the ground layer). Each turn a frog hops to a
neighbouring pad, catches the flies where it sits, or croaks; every frog gets hungrier; a frog with an empty
belly leaves the pond, and a new frog arrives every few turns while the pond is not crowded.
"""
from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from PIL import Image  # noqa: E402
from pettingzoo.test import parallel_api_test  # noqa: E402

from render.paint import gif  # noqa: E402
from render.paint.scene import draw  # noqa: E402
from sim import Engine  # noqa: E402
from sim.checks import check_world  # noqa: E402
from sim.config import RunConfig, make_policy  # noqa: E402
from sim.parse import parse  # noqa: E402
from sim.pettingzoo import WorldEnv  # noqa: E402
from sim.policy import PolicyOptions, Reply  # noqa: E402
from sim.registry import get_world, world_names  # noqa: E402
from sim.trace import iter_turns  # noqa: E402
from tests.conftest import installed_plugin, played_in_window, plugin_cli as cli, plugin_pyproject, web_session_frame  # noqa: E402,E501

MODULE = '''\
"""Frogs on lily pads: a world written from docs/worlds.md alone."""
from dataclasses import dataclass, replace
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, RootModel

from sim import Outcome, World
from sim.portrayal import Ground, portrait

SIZE = 5
STEPS = {"n": (0, -1), "e": (1, 0), "s": (0, 1), "w": (-1, 0)}


class Hop(BaseModel):
    model_config = ConfigDict(extra="forbid")
    do: Literal["hop"]
    to: Literal["n", "e", "s", "w"]


class Catch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    do: Literal["catch"]


class Croak(BaseModel):
    model_config = ConfigDict(extra="forbid")
    do: Literal["croak"]
    loud: int = Field(ge=1, le=3)


class Deed(RootModel[Annotated[Hop | Catch | Croak, Field(discriminator="do")]]):
    """One deed a turn; "do" says which."""


class PondParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    arrive_every: int = Field(3, ge=1, le=100, description="turns between new frogs")


@dataclass
class Pond:
    turn: int
    names: list[str]
    col: list[int]
    row: list[int]
    belly: list[int]
    flies: np.ndarray  # (SIZE, SIZE) int64, rows top to bottom
    born: int


def closed(do, **fields):
    return {"type": "object", "properties": {"do": {"const": do}, **fields}, "required": ["do", *fields],
            "additionalProperties": False}


class PondWorld(World[Pond, Deed]):
    name = "pond"
    Action = Deed
    Params = PondParams
    agents_default = 3
    briefing = 'Frogs on lily pads. Reply {"do": "hop", "to": "n"|"e"|"s"|"w"}, {"do": "catch"} or {"do": "croak", "loud": 1-3}.'
    example = '{"do": "catch"}'

    def initial_state(self, rng) -> Pond:
        n = self.n_agents
        return Pond(0, [f"frog{k}" for k in range(n)], [k % SIZE for k in range(n)], [0] * n, [2] * n,
                    rng.integers(0, 3, (SIZE, SIZE)), n)

    def agents(self, state):
        return list(state.names)

    def observe(self, state, agent):
        i = state.names.index(agent)
        return f"Turn {state.turn}. You are {agent}, belly {state.belly[i]}, {state.flies[state.row[i], state.col[i]]} flies here."

    def _moves(self, state, i):
        return [d for d, (dc, dr) in STEPS.items() if 0 <= state.col[i] + dc < SIZE and 0 <= state.row[i] + dr < SIZE]

    def action_schema(self, state, agent):
        i = state.names.index(agent)
        return {"anyOf": [closed("hop", to={"enum": self._moves(state, i)}), closed("catch"),
                          closed("croak", loud={"type": "integer", "minimum": 1, "maximum": 3})]}

    def noop(self, agent):
        return Deed(Catch(do="catch"))

    def heuristics(self, state, agents, rng):
        out = {}
        for agent in agents:
            i = state.names.index(agent)
            if state.flies[state.row[i], state.col[i]] > 0:
                out[agent] = {"do": "catch"}
            else:
                moves = self._moves(state, i)
                out[agent] = {"do": "hop", "to": moves[int(rng.integers(len(moves)))]}
        return out

    def apply(self, state, actions, rng):
        s = replace(state, names=list(state.names), col=list(state.col), row=list(state.row),
                    belly=list(state.belly), flies=state.flies.copy(), turn=state.turn + 1)
        events = []
        for i, name in enumerate(state.names):
            deed = actions[name].root
            if isinstance(deed, Hop):
                dc, dr = STEPS[deed.to]
                s.col[i], s.row[i] = s.col[i] + dc, s.row[i] + dr
            elif isinstance(deed, Catch):
                caught = int(min(s.flies[s.row[i], s.col[i]], 2))
                s.flies[s.row[i], s.col[i]] -= caught
                s.belly[i] += caught
            else:
                events.append({"kind": "croak", "agent": name, "loud": deed.loud})
        s.belly = [b - 1 for b in s.belly]
        for i in reversed(range(len(s.names))):
            if s.belly[i] <= 0:
                events.append({"kind": "left", "agent": s.names[i]})
                for column in (s.names, s.col, s.row, s.belly):
                    del column[i]
        s.flies[int(rng.integers(SIZE)), int(rng.integers(SIZE))] += 1
        if s.turn % self.params.arrive_every == 0 and len(s.names) < 5:
            s.names.append(f"frog{s.born}")
            s.col.append(0), s.row.append(SIZE - 1), s.belly.append(2)
            s.born += 1
            events.append({"kind": "arrived", "agent": s.names[-1]})
        return Outcome(s, events)

    def reward(self, state, previous, agent):
        if agent not in state.names:
            return -1.0  # it left the pond this turn
        return float(state.belly[state.names.index(agent)] - previous.belly[previous.names.index(agent)])

    def metrics(self, state, events):
        return {"frogs": len(state.names), "flies": int(state.flies.sum())}

    def invariants(self, state, previous, events):
        return ["a belly below zero"] if any(b < 0 for b in state.belly) else []

    def portray(self, turn):
        drawn = portrait(turn)
        for name, col, row in zip(turn.state["names"], turn.state["col"], turn.state["row"]):
            drawn.glyphs[name].at = (col, row)
        drawn.ground = Ground(turn.state["flies"], label="flies")
        return drawn
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pyproject = plugin_pyproject("pondworld", {"pond": "pondworld:PondWorld"})
    with installed_plugin(tmp_path_factory.mktemp("pond"), pyproject, {"pondworld.py": MODULE}) as target:
        yield target
    assert "pond" not in world_names()


@pytest.fixture(scope="module")
def trace(site, tmp_path_factory):
    out = tmp_path_factory.mktemp("pond-run") / "run"
    done = cli(site, "run", "--world", "pond", "--turns", "14", "--seed", "1", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    return out / "trace.jsonl"


def test_the_pond_passes_check_world_with_frogs_leaving_and_arriving(site):
    check_world(get_world("pond")(), seed=0, turns=12)
    turns = list(Engine(get_world("pond")(), make_policy("scripted", PolicyOptions(seed=0)), seed=0).run(12))
    names = [set(t.state["names"]) for t in turns]
    assert any(a - b for a, b in zip(names, names[1:])) and any(b - a for a, b in zip(names, names[1:]))


def test_the_cli_runs_replays_forks_sweeps_and_describes_it(site, trace, tmp_path):
    turns = list(iter_turns(trace))
    assert len(turns) == 14 and any(e["kind"] == "left" for t in turns for e in t.events)
    again = cli(site, "replay", str(trace))
    assert again.returncode == 0 and "every state identical" in again.stdout, again.stderr
    forked = cli(site, "fork", str(trace), "--at", "6", "--out", str(tmp_path / "fork"), "--turns", "10", "--quiet")
    assert forked.returncode == 0, forked.stderr
    fork_turns = list(iter_turns(tmp_path / "fork" / "trace.jsonl"))
    assert [t.state for t in fork_turns[:6]] == [t.state for t in turns[:6]]
    swept = cli(site, "sweep", "--world", "pond", "--set", "arrive_every=2,4", "--seeds", "0-1", "--turns", "8",
                "--workers", "1", "--out", str(tmp_path / "sweep"), "--quiet")
    assert swept.returncode == 0 and "arrive_every" in swept.stdout, swept.stderr
    described = cli(site, "describe", "--world", "pond")
    assert described.returncode == 0, described.stderr
    assert "arrive_every" in described.stdout and "anyOf" in described.stdout


def test_a_reply_is_read_by_the_branch_it_aimed_for(site):
    world = get_world("pond")()
    state = world.initial_state(np.random.default_rng(0))  # frog0 sits in the top-left corner
    decision, action = parse(Reply('{"do": "hop", "to": "n"}'), world, state, "frog0")
    assert decision.status == "noop" and decision.reason.startswith("outside its schema: hop.to")
    decision, action = parse(Reply('{"do": "croak", "loud": 2}'), world, state, "frog0")
    assert decision.status == "valid" and action.root.loud == 2
    decision, _ = parse(Reply('{"do": "croak"}'), world, state, "frog0")
    assert decision.status == "noop" and "croak" in decision.reason and "loud" in decision.reason


def test_pettingzoo_and_the_chaos_council_play_it(site):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(WorldEnv(get_world("pond")(arrive_every=2), max_turns=20), num_cycles=20)
    engine = Engine(get_world("pond")(), make_policy("chaos", PolicyOptions(seed=4)), seed=4)
    statuses = {d.status for turn in engine.run(10) for d in turn.decisions}
    assert "noop" in statuses and "valid" in statuses


def test_the_viewers_draw_frogs_on_their_pads_over_the_flies(site, trace, tmp_path):
    turns = list(iter_turns(trace))
    world = get_world("pond")()
    drawn = world.portray(turns[5])
    assert all(g.at is not None for g in drawn.glyphs.values()) and drawn.ground.label == "flies"
    picture = draw(turns[5], turns[4], 0.5, size=(320, 200), portray=world.portray)
    assert picture.size == (320, 200)
    with Image.open(gif.export(trace, tmp_path / "pond.gif", frames_per_turn=1, size=(200, 120))) as img:
        assert img.n_frames == len(turns)


def seated_turn(engine, seating, reply: dict):
    """One turn in which the person in the seat fills its form with `reply` (a branch, then that branch's
    fields) while the engine waits for it in another thread; the seat's decision as the trace records it."""
    import threading

    from render.paint import form

    played = []
    runner = threading.Thread(target=lambda: played.append(engine.step()))
    runner.start()
    asked = None
    while asked is None and runner.is_alive():
        runner.join(0.05)
        asked = seating.asked()
    assert asked is not None, "the seat was never asked"
    assert seating.submit(asked, form.filled(asked.fields, reply)).startswith("answered for turn")
    runner.join(30)
    return next(d for d in played[0].decisions if d.agent == asked.who)


def test_the_window_a_web_session_and_a_seat_play_it(site):
    from render.live.seat import Seating

    assert played_in_window(RunConfig(world="pond", seed=1)).turn is not None

    engine = Engine(get_world("pond")(), make_policy("scripted", PolicyOptions(seed=0)), seed=0)
    seating = Seating.of(engine)
    assert "you play frog1" in seating.take("frog1", timeout=30)
    mine = seated_turn(engine, seating, {"do": "croak", "loud": 3})
    assert mine.backend == "human" and mine.status == "valid" and json.loads(mine.reply) == {"do": "croak", "loud": 3}
    i = engine.state.names.index("frog1")
    engine.state.belly[i], engine.state.flies[engine.state.row[i], engine.state.col[i]] = 1, 0  # its last meal
    seated_turn(engine, seating, {"do": "catch"})  # nothing to catch: its belly empties and it leaves
    assert "frog1" not in engine.state.names
    assert seating.departed().startswith("frog1 has left the world, so your seat has ended")

    assert web_session_frame(RunConfig(world="pond", seed=3)).size == (320, 200)
