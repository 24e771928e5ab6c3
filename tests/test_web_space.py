"""The web demo plays a world that places its agents: tests/plots.py, registered by entry point from a
throwaway package installed the way a user installs one, driven through the page's controls as Gradio calls
them. The scene the page gets shows each agent on its cell over the ground, the in-between frames walk Ann
from one cell to the next while Cy (who left) fades, the turn at rest has no Cy, and the cards say where each
agent stands."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

gr = pytest.importorskip("gradio")

from render.paint import scene  # noqa: E402
from render.web.controls import IN_BETWEEN, SCENE_SIZE, Controls  # noqa: E402
from render.web.page import lay_out  # noqa: E402
from render.web.session import Sessions  # noqa: E402
from sim.portrayal import Ground  # noqa: E402
from sim.registry import world_names  # noqa: E402
from tests.conftest import installed_plugin, plugin_pyproject  # noqa: E402
from tests.plots import PURPLE, RICH, PlotsWorld  # noqa: E402

PLOTS = ["plots", 3, 0, "scripted", "auto", ""]
@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """`plots` in the registry for this module only (its code stays in tests/plots.py)."""
    pyproject = plugin_pyproject("plotsworld", {"plots": "tests.plots:PlotsWorld"}, modules=False)
    with installed_plugin(tmp_path_factory.mktemp("plots"), pyproject):
        yield
    assert "plots" not in world_names()


@pytest.fixture
def page_and_controls(registered):
    sessions = Sessions()
    with gr.Blocks():
        page = lay_out(sessions, "scripted", "auto", "")
    return page, Controls(page, sessions)


def cell(img, turn, at) -> np.ndarray:
    """The pixels of cell `at` (column, row) in the page's scene of `turn`."""
    board = scene.board_of(PlotsWorld().portray(turn), SCENE_SIZE)
    x, y = board.point(at)
    half = board.unit / 2 - 2
    return np.asarray(img, dtype=np.int16)[round(y - half):round(y + half), round(x - half):round(x + half)]


def share(pixels, colour, tol=0) -> float:
    return float((np.abs(pixels - np.array(colour)) <= tol).all(axis=-1).mean())


async def _one_played_turn(do, p, s) -> list[dict]:
    """Start's updates until one more turn is shown, then pause."""
    updates = []
    async for update in do.play(s, 0.5, *PLOTS):  # 0.5 s a turn: the page gets the in-between frames
        updates.append(update)
        if p.log in update:
            do.halt(s)
    return updates


def test_the_page_draws_agents_where_they_stand_and_not_the_one_who_left(page_and_controls):
    p, do = page_and_controls
    first = do.one(None, *PLOTS)
    s = first[p.session]
    turn0 = s.turns[0]
    assert share(cell(first[p.scene], turn0, (1, 0)), PURPLE) > 0.08  # Ann
    assert share(cell(first[p.scene], turn0, (2, 2)), PURPLE) > 0.08  # Cy, before leaving
    assert share(cell(first[p.scene], turn0, RICH), Ground([[0]]).high) > 0.95
    assert '<div class="at">at 1, 0</div>' in first[p.cards]

    updates = asyncio.run(_one_played_turn(do, p, s))
    frames = [u[p.scene] for u in updates if set(u) == {p.scene}]
    assert len(frames) == len(IN_BETWEEN) == 3 and IN_BETWEEN[1] == 0.5
    turn1 = s.turns[1]
    board = scene.board_of(PlotsWorld().portray(turn1), SCENE_SIZE)
    top = np.asarray(frames[1], dtype=np.int16)[round(board.top):round(board.top + board.unit)]
    xs = np.nonzero((top == np.array(PURPLE)).all(axis=-1))[1]
    assert abs(xs.mean() - board.point((1.5, 0))[0]) < 3  # halfway from (1, 0) to (2, 0)
    assert 0 < share(cell(frames[1], turn1, (2, 2)), PURPLE, tol=110) and share(cell(frames[1], turn1, (2, 2)),
                                                                                 PURPLE) == 0  # Cy fading
    rest = next(u for u in updates if p.log in u)
    assert share(cell(rest[p.scene], turn1, (2, 0)), PURPLE) > 0.08
    assert share(cell(rest[p.scene], turn1, (2, 2)), PURPLE, tol=110) == 0  # Cy has gone
    assert rest[p.cards].count('class="card"') == 2 and '<div class="at">at 2, 0</div>' in rest[p.cards]
