"""Agents drawn where they stand (Glyph.at) over the ground's value layer (Portrait.ground), in every viewer:
the scene, the GIF, the desktop window and the web demo. A move is tweened, a count stays whole on the way,
an agent that left is not drawn. The world is tests/plots.py: Ann walks east along the top row, Bob stays in
the bottom-right corner, Cy leaves after the first turn; the top-right cell holds the most food."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from render.paint import gif, scene  # noqa: E402
from render.paint.panels import cards_html  # noqa: E402
from sim import Engine  # noqa: E402
from sim.config import make_policy  # noqa: E402
from sim.policy import PolicyOptions  # noqa: E402
from sim.portrayal import Glyph, Ground, Portrait, Theme, portrait  # noqa: E402
from sim.records import Turn  # noqa: E402
from tests.plots import PURPLE, RICH, PlotsWorld  # noqa: E402

SIZE = (480, 300)
HIGH = Ground([[0]]).high  # the ramp's colour at `most`


@pytest.fixture(scope="module")
def world():
    return PlotsWorld()


@pytest.fixture(scope="module")
def turns(world):
    """Turn 0: Ann (1, 0), Bob (5, 3), Cy (2, 2). Turn 1: Ann (2, 0), Cy gone. Turn 2: Ann (3, 0)."""
    return list(Engine(world, make_policy("scripted", PolicyOptions()), seed=0).run(3))


def picture(world, turn, prev=None, t=1.0) -> np.ndarray:
    return np.asarray(scene.draw(turn, prev, t, size=SIZE, portray=world.portray), dtype=np.int16)


def cell_box(world, turn, cell, size=SIZE):
    """The pixels of `cell` (column, row) on the board of `turn`'s scene: rows and columns slices."""
    board = scene.board_of(world.portray(turn), size)
    x, y = board.point(cell)
    half = board.unit / 2 - 2  # inside the grid lines
    return slice(round(y - half), round(y + half)), slice(round(x - half), round(x + half))


def share(img, box, colour, tol=0) -> float:
    """The share of the box's pixels within `tol` of `colour` (each channel)."""
    part = img[box]
    return float((np.abs(part - np.array(colour)) <= tol).all(axis=-1).mean())


def test_the_world_places_its_agents_and_cy_leaves(world, turns):
    first, second = world.portray(turns[0]), world.portray(turns[1])
    assert {n: g.at for n, g in first.glyphs.items()} == {"ann": (1, 0), "bob": (5, 3), "cy": (2, 2)}
    assert set(second.glyphs) == {"ann", "bob"}  # the state still names Cy: the default portrait leaves it out
    assert second.ground.cells[RICH[1]][RICH[0]] == second.ground.most


def test_the_default_portrait_draws_whom_the_world_lists_now():
    turn = Turn(turn=3, state={"names": ["a", "b"], "food": [1, 2]}, decisions=[], events=[], metrics={})
    drawn = portrait(turn, {"b": "x", "c": "y"})  # a left (still in `names`), c arrived (not yet in it)
    assert list(drawn.glyphs) == ["b", "c"] and drawn.glyphs["b"].numbers == {"food": 2.0}
    assert list(portrait(turn).glyphs) == ["a", "b"]  # without the world's word: every name of the record


def test_the_scene_draws_each_agent_on_its_cell_over_the_ground(world, turns):
    img = picture(world, turns[0])
    for cell in ((1, 0), (5, 3), (2, 2)):
        assert share(img, cell_box(world, turns[0], cell), PURPLE) > 0.2, cell
    assert share(img, cell_box(world, turns[0], (3, 1)), PURPLE) == 0  # an empty cell
    assert share(img, cell_box(world, turns[0], RICH), HIGH) > 0.95  # the richest cell in the ramp's high colour
    left, right = cell_box(world, turns[0], (0, 0))[1], cell_box(world, turns[0], RICH)[1]
    assert left.start < right.start  # column 0 on the left


def test_an_agent_that_left_fades_and_is_gone_when_the_turn_rests(world, turns):
    cy = cell_box(world, turns[1], (2, 2))
    assert share(picture(world, turns[1], turns[0], 0.0), cy, PURPLE) > 0.2  # still where it stood
    halfway = picture(world, turns[1], turns[0], 0.5)
    assert share(halfway, cy, PURPLE) == 0 and share(halfway, cy, PURPLE, tol=110) > 0.1  # fading
    assert share(picture(world, turns[1], turns[0], 1.0), cy, PURPLE, tol=110) == 0
    assert share(picture(world, turns[1]), cy, PURPLE, tol=110) == 0


def test_an_agent_that_arrives_fades_in(world, turns):
    cy = cell_box(world, turns[0], (2, 2))  # played backwards, turn 1 -> turn 0: Cy arrives
    assert share(picture(world, turns[0], turns[1], 0.0), cy, PURPLE, tol=110) == 0
    halfway = picture(world, turns[0], turns[1], 0.5)
    assert share(halfway, cy, PURPLE) == 0 and share(halfway, cy, PURPLE, tol=110) > 0.1
    assert share(picture(world, turns[0], turns[1], 1.0), cy, PURPLE) > 0.2


def test_a_move_is_tweened_between_cells(world, turns):
    board = scene.board_of(world.portray(turns[1]), SIZE)
    top = slice(round(board.top), round(board.top + board.unit))  # only Ann walks the top row
    for t, cell in ((0.0, 1.0), (0.5, 1.5), (1.0, 2.0)):
        row = picture(world, turns[1], turns[0], t)[top]
        xs = np.nonzero((row == np.array(PURPLE)).all(axis=-1))[1]
        assert abs(xs.mean() - board.point((cell, 0))[0]) < 3, t


def test_whole_numbers_stay_whole_while_tweening():
    assert scene.eased(7, 9, 0.31) == 8.0 and scene.eased(1, 2, 0.5) == 2.0
    assert scene.eased(7, 8, 0.0) == 7.0 and scene.eased(7, 8, 1.0) == 8.0
    assert scene.eased(7.5, 9, 0.5) == 8.25  # not whole before: it slides


def test_the_ring_is_still_the_default(world, turns):
    look = world.portray(turns[0])
    for g in look.glyphs.values():
        g.at = None
    look.ground = None
    ring = np.asarray(scene.draw(turns[0], size=SIZE, portray=lambda turn: look), dtype=np.int16)
    assert share(ring, cell_box(world, turns[0], RICH), HIGH) < 0.05


def test_a_crowd_on_a_large_grid_is_drawn_as_dots_where_they_stand(world, turns):
    look = world.portray(turns[0])
    cells = [[0] * 40 for _ in range(40)]
    cells[39][39] = 5
    look.ground = Ground(cells, label="food")
    for k in range(1000):  # the top half of the field, one or two to a cell
        look.glyphs[f"g{k}"] = Glyph(label=f"g{k}", role="gatherer", at=(k % 40, (k // 40) % 20))
    img = np.asarray(scene.draw(turns[0], size=SIZE, portray=lambda turn: look), dtype=np.int16)
    board = scene.board_of(look, SIZE)
    x, y = board.point((10, 5))
    assert (img[round(y), round(x)] == PURPLE).all()  # a dot on its cell
    x, y = board.point((39, 39))
    assert (img[round(y), round(x)] == HIGH).all()  # the one rich cell, bottom right, nobody on it


def test_the_gif_frames_draw_positions(world, turns, tmp_path):
    path = gif.write(turns, tmp_path / "plots.gif", frames_per_turn=2, size=SIZE, portray=world.portray)
    with Image.open(path) as movie:
        assert movie.n_frames == 6
        movie.seek(3)  # turn 1 at rest
        frame = np.asarray(movie.convert("RGB"), dtype=np.int16)
    assert share(frame, cell_box(world, turns[1], (2, 0)), PURPLE, tol=24) > 0.2  # Ann, one cell on
    assert share(frame, cell_box(world, turns[1], RICH), HIGH, tol=24) > 0.95
    assert share(frame, cell_box(world, turns[1], (2, 2)), PURPLE, tol=110) == 0  # Cy has left


def test_the_window_draws_positions(world, turns):
    pygame = pytest.importorskip("pygame")
    from render.window import viewer as window

    screen = window.open_window(SIZE)
    try:
        player = window.Player(window.TraceTurns(turns, world), frames_per_turn=4)
        window.loop(player, screen, frames=20, fps=0)
        assert player.turn.turn == 2 and player.phase == 1.0
        shown = np.asarray(pygame.surfarray.array3d(screen), dtype=np.int16).transpose(1, 0, 2)
    finally:
        pygame.display.quit()
    assert share(shown, cell_box(world, turns[2], (3, 0)), PURPLE) > 0.2  # Ann, two cells on
    assert share(shown, cell_box(world, turns[2], (1, 0)), PURPLE) == 0
    assert share(shown, cell_box(world, turns[2], RICH), HIGH) > 0.95
    assert share(shown, cell_box(world, turns[2], (2, 2)), PURPLE, tol=110) == 0


def test_the_web_cards_say_where_each_agent_stands(world, turns):
    html = cards_html(turns[1], world.portray)
    assert html.count('class="card"') == 2 and ">cy<" not in html
    assert '<div class="at">at 2, 0</div>' in html and '<div class="at">at 5, 3</div>' in html


def test_terrain_and_a_continuous_space(turns):
    water, grass = (30, 90, 200), (120, 180, 90)
    land = Portrait({"a": Glyph("a", role="gatherer", at=(2, 3))},
                    ground=Ground([[water if c == r else grass for c in range(8)] for r in range(8)], label="land"))
    img = np.asarray(scene.draw(turns[0], size=SIZE, portray=lambda turn: land), dtype=np.int16)
    board = scene.board_of(land, SIZE)
    for cell, colour in (((5, 5), water), ((5, 4), grass)):
        x, y = board.point(cell)
        assert (img[round(y), round(x)] == colour).all()  # each cell in its own colour

    sea = Portrait({"a": Glyph("a", role="gatherer", at=(0.0, 0.0)), "b": Glyph("b", role="gatherer", at=(10.0, 5.0)),
                    "c": Glyph("c", role="gatherer", at=(4.0, 2.0)), "d": Glyph("d", role="gatherer", at=(4.0, 2.0))},
                   space=(10, 5), theme=Theme(colours={"gatherer": PURPLE}))
    img = np.asarray(scene.draw(turns[0], size=SIZE, portray=lambda turn: sea), dtype=np.int16)
    board = scene.board_of(sea, SIZE)
    assert board.point((10, 5))[0] - board.point((0, 0))[0] > 250  # the space fills the frame
    for name in "ab":
        x, y = board.point(sea.glyphs[name].at)
        assert (img[round(y), round(x) + 20] == PURPLE).all(), name  # beside its initial, on its body
    x, y = board.point((4.0, 2.0))
    xs = np.nonzero((img[round(y)] == np.array(PURPLE)).all(axis=-1))[0]
    xs = xs[np.abs(xs - x) < 100]
    assert xs.max() - xs.min() > 100  # two on one spot stand side by side, a body apart
