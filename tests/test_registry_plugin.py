"""A third-party world, installed the way a user installs one, shows up everywhere a built-in world does.

The test writes a tiny package with a "smallworlds.worlds" entry point, pip installs it into a temporary
target directory (no network, no build isolation, nothing left behind in the environment) and puts that
directory on sys.path for this process and on PYTHONPATH for the CLI.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from sim.checks import check_world
from sim.registry import get_world, world_names

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tinyworld"
version = "0.0.1"

[project.entry-points."smallworlds.worlds"]
tiny = "tinyworld:TinyWorld"
"""

MODULE = '''\
"""A third-party world: the template's guessing game, between two named players."""
from worlds.template import GuessState, GuessWorld


class TinyWorld(GuessWorld):
    name = "tiny"

    def initial_state(self, rng) -> GuessState:
        return GuessState(turn=0, scores={"ann": 0, "bob": 0})
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugin")
    (root / "src").mkdir()
    (root / "src" / "pyproject.toml").write_text(PYPROJECT)
    (root / "src" / "tinyworld.py").write_text(MODULE)
    target = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--disable-pip-version-check", "--target", str(target), str(root / "src")],
                   check=True, capture_output=True, timeout=120)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()  # entry points are read from sys.path; forget the old listing
    yield target
    sys.path.remove(str(target))
    sys.modules.pop("tinyworld", None)
    importlib.invalidate_caches()
    assert "tiny" not in world_names()  # nothing leaks into the other tests


def test_an_installed_world_is_registered(site):
    assert {"commons", "template", "tiny", "wood"} <= set(world_names())
    assert get_world("tiny")().initial_state(None).scores == {"ann": 0, "bob": 0}


def test_it_passes_check_world(site):
    check_world(get_world("tiny")(), seed=0, turns=10)


def test_the_cli_runs_it(site, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "sim", "run", "--world", "tiny", "--turns", "4",
                           "--out", str(tmp_path / "run"), "--quiet"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "run" / "trace.jsonl").read_text().splitlines()) == 1 + 4  # header + 4 turns
