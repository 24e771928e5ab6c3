"""A run killed with SIGKILL at any moment, even mid-write, resumes from its checkpoint: the finished trace
parses line by line and equals an uninterrupted run's, with no turn lost or written twice."""
import json
import random
import signal
import subprocess
import sys
import time

import pytest

from sim.trace import iter_turns

TURNS = 80
ARGS = ["--agents", "1000", "--turns", str(TURNS), "--seed", "11", "--legend", "early_frost@5", "--quiet"]


def sim_run(out, *extra):
    return [sys.executable, "-m", "sim", "run", *ARGS, "--out", str(out), *extra]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    subprocess.run(sim_run(out), check=True, timeout=300)
    return [t.state for t in iter_turns(out / "trace.jsonl")]


@pytest.mark.parametrize("seed", range(4))
def test_sigkill_at_random_moments_then_resume(tmp_path, uninterrupted, seed):
    chance = random.Random(seed)
    out = tmp_path / "run"
    proc = subprocess.Popen(sim_run(out))
    kills = 0
    while kills < 3:
        time.sleep(chance.uniform(0.4, 1.2))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        proc = subprocess.Popen(sim_run(out, "--resume"))
    assert proc.wait(timeout=300) == 0
    assert kills >= 2, "the run ended before it could be killed: make it longer"
    lines = (out / "trace.jsonl").read_bytes().splitlines()
    assert all(json.loads(line) for line in lines)  # every line parses
    turns = list(iter_turns(out / "trace.jsonl"))
    assert [t.turn for t in turns] == list(range(TURNS))
    assert [t.state for t in turns] == uninterrupted
