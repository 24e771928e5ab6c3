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
# 400 creatures: each turn writes a large state (so kills land mid-write) and the run outlasts three kills, while
# five whole runs stay within a few minutes on two cores (the second act's deals make a turn dearer)
ARGS = ["--agents", "400", "--turns", str(TURNS), "--seed", "11", "--legend", "early_frost@5", "--quiet"]


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
    assert not list(out.glob("*.tmp"))  # a kill mid atomic write leaves a temporary file; reopening removes it


def test_killed_between_its_first_turn_line_and_checkpoint_it_resumes_from_turn_0(tmp_path):
    """The checkpoint written with the header still stands when a kill lands after the first turn line:
    resume cuts that line and plays turn 0 again, once."""
    from agents.policies import scripted
    from sim import Engine
    from sim.cli import main
    from sim.config import RunConfig

    config = RunConfig(seed=4, turns=3)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main(["run", "--quiet", "--turns", "3", "--seed", "4", "--out", str(whole)]) == 0
    engine = Engine(config.make_world(), scripted(config.options()), seed=4, out=cut, config=config.to_json())
    at_start = (cut / "checkpoint.json").read_bytes()
    engine.step()
    (cut / "checkpoint.json").write_bytes(at_start)  # as if killed before the turn's checkpoint replaced it
    (cut / "checkpoint.json.kill.tmp").write_bytes(b"{")  # and mid-way through writing it
    assert main(["run", "--quiet", "--turns", "3", "--resume", "--out", str(cut)]) == 0
    assert [t.state for t in iter_turns(cut / "trace.jsonl")] == [t.state for t in iter_turns(whole / "trace.jsonl")]
    assert not list(cut.glob("*.tmp"))


def test_killed_before_its_first_checkpoint_it_starts_again(tmp_path):
    """A trace that holds only its header (killed before any checkpoint) lost nothing: --resume restarts it."""
    from sim.cli import main

    out = tmp_path / "run"
    assert main(["run", "--quiet", "--turns", "2", "--out", str(out)]) == 0
    whole = [t.state for t in iter_turns(out / "trace.jsonl")]
    header = (out / "trace.jsonl").read_bytes().splitlines(keepends=True)[0]
    (out / "trace.jsonl").write_bytes(header)
    (out / "checkpoint.json").unlink()
    assert main(["run", "--quiet", "--turns", "2", "--resume", "--out", str(out)]) == 0
    assert [t.state for t in iter_turns(out / "trace.jsonl")] == whole
