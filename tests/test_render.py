"""The scene renderer, offscreen: what changes in a turn changes the picture, and any world draws."""
from dataclasses import replace

import numpy as np
import pytest

from render import scene
from render.view import MAX_FIGURES, figures
from sim import registry
from sim.config import make_policy
from sim.engine import Engine
from sim.policy import PolicyOptions
from tests.conftest import run_wood

SIZE = (480, 300)


@pytest.fixture(scope="module")
def turns():
    return run_wood(turns=20, seed=7)  # season_turns=5: summer is turns 5-9, winter 15-19


def pixels(turn, prev=None, t=1.0, **kw):
    img = scene.draw(turn, prev, t, size=SIZE, **kw)
    assert img.size == SIZE and img.mode == "RGB"
    return np.asarray(img, dtype=np.int16)


def changed(a, b) -> float:
    """Share of pixels that differ."""
    return float(np.any(a != b, axis=-1).mean())


def test_seasons_differ(turns):
    summer, winter = turns[7], turns[17]
    assert summer.state["season"] == "summer" and winter.state["season"] == "winter"
    a, b = pixels(summer), pixels(winter)
    assert changed(a, b) > 0.3  # the ground itself changes, not just a label
    assert b.mean() > a.mean()  # snow is brighter than grass


def test_trades_are_drawn(turns):
    busy = turns[7]
    assert any(e["kind"] == "trade" for e in busy.events)
    quiet = replace(busy, events=[e for e in busy.events if e["kind"] != "trade"])
    assert changed(pixels(busy), pixels(quiet)) > 0.002


def test_animation_moves_between_turns(turns):
    start, middle = pixels(turns[7], turns[6], 0.0), pixels(turns[7], turns[6], 0.5)
    assert changed(start, middle) > 0.002


def test_thousand_creatures_draw_as_groups():
    (turn,) = run_wood(turns=1, seed=3, agents=1000)
    shown = figures(turn)
    assert len(shown) < MAX_FIGURES and sum(f.count for f in shown) == 1000
    img = pixels(turn)
    assert img.std() > 10  # a picture, not a blank


def test_unknown_world_draws_generic_figures():
    world = registry.get_world("commons")()
    engine = Engine(world, make_policy("scripted", PolicyOptions()), seed=1)
    first, second = engine.step(), engine.step()
    assert "kinds" not in second.state  # not the wood: the generic fallback draws it
    roles = {a: world.role(engine.state, a) for a in world.agents(engine.state)}
    assert len(figures(second, roles)) == len(second.decisions)
    assert pixels(second, first, 0.5, roles=roles).std() > 10
