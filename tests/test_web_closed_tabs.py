"""Tabs that close while their world plays (issue 28, item 6): the demo served for real on loopback, tabs in
headless Chromium that press Start and close. Before the fix their sessions stayed "playing" for good, so
the pool never closed them and kept more worlds than its limit; and a demo stopped with SIGTERM left every
session folder in the temp directory."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import chromium, free_port

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
TABS = 3
KEPT = 1
GRACE = 0.5


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_a_tab_closed_while_playing_stops_playing_and_the_pool_closes_its_world():
    from gradio_client import Client

    from render.web.demo import build_demo
    from render.web.session import Sessions

    sessions = Sessions(limit=KEPT, grace_s=GRACE)
    port = free_port()
    demo = build_demo(policy="scripted", sessions=sessions)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        played = []
        with chromium() as browser:
            for _ in range(TABS):
                page = browser.new_page()
                page.goto(url)
                page.click("#start")
                page.wait_for_function("document.querySelectorAll('#log .turn').length >= 2", timeout=60_000)
                played += [s for s in sessions.live.values() if s not in played]
                page.close()  # the tab goes while its world plays
        assert len(played) == TABS
        assert _wait(lambda: not any(s.playing for s in played), 30), "a closed tab's world plays on"
        time.sleep(GRACE)
        newcomer = Client(url, verbose=False)
        newcomer.predict("wood", 5, 99, "scripted", "auto", "", api_name="/step")
        newcomer.close()
        assert len(sessions.live) == KEPT  # the newcomer alone: every closed tab's world was closed
        assert all(s.closed and not s.dir.exists() for s in played)
    finally:
        demo.close()


def test_sigterm_removes_every_session_and_branch_folder(tmp_path: Path):
    from gradio_client import Client

    port = free_port()
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    app = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--policy", "scripted"], cwd=tmp_path, env=env,
                           stdout=subprocess.DEVNULL, stderr=open(tmp_path / "app.log", "w"))
    try:
        url = f"http://127.0.0.1:{port}/"
        assert _wait(lambda: app.poll() is not None or _answers(url), 120), "the demo never answered"
        clients = [Client(url, verbose=False) for _ in range(2)]
        for seed, client in enumerate(clients):
            for _ in range(3):
                client.predict("wood", 5, seed, "scripted", "auto", "", api_name="/step")
        clients[0].predict(1, None, 2, api_name="/branch")
        ours = lambda: [p for p in temp.rglob("*") if p.name.startswith("smallworlds-")]  # noqa: E731
        assert len(ours()) >= 4  # the pool's folder, two sessions' and a branch's
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=120)
        assert ours() == []
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(timeout=60)


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False
