"""The web demo for real: served on loopback, driven in headless Chromium (Playwright) and through the
streaming API (gradio_client)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import chromium_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(scripted_demo):
    return scripted_demo


def turns_in_log(page) -> int:
    return page.locator("#log .turn").count()


def test_page_plays_injects_and_downloads(server, tmp_path: Path):
    from sim.trace import load_trace

    with chromium_page(server, accept_downloads=True) as page:
        page.locator("#start").wait_for()
        page.screenshot(path=tmp_path / "01-loaded.png")

        page.click("#start")
        page.wait_for_function("document.querySelectorAll('#log .turn').length >= 3", timeout=30_000)
        assert page.locator("#scene img").count() == 1
        page.screenshot(path=tmp_path / "02-playing.png", full_page=True)

        page.locator("#legend input").click()
        page.get_by_role("option", name="bank_run").click()
        page.click("#tell")
        page.wait_for_function("document.querySelector('#log').innerText.includes('legend: bank_run')",
                               timeout=30_000)
        page.wait_for_timeout(1500)  # a turn or two under the legend, for the screenshot
        page.screenshot(path=tmp_path / "03-legend.png", full_page=True)

        page.click("#pause")
        # "pausing after this turn" first; the final " · paused" comes with the downloadable trace
        page.wait_for_function("document.querySelector('#status').innerText.includes('ready to download')",
                               timeout=30_000)
        shown = turns_in_log(page)
        assert shown >= 3
        with page.expect_download(timeout=30_000) as download:
            page.click("#download")
        saved = tmp_path / "trace.jsonl"
        download.value.save_as(saved)
        header, turns = load_trace(saved)
        assert header["config"]["world"] == "wood"
        assert len(turns) >= 3
        assert any("bank_run" in t.legends for t in turns)


def test_streaming_api(server):
    client_mod = pytest.importorskip("gradio_client")
    client = client_mod.Client(server, verbose=False)
    job = client.submit(0.0, "wood", 8, 3, "scripted", "auto", "", api_name="/play")
    turns = 0
    deadline = time.monotonic() + 60
    for out in job:
        log = out[2]
        if isinstance(log, str) and 'class="turn"' in log:
            turns = log.count('class="turn"')
        if turns >= 3 or time.monotonic() > deadline:
            break
    client.predict(api_name="/pause")
    final = job.result(timeout=60)  # a generator's last yield (job.outputs() may not hold it yet)
    assert turns >= 3
    assert "ready to download" in final[4]
    assert Path(final[5]).read_bytes().startswith(b'{"kind":"header"')


def test_a_backend_that_cannot_start_stops_the_world_and_offers_the_scripted_policy(server):
    """No world of no-ops: the page says what failed and how to fix it, plays no turn, and shows the way out."""
    client_mod = pytest.importorskip("gradio_client")
    client = client_mod.Client(server, verbose=False)
    # the openai backend with no server URL cannot start
    job = client.submit(0.0, "wood", 5, 1, "llm", "openai", "", api_name="/play")
    final = job.result(timeout=120)
    assert "backend problem" in final[4] and "--url" in final[4] and "scripted" in final[4]
    assert 'class="turn"' not in (final[2] or "")


@pytest.mark.parametrize("agents, seed, said", [(5, -1, "seed: choose 0 to 9223372036854775807"),
                                                (5, 2**70, "seed: choose 0 to 9223372036854775807"),
                                                (0, 1, "creatures: choose 1 to 1000")])
def test_numbers_out_of_range_are_one_line_naming_the_box(server, agents, seed, said):
    """A seed or a creature count out of range, typed or sent through the API, is refused in one line that
    names the box and its range (not Gradio's generic error), and no world starts."""
    from gradio_client import Client

    client = Client(server, verbose=False)
    try:
        job = client.submit(0.0, "wood", agents, seed, "scripted", "auto", "", api_name="/play")
        with pytest.raises(Exception, match=said) as err:
            job.result(timeout=60)
        assert "\n" not in str(err.value).strip()
    finally:
        client.close()
