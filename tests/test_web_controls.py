"""The web demo's controls without a browser: each is called as Gradio calls it, with the tab's Session and
the inputs, and returns updates keyed by the page's components (render/web/controls.py). Real sessions with
the scripted policy; no server."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")

from render.web.controls import Controls  # noqa: E402
from render.web.page import lay_out  # noqa: E402
from render.web.params import box, changed  # noqa: E402
from render.web.session import Sessions  # noqa: E402
from sim import registry  # noqa: E402
from sim.describe import param_facts  # noqa: E402
from sim.trace import load_trace  # noqa: E402

WOOD = ["wood", 5, 3, "scripted", "auto", ""]


@pytest.fixture
def page_and_controls():
    sessions = Sessions()
    with gr.Blocks():
        page = lay_out(sessions, "scripted", "auto", "")
    return page, Controls(page, sessions)


def test_step_makes_a_world_and_updates_every_view(page_and_controls):
    p, do = page_and_controls
    update = do.one(None, *WOOD)
    assert set(update) == {p.scene, p.charts, p.log, p.cards, p.status, p.session, p.fallback, p.download}
    s = update[p.session]
    assert len(s.turns) == 1 and "stepped" in update[p.status] and update[p.log].count('class="turn"') == 1
    assert update[p.scene].size == (960, 600) and update[p.fallback].visible is False
    header, turns = load_trace(update[p.download])
    assert header["seed"] == 3 and len(turns) == 1
    assert len(do.one(s, *WOOD)[p.session].turns) == 2  # the same world, one turn on


def test_a_playing_world_is_not_stepped_and_pause_says_so(page_and_controls):
    p, do = page_and_controls
    s = do.one(None, *WOOD)[p.session]
    s.playing = True
    update = do.one(s, *WOOD)
    assert set(update) == {p.status, p.session} and "already playing" in update[p.status] and len(s.turns) == 1
    assert "pausing after this turn" in do.halt(s) and not s.playing


def test_reset_replaces_the_world_and_clears_the_views(page_and_controls):
    p, do = page_and_controls
    old = do.one(None, *WOOD)[p.session]
    update = do.renew(old, *WOOD)
    assert old.closed and not old.dir.exists()
    assert update[p.scene] is None and update[p.download] is None and update[p.session].turns == []
    assert "ready" in update[p.status]


@pytest.mark.parametrize("settings, says", [
    (["wood", 0, 1], "creatures: choose 1 to 1000"),
    (["wood", 5, -1], "seed: choose 0 to"),
    (["wood", "many", 1], "whole numbers"),
])
def test_bad_settings_are_one_line_naming_the_box(page_and_controls, settings, says):
    _, do = page_and_controls
    with pytest.raises(gr.Error, match=says):
        do.one(None, *settings, "scripted", "auto", "")


def test_legends_and_rumours_begin_next_turn(page_and_controls):
    p, do = page_and_controls
    assert do.tell(None, "bank_run") == "<div>Start a world first.</div>"
    s = do.one(None, *WOOD)[p.session]
    assert "bank_run&#x27; begins next turn" in do.tell(s, "bank_run")
    assert "no legend &#x27;comet&#x27;" in do.tell(s, "comet")
    assert isinstance(do.spread(s, "   "), type(gr.skip()))  # a blank rumour is no rumour
    do.spread(s, "the owls are leaving")
    turn = do.one(s, *WOOD)[p.session].turns[-1]
    assert turn.legends == ["bank_run", "rumour"]


def test_choosing_a_world_offers_its_legends_in_both_boxes(page_and_controls):
    p, do = page_and_controls
    update = do.legends("wood")
    assert set(update) == {p.legend, p.branch_legend, p.params}
    assert "bank_run" in [c[0] for c in update[p.legend].choices]
    assert update[p.params] == {}  # the last world's parameters are not this one's


def test_parameter_boxes_say_type_bounds_default_and_description():
    """One box per parameter, from the facts `python -m sim describe` prints."""
    wood = {f["name"]: box(f) for f in param_facts(registry.get_world("wood").Params)}
    pebbles = wood["pebbles"]
    assert isinstance(pebbles, gr.Number) and pebbles.precision == 0 and pebbles.value == 20
    assert pebbles.info == "int, >= 3, <= 1000000, default 20: starting pebbles per creature (each gets this +-3)"
    assert pebbles.minimum is None  # bounds are refused by setup, naming the box, not by Gradio
    assert isinstance(wood["schema"], gr.Dropdown) and [c[1] for c in wood["schema"].choices] == ["creature", "general"]
    assert isinstance(wood["second_act"], gr.Checkbox) and wood["second_act"].value is True
    assert isinstance(wood["aids"], gr.Textbox)
    commons = {f["name"]: box(f) for f in param_facts(registry.get_world("commons").Params)}
    capacity = commons["capacity"]  # may be left blank: a text box, since an emptied gr.Number sends 0
    assert isinstance(capacity, gr.Textbox) and capacity.value == "" and "blank: default" in capacity.info
    assert "(faster overshoots the capacity)" in commons["growth"].info


def test_a_changed_box_is_kept_until_it_holds_its_default_again():
    params = changed({}, "pebbles", 50, 20)
    assert params == {"pebbles": 50}
    assert changed(params, "schema", "general", "creature") == {"pebbles": 50, "schema": "general"}
    assert changed(params, "pebbles", 20, 20) == {} and changed(params, "pebbles", 20.0, 20) == {}
    assert changed({"capacity": "300"}, "capacity", "", None) == {}
    assert params == {"pebbles": 50}  # Gradio's State value is replaced, never changed in place


def test_a_new_world_is_made_with_the_tabs_parameters(page_and_controls):
    p, do = page_and_controls
    s = do.one(None, *WOOD, {"pebbles": 50, "second_act": False})[p.session]
    assert s.live.world.params.pebbles == 50 and s.live.world.params.second_act is False
    header, _ = load_trace(s.dir / "run" / "trace.jsonl")
    assert header["config"]["pebbles"] == 50
    renewed = do.renew(s, "commons", 4, 0, "scripted", "auto", "", {"capacity": "300", "growth": 0.5})[p.session]
    assert renewed.live.world.params.capacity == 300 and renewed.live.world.params.growth == 0.5


@pytest.mark.parametrize("params, says", [
    ({"pebbles": 2}, "pebbles=2: Input should be greater than or equal to 3"),
    ({"schema": "ornate"}, "schema=ornate"),
    ({"depth": 3}, "no parameter 'depth'"),
])
def test_a_parameter_out_of_bounds_is_one_line_naming_its_box(page_and_controls, params, says):
    _, do = page_and_controls
    with pytest.raises(gr.Error, match=says) as caught:
        do.one(None, *WOOD, params)
    assert "\n" not in str(caught.value)


async def _play(do, p, s, turns: int, stop: str) -> list[dict]:
    """Updates of Start until `turns` turns have been shown, then pause ("halt") or close the stream ("close")."""
    updates = []
    stream = do.play(s, 0.0, *WOOD)
    async for update in stream:
        updates.append(update)
        session = update.get(p.session)
        if session is not None and len(session.turns) >= turns and p.log in update:
            if stop == "close":
                await stream.aclose()  # what Gradio does once the tab's stream has gone
                return updates
            do.halt(session)
    return updates


def test_start_plays_until_paused_then_offers_the_trace(page_and_controls):
    p, do = page_and_controls
    updates = asyncio.run(_play(do, p, None, 3, "halt"))
    s = updates[-1][p.session]
    assert "starting the world" in updates[0][p.status]
    assert not s.playing and len(s.turns) >= 3
    assert "stopped; the trace is ready to download" in updates[-1][p.status]
    assert len(load_trace(updates[-1][p.download])[1]) == len(s.turns)


def test_a_stream_closed_while_playing_stops_the_world_playing(page_and_controls):
    p, do = page_and_controls
    updates = asyncio.run(_play(do, p, None, 2, "close"))
    s = updates[-1][p.session]
    assert not s.playing and not s.closed  # an idle world now, which the pool may close
    assert s in do.sessions.live.values()


def test_a_stream_closed_while_the_world_starts_leaves_no_world_playing():
    """A tab that closes while its world is still starting (a model loading): the world, once made, is idle."""
    import threading

    from sim.config import make_policy

    started = threading.Event()

    def slow(name, opts):  # a policy that takes a while to start, as a model does
        time.sleep(2.5)
        started.set()
        return make_policy(name, opts)

    sessions = Sessions()
    with gr.Blocks():
        page = lay_out(sessions, "scripted", "auto", "")
    do = Controls(page, sessions, slow)

    async def close_while_starting():
        stream = do.play(None, 0.0, *WOOD)
        async for update in stream:
            assert page.log not in update, "the world started playing before the stream was closed"
            if "starting the world ·" in update.get(page.status, ""):  # the note ticks: still starting
                await stream.aclose()
                return

    asyncio.run(close_while_starting())
    assert started.wait(10) and _wait_for(lambda: len(sessions.live) == 1)
    (s,) = sessions.live.values()
    assert not s.playing and s.turns == []


def _wait_for(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def test_branch_needs_turns_first(page_and_controls):
    p, do = page_and_controls

    async def first():
        return [u async for u in do.branch_off(None, None, None, None, 5)]

    (update,) = asyncio.run(first())
    assert "Play a few turns first" in update[p.branch_status] and update[p.branch_download] is None


def test_the_pool_folder_holds_every_session(page_and_controls):
    p, do = page_and_controls
    s = do.one(None, *WOOD)[p.session]
    assert Path(s.dir).parent == do.sessions.root
