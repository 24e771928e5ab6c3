"""The winter fuel crisis is visible at a glance in the web demo while a model council plays: served for real on
loopback, the embedded model deciding on vLLM, driven in headless Chromium through the first winter."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import chromium_page, free_port

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]

WINTER_HEAD = re.compile(r"Turn \d+ · Winter · (no one cold|\d+ of 5 cold) · firewood \d+\.\d( [▲▼])? · "
                         r"woodcutter Thorn \d+ pebbles")


@pytest.fixture(scope="module")
def model_demo():
    pytest.importorskip("gradio")
    from app import build_demo

    port = free_port()
    demo = build_demo(policy="llm", backend="auto")
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_a_model_council_plays_into_winter_and_the_page_says_who_is_cold(model_demo, tmp_path: Path):
    from sim.trace import load_trace

    with chromium_page(model_demo, accept_downloads=True) as page:
        page.locator("#start").wait_for()
        page.click("#start")
        # the model starts (converted and compiled on a fresh machine) and plays turn by turn; the first
        # winter's turns are 15-19, and the head of the turn before them already tells of the snow
        page.wait_for_function("document.querySelector('#log').innerText.includes('Autumn · winter next turn')",
                               timeout=600_000)
        page.wait_for_function("(document.querySelector('#log').innerText.match(/· Winter ·/g) || []).length >= 3",
                               timeout=300_000)
        page.click("#pause")
        page.wait_for_function("document.querySelector('#status').innerText.includes('ready to download')",
                               timeout=120_000)
        page.screenshot(path=tmp_path / "winter.png", full_page=True)
        log = page.locator("#log").inner_text()
        cold_cards = page.locator("#cards .card", has_text="❄").count()
        with page.expect_download(timeout=30_000) as download:
            page.click("#download")
        saved = tmp_path / "trace.jsonl"
        download.value.save_as(saved)
    header, turns = load_trace(saved)
    assert {a["backend"] for a in header["agents"].values()} == {"vllm"}  # a model decided, not the heuristic
    # the log lists the newest turn first: its head tells the winter as the last recorded state has it
    newest = WINTER_HEAD.search(log)
    assert newest, log[:2000]
    last = turns[-1]
    cold_now = sum(1 for c in last.state["cold"] if c)
    assert newest.group(0).startswith(f"Turn {last.turn} · Winter")
    assert newest.group(1) == (f"{cold_now} of 5 cold" if cold_now else "no one cold")
    assert cold_cards == cold_now  # each cold creature's card carries the snowflake, and no other's
