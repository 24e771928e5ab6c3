import os
import socket
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

# vLLM's own log handlers hold the stream pytest captured at import time and fail once pytest closes it
os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")

from agents.policies import scripted
from sim import Engine
from sim.policy import PolicyOptions
from worlds.wood import WoodWorld


@pytest.fixture
def wood():
    return WoodWorld(agents=5)


def run_wood(turns=30, seed=7, agents=5, policy=None, **engine_kwargs):
    """A scripted wood run, as a list of Turn records."""
    world = WoodWorld(agents=agents)
    policy = policy or scripted(PolicyOptions(seed=seed))
    return list(Engine(world, policy, seed=seed, **engine_kwargs).run(turns))


@pytest.fixture
def rng():
    return np.random.default_rng(0)



def free_port() -> int:
    """A TCP port nothing listens on right now, for servers the tests start on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plugin_pyproject(name: str, worlds: dict[str, str], modules: bool = True) -> str:
    """The pyproject.toml of a throwaway package that registers `worlds` ({world name: "module:Class"}) under
    the "smallworlds.worlds" entry point group; `modules=False` ships no module (the class lives in tests/)."""
    points = "".join(f'{world} = "{target}"\n' for world, target in worlds.items())
    tail = "" if modules else "\n[tool.setuptools]\npy-modules = []\n"
    return ('[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{name}"\nversion = "0.0.1"\n\n[project.entry-points."smallworlds.worlds"]\n'
            f"{points}{tail}")


@contextmanager
def installed_plugin(root: Path, pyproject: str, modules: dict[str, str] | None = None):
    """A package installed the way a user installs one (pip, no network, no build isolation) into a target
    folder under `root`, on sys.path while the block runs: its worlds are registered by entry point. Yields
    the folder (put it on PYTHONPATH for a CLI in another process); afterwards nothing of it is left."""
    import importlib
    import subprocess
    import sys

    (root / "src").mkdir()
    (root / "src" / "pyproject.toml").write_text(pyproject)
    for filename, text in (modules or {}).items():
        (root / "src" / filename).write_text(text)
    target = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--disable-pip-version-check", "--target", str(target), str(root / "src")],
                   check=True, capture_output=True, timeout=120)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()  # entry points are read from sys.path; forget the old listing
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        for filename in modules or {}:
            sys.modules.pop(filename.removesuffix(".py"), None)
        importlib.invalidate_caches()


def plugin_cli(site: Path, *args: str, timeout: float = 180):
    """`python -m sim ARGS` in another process that finds the worlds of an installed_plugin folder `site`."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "sim", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def process_tree(root: int) -> set[int]:
    """Every live process below `root`, from /proc (for tests that check nothing outlives what they stop)."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parent[int(name)] = int(fields[1])
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


CHROMIUM = "/usr/bin/chromium"  # Debian's, which .ci/run installs; Playwright drives it and downloads none
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium():
    """Headless Chromium (Debian's, driven by Playwright, which downloads none), for a test that opens pages
    itself (several tabs); the test is skipped where either is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chromium_page(url: str, **page_options):
    """A page of headless Chromium (see `chromium`) open at `url`, 1400 x 1000 unless `viewport` says otherwise."""
    with chromium() as browser:
        page = browser.new_page(**{"viewport": {"width": 1400, "height": 1000}, **page_options})
        page.goto(url)
        yield page


@pytest.fixture(scope="module")
def scripted_demo():
    """The web demo with the scripted policy, served for real on loopback: yields its URL."""
    pytest.importorskip("gradio")
    from render.web.demo import build_demo

    port = free_port()
    demo = build_demo(policy="scripted")
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def played_in_window(config, turns: int = 6):
    """`config`'s world played live in the desktop window (SDL's dummy display) for 40 frames at two frames a
    turn: returns the Player, whose `turn` is the last one it drew."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pygame = pytest.importorskip("pygame")
    from render.window import viewer as window

    source = window.LiveTurns(config, turns=turns)
    player = window.Player(source, frames_per_turn=2)
    try:
        window.loop(player, window.open_window((320, 200)), frames=40, fps=1000)
    finally:
        source.close()
        pygame.display.quit()
    return player


def web_session_frame(config, size=(320, 200)):
    """One turn of `config`'s world in a web demo Session, drawn as the page draws it: the image."""
    pytest.importorskip("gradio")
    from render.paint.scene import draw
    from render.web.session import Session

    session = Session(config, None)
    try:
        return draw(session.step(), size=size, portray=session.portray)
    finally:
        session.close()
