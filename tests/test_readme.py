"""What README.md promises a newcomer on a fresh machine, run for real.

`.ci/run` runs this file first in a venv holding nothing but the README's quick-start install and a test
runner, so a package that only the dev extra (or something left on the machine) supplies cannot make it pass.
The core-only install gets a venv of its own here.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from tests.conftest import BROWSER_ARGS, CHROMIUM, alive, free_port, process_tree

ROOT = Path(__file__).resolve().parents[1]
# a no-op whose reason says the model could not be had at all (as opposed to a reply the model got wrong)
NO_MODEL = re.compile(r"missing|not installed|unavailable|could not load|no module", re.I)


def quick_start() -> list[str]:
    """The commands of the README's quick start (its first bash block), split at && and ;."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", text, re.S).group(1)
    return [c.strip() for c in re.split(r"&&|;|\n", block) if c.strip()]


def test_ci_installs_exactly_what_the_quick_start_installs():
    ci = (ROOT / ".ci" / "run").read_text().replace(" -q", "")  # CI installs quietly; otherwise the same
    commands = quick_start()
    installs = [c for c in commands if c.startswith("pip ")]
    assert len(installs) == 3, commands
    phase_one = ci[: ci.index("python -m pytest tests/test_readme.py")]
    for command in installs:
        assert f"python -m {command}" in phase_one, command
    assert commands[-1] == "python app.py"


def test_the_readme_test_command_is_what_ci_runs():
    text = (ROOT / "README.md").read_text()
    assert "bash .ci/run" in text
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("python -m pytest -q")


# --- the core install: pip install smallworlds, no extras ---------------------------------------------
@pytest.fixture(scope="module")
def core_python(tmp_path_factory) -> Path:
    """A venv with the distribution built from this checkout and nothing else."""
    where = tmp_path_factory.mktemp("core-venv")
    venv.create(where, with_pip=True, clear=True)
    python = where / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return python


def core(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(python), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


@pytest.mark.slow
def test_core_install_runs_replays_and_checks_every_world(core_python, tmp_path):
    # outside the checkout, so only the installed distribution can be imported
    listed = core(core_python, "-c", "import sim.registry as r; print(' '.join(r.world_names()))", cwd=tmp_path)
    worlds = listed.stdout.split()
    assert {"wood", "commons", "template"} <= set(worlds), listed.stderr
    for world in worlds:
        out = tmp_path / world
        ran = core(core_python, "-m", "sim", "run", "--world", world, "--policy", "scripted", "--turns", "4",
                   "--out", str(out), "--quiet", cwd=tmp_path)
        assert ran.returncode == 0, ran.stderr[-2000:]
        replayed = core(core_python, "-m", "sim", "replay", str(out / "trace.jsonl"), cwd=tmp_path)
        assert replayed.returncode == 0 and "every state identical" in replayed.stdout, replayed.stderr[-2000:]
    checked = core(core_python, "-c", "import sim.registry as r; from sim.checks import check_world\n"
                   "for n in r.world_names(): check_world(r.get_world(n)()); print('ok', n)", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert checked.stdout.split().count("ok") == len(worlds)


@pytest.mark.slow
def test_core_install_names_the_extra_a_command_needs(core_python, tmp_path):
    helped = core(core_python, "-m", "sim", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and re.search(r"view\s+watch a trace", helped.stdout), helped.stdout
    core(core_python, "-m", "sim", "run", "--turns", "1", "--out", str(tmp_path / "r"), "--quiet", cwd=tmp_path)
    for argv, extra in ((["view", str(tmp_path / "r" / "trace.jsonl")], "viewers"),
                        (["run", "--policy", "llm", "--backend", "embedded", "--turns", "1", "--out",
                          str(tmp_path / "m")], "cpu"),
                        (["run", "--policy", "llm", "--backend", "openai", "--url", "http://127.0.0.1:9/v1",
                          "--turns", "1", "--out", str(tmp_path / "h")], "http"),
                        (["sweep", "--executor", "ray", "--seeds", "0", "--out", str(tmp_path / "s")], "ray")):
        failed = core(core_python, "-m", "sim", *argv, cwd=tmp_path)
        lines = failed.stderr.strip().splitlines()
        assert failed.returncode == 2 and len(lines) == 1, failed.stderr[-2000:]
        assert lines[0].startswith("error:") and f"smallworlds[{extra}]" in lines[0], lines


# --- the quick start's install: the embedded model for real ---------------------------------------------
@pytest.mark.model
def test_quick_start_model_turn_on_the_command_line(tmp_path):
    out = tmp_path / "llm"
    ran = subprocess.run([sys.executable, "-m", "sim", "run", "--policy", "llm", "--backend", "auto",
                          "--turns", "1", "--out", str(out), "--quiet"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=900)
    assert ran.returncode == 0, ran.stderr[-3000:]
    lines = (out / "trace.jsonl").read_text().splitlines()
    turn = json.loads(lines[1])
    assert turn["metrics"]["llm_calls"] == 1
    for d in turn["decisions"]:
        assert d["reply"] is not None and not NO_MODEL.search(d["reason"] or ""), d


@pytest.mark.model
@pytest.mark.browser
def test_quick_start_web_demo_plays_a_model_turn(tmp_path):
    """`python app.py` as the README starts it (defaults: the llm policy, backend auto), one turn in Chromium."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    app = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env,
                           stdout=subprocess.DEVNULL, stderr=open(tmp_path / "app.log", "w"))
    try:
        url = f"http://127.0.0.1:{port}/"
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            _open(page, url, app)
            page.click("#start")
            # while the model loads, the status ticks instead of sitting still
            page.wait_for_function("/· \\d+ s/.test(document.querySelector('#status').innerText)", timeout=120_000)
            page.wait_for_function("document.querySelectorAll('#log .turn').length >= 1", timeout=600_000)
            page.click("#pause")
            status = page.locator("#status").inner_text()
            page.screenshot(path=tmp_path / "first-model-turn.png", full_page=True)
            browser.close()
        assert "backend problem" not in status.lower(), status
        log = (tmp_path / "app.log").read_text()
        assert "backend: embedded" in log, log[-2000:]
        # stopping the demo takes its model engine with it, and any processes the engine runs apart
        engine = process_tree(app.pid)
        app.terminate()
        app.wait(timeout=120)
        deadline = time.monotonic() + 30
        while any(alive(p) for p in engine) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [p for p in engine if alive(p)], "engine processes outlived the demo"
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(timeout=60)


def _open(page, url: str, app: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert app.poll() is None, "app.py exited"
        try:
            page.goto(url)
            page.locator("#start").wait_for(timeout=5_000)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
