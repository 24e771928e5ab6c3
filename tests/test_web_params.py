"""The web demo's "World parameters" block in headless Chromium: the chosen world's boxes with their facts,
a changed box makes the next world, a value out of bounds is one line naming the box, and another world
brings its own boxes."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import chromium_page

pytestmark = pytest.mark.browser


def test_parameter_boxes_make_the_next_world(scripted_demo, tmp_path: Path):
    from sim.trace import load_trace

    with chromium_page(scripted_demo, accept_downloads=True) as page:
        page.get_by_text("World parameters").click()
        pebbles = page.locator("#param-pebbles")
        pebbles.wait_for()
        assert "default 20: starting pebbles per creature" in pebbles.inner_text()
        assert page.locator("#param-schema").count() == 1 and page.locator("#param-second_act").count() == 1

        pebbles.locator("input").fill("2")
        pebbles.locator("input").press("Tab")
        page.click("#step")
        page.get_by_text("pebbles=2: Input should be greater than or equal to 3").first.wait_for(timeout=30_000)
        assert page.locator("#log .turn").count() == 0

        pebbles.locator("input").fill("50")
        pebbles.locator("input").press("Tab")
        page.wait_for_timeout(500)  # the box's change reaches the tab's State
        page.click("#reset")
        page.click("#step")
        page.wait_for_function("document.querySelectorAll('#log .turn').length >= 1", timeout=30_000)
        page.screenshot(path=tmp_path / "params.png", full_page=True)
        with page.expect_download(timeout=30_000) as download:
            page.click("#download")
        saved = tmp_path / "trace.jsonl"
        download.value.save_as(saved)
        header, _ = load_trace(saved)
        assert header["config"]["pebbles"] == 50

        page.get_by_label("world").click()
        page.get_by_role("option", name="commons").click()
        page.locator("#param-growth").wait_for(timeout=30_000)
        assert page.locator("#param-pebbles").count() == 0
        assert "logistic regrowth rate" in page.locator("#param-growth").inner_text()
