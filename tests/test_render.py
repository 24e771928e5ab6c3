"""The scene renderer, offscreen: what changes in a turn changes the picture, and any world draws."""
from dataclasses import replace

import numpy as np
import pytest

from render.paint import scene
from render.paint.view import MAX_FIGURES, figures
from sim import registry
from sim.config import make_policy
from sim.engine import Engine
from sim.policy import PolicyOptions
from sim.portrayal import portrait
from tests.conftest import run_wood
from worlds.template import GuessWorld
from worlds.wood import WoodWorld

WOOD = WoodWorld().portray

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
    a, b = pixels(summer, portray=WOOD), pixels(winter, portray=WOOD)
    assert changed(a, b) > 0.3  # the ground itself changes, not just a label
    assert b.mean() > a.mean()  # snow is brighter than grass


def test_trades_are_drawn(turns):
    busy = turns[7]
    assert any(e["kind"] == "trade" for e in busy.events)
    quiet = replace(busy, events=[e for e in busy.events if e["kind"] != "trade"])
    assert changed(pixels(busy, portray=WOOD), pixels(quiet, portray=WOOD)) > 0.002


def test_animation_moves_between_turns(turns):
    start, middle = pixels(turns[7], turns[6], 0.0, portray=WOOD), pixels(turns[7], turns[6], 0.5, portray=WOOD)
    assert changed(start, middle) > 0.002


def test_thousand_creatures_draw_as_groups():
    (turn,) = run_wood(turns=1, seed=3, agents=1000)
    shown = figures(turn, WoodWorld().portray(turn))
    assert len(shown) < MAX_FIGURES and sum(f.count for f in shown) == 1000
    img = pixels(turn, portray=WOOD)
    assert img.std() > 10  # a picture, not a blank


def test_the_commons_draws_itself_and_any_world_draws_by_default():
    world = registry.get_world("commons")()
    engine = Engine(world, make_policy("scripted", PolicyOptions()), seed=1)
    first, second = engine.step(), engine.step()
    own = world.portray(second)
    assert own.theme.centre == "stock" and {g.role for g in own.glyphs.values()} >= {"greedy", "cautious"}
    assert len(figures(second, own)) == len(second.decisions)
    drawn, plain = pixels(second, first, 0.5, portray=world.portray), pixels(second, first, 0.5)
    assert drawn.std() > 10 and changed(drawn, plain) > 0.05  # the lake and its colours are the world's own


def test_the_default_portrait_reads_numbers_kept_per_agent():
    (turn,) = Engine(GuessWorld(agents=3), make_policy("scripted", PolicyOptions()), seed=2).run(1)
    look = portrait(turn)
    assert list(look.glyphs) == ["player0", "player1", "player2"]
    assert {name: set(g.numbers) for name, g in look.glyphs.items()} == {f"player{i}": {"scores"} for i in range(3)}
    assert look.theme.centre == "gini" and look.arrows == []


def test_a_hook_that_fails_is_drawn_with_the_default():
    (turn,) = run_wood(turns=1, seed=3)

    def broken(turn):
        raise KeyError("names")

    assert pixels(turn, portray=broken).std() > 10


def test_render_names_no_world():
    import pathlib

    for path in pathlib.Path(scene.__file__).parent.glob("*.py"):
        text = path.read_text()
        if path.name == "commands.py":  # the view command's flags: `--world` defaults to the CLI's default world
            text = text.replace('"--world", default="wood"', "").replace("(default: wood)", "")
        for word in ("wood", "commons", "pebble", "acorns", "honey", "kinds"):
            assert word not in text.lower(), (path.name, word)
