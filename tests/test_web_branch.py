"""The web demo's "branch from this turn", for real: the demo served on loopback with the scripted policy,
driven through its API (gradio_client) and in headless Chromium (Playwright); the branch's trace downloads."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from sim.trace import load_trace

from tests.conftest import chromium_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(scripted_demo):
    return scripted_demo


def test_branch_through_the_api(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    try:
        picture, said, trace = client.predict(None, None, 5, api_name="/branch")
        assert picture is None and trace is None and "Play a few turns first" in said
        for _ in range(4):
            client.predict("wood", 5, 3, "scripted", "auto", "", api_name="/step")
        picture, said, _ = client.predict(9, None, 5, api_name="/branch")
        assert picture is None and "cannot branch" in said and "0 to 4" in said
        picture, said, trace = client.predict(2, "drought", 5, api_name="/branch")
        assert "branch from turn 2 with drought: played 5 turns" in said
        header, turns = load_trace(trace)  # the branch's own trace, downloaded: the run's turns, then its own
        assert [t.turn for t in turns] == list(range(7)) and turns[2].legends == ["drought"]
        width, height = Image.open(picture).size
        assert width > 2.5 * height  # two dashboards side by side
        picture, said, _ = client.predict(None, None, 3, api_name="/branch")  # from the turn the tab is at
        assert "branch from turn 4: played 3 turns" in said
    finally:
        client.close()


def test_the_branch_control_in_chromium(server, tmp_path: Path):
    with chromium_page(server) as page:
        for n in range(1, 4):
            page.click("#step")
            page.wait_for_function(f"document.querySelectorAll('#log .turn').length >= {n}", timeout=30_000)
        page.get_by_text("Branch from this turn").click()
        page.locator("#branch-at input").fill("1")
        page.locator("#branch-legend input").click()
        page.get_by_role("option", name="bank_run").click()
        page.locator("#branch-turns input").fill("4")
        page.click("#branch")
        page.wait_for_function("document.querySelector('#branch-status').innerText.includes('played 4 turns')",
                               timeout=60_000)
        assert "branch from turn 1 with bank_run" in page.locator("#branch-status").inner_text()
        image = page.locator("#branch-charts img")
        image.wait_for(timeout=30_000)
        width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert width > 2.5 * height  # the run's charts and the branch's, side by side
        page.screenshot(path=tmp_path / "branch.png", full_page=True)
        with page.expect_download(timeout=30_000) as download:
            page.click("#branch-download")
        download.value.save_as(tmp_path / "branch.jsonl")
    _, turns = load_trace(tmp_path / "branch.jsonl")
    assert [t.turn for t in turns] == list(range(5)) and turns[1].legends == ["bank_run"]
