"""Sweeps: the pool gives the same numbers as one process, a killed sweep resumes without redoing cells, a
cell is exactly a `python -m sim run`, and a bad grid is one line and exit code 2."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim import sweep
from sim.cli import main
from sim.config import RunConfig
from sim.world import World
from sim.trace import iter_turns, read_header

VARYING = ("seconds", "trace")  # wall time and location differ between two runs of the same cell


def same_numbers(out: Path) -> dict[str, dict]:
    return {row["key"]: {k: v for k, v in row.items() if k not in VARYING} for row in sweep.iter_results(out)}


def run_sweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", "sweep", "--quiet", *args],
                          capture_output=True, text=True, timeout=120)


def test_two_workers_match_one(tmp_path):
    grid = ["--set", "agents=3,6", "--seeds", "0-3", "--turns", "8", "--quiet"]
    assert main(["sweep", *grid, "--workers", "1", "--out", str(tmp_path / "one")]) == 0
    assert main(["sweep", *grid, "--workers", "2", "--out", str(tmp_path / "two")]) == 0
    one, two = same_numbers(tmp_path / "one"), same_numbers(tmp_path / "two")
    assert len(one) == 8 and one == two
    summary = (tmp_path / "two" / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("agents,n,last.gini_mean,last.gini_std") and len(summary) == 3
    assert "mean.prices.honey_mean" in summary[0] and "survived" not in summary[0]  # every number; the wood never ends

    frame = sweep.load(tmp_path / "two")
    assert len(frame) == 8 and {"agents", "seed", "last.gini", "mean.trades", "noop_rate", "trace"} <= set(frame.columns)
    assert sorted(frame["agents"].unique()) == [3, 6]


def killed_mid_sweep(args: list[str], results: Path) -> tuple[bytes, int]:
    """Start `sim sweep ARGS` (60 cells), SIGKILL it once three cells are written; return the finished lines
    of results.jsonl and how many there are."""
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", "--quiet", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (results.exists() and results.read_bytes().count(b"\n") >= 3):
            assert proc.poll() is None and time.monotonic() < deadline, "the sweep ended before it could be killed"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = results.read_bytes()
    finished = before[: before.rfind(b"\n") + 1]
    n_done = finished.count(b"\n")
    assert 3 <= n_done < 60, "the kill must land mid-sweep"
    return finished, n_done


def test_killed_sweep_resumes_and_skips_finished_cells(tmp_path):
    out = tmp_path / "sweep"
    args = ["--set", "agents=4", "--seeds", "0-59", "--turns", "10", "--workers", "1", "--out", str(out)]
    results = out / sweep.RESULTS
    finished, n_done = killed_mid_sweep(args, results)
    results.write_bytes(finished + b'{"key": "agents=4 se')  # a line torn by the kill

    again = run_sweep(*args)
    assert again.returncode == 0, again.stderr
    assert f"{n_done} cells already finished, {60 - n_done} to run" in again.stderr
    after = results.read_bytes()
    assert after.startswith(finished), "finished cells were rewritten"
    keys = [json.loads(line)["key"] for line in after.splitlines()]
    assert len(keys) == len(set(keys)) == 60


def test_episode_is_a_plain_run(tmp_path):
    flags = ["--world", "wood", "--agents", "7", "--set", "pebbles=15", "--seed", "3", "--turns", "12"]
    assert main(["run", *flags, "--out", str(tmp_path / "run"), "--quiet"]) == 0
    base = RunConfig(world="wood", turns=12)
    [cell] = sweep.make_cells(base, [{"agents": 7, "pebbles": 15}], [3], tmp_path / "sweep")
    row = sweep.run_episode(cell)

    plain, episode = tmp_path / "run" / "trace.jsonl", Path(row["trace"])
    assert read_header(plain)["config"] == read_header(episode)["config"]
    turns_a, turns_b = list(iter_turns(plain)), list(iter_turns(episode))
    assert len(turns_a) == len(turns_b) == row["turns"] == 12
    for a, b in zip(turns_a, turns_b):
        assert a.state == b.state and a.events == b.events
        assert {k: v for k, v in a.metrics.items() if k != "turn_seconds"} == \
               {k: v for k, v in b.metrics.items() if k != "turn_seconds"}
    last = turns_a[-1].metrics
    assert row["last"]["gini"] == last["gini"] and row["last"]["prices.honey"] == last["prices"]["honey"]
    assert row["mean"]["trades"] == pytest.approx(sum(t.metrics["trades"] for t in turns_a) / 12, abs=1e-6)
    assert row["noop_rate"] == 0.0 and "survived" not in row  # the wood never ends early


def test_a_world_that_can_end_reports_survival_and_its_own_numbers(tmp_path, capsys):
    out = tmp_path / "lake"
    assert main(["sweep", "--world", "commons", "--set", "growth=0.05,0.4", "--seeds", "0-1", "--turns", "25",
                 "--workers", "1", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out.splitlines()[0].split()
    assert printed[:2] == ["growth", "n"] and printed[2:] == ["last.stock", "mean.harvest", "last.gini", "noop_rate",
                                                            "survived", "turns"]
    frame = sweep.load(out)
    assert {"last.stock", "mean.sustainability", "survived"} <= set(frame.columns)
    assert frame.groupby("growth")["last.stock"].mean().loc[0.05] < frame.groupby("growth")["last.stock"].mean().loc[0.4]


def test_agents_is_the_agents_axis_as_in_run(tmp_path):
    """`--agents 3,6` sweeps what `--set agents=3,6` does (and `run` takes `--agents` the same way)."""
    grid = ["--world", "commons", "--seeds", "0-1", "--turns", "4", "--workers", "1", "--quiet"]
    assert main(["sweep", *grid, "--agents", "3,6", "--out", str(tmp_path / "flag")]) == 0
    assert main(["sweep", *grid, "--set", "agents=3,6", "--out", str(tmp_path / "set")]) == 0
    flag, by_set = same_numbers(tmp_path / "flag"), same_numbers(tmp_path / "set")
    assert len(flag) == 4 and flag == by_set
    assert {row["point"]["agents"] for row in flag.values()} == {3, 6}


def test_a_world_without_a_headline_shows_its_first_numbers():
    class Plain(World):
        pass

    row = {"last": {"score": 1.0, "llm_calls": 0.0, "valid": 3.0, "target": 2.0, "spread": 1.0, "rounds": 4.0}}
    assert sweep.headline(Plain, row) == ["last.score", "last.target", "last.spread", "noop_rate"]


@pytest.mark.parametrize("grid, says", [
    (["--seeds", "9-1"], "runs backwards"),
    (["--seeds", ","], "grid is empty"),
    (["--set", "colour=red,blue"], "unknown key 'colour'"),
    (["--set", "agents="], "grid is empty"),
    (["--set", "agents=0,5"], "at least 1"),
    (["--agents", "0"], "at least 1"),
    (["--agents", "3", "--set", "agents=4"], "both give the agent counts"),
])
def test_bad_grid_is_one_line(tmp_path, capsys, grid, says):
    assert main(["sweep", *grid, "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()


def test_bad_grid_exit_code_from_the_shell(tmp_path):
    done = run_sweep("--seeds", "x-3", "--out", str(tmp_path / "bad"))
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
