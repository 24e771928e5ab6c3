"""Sweep throughput with the scripted policy: episodes per minute on each executor, its start-up, its cost per
cell over an episode run in this process, and what a 1000-cell sweep would take.

    python -m bench sweep [--world wood] [--agents 5] [--turns 30] [--seeds 200] [--runs pool:1,pool:2,ray:2]
                          [--json PATH]

Each run is a real sweep into a fresh directory through the executor named (sim.executors: pool worker
processes, or a local Ray cluster of that many CPUs that the run starts and stops), with results.jsonl and
the summary written as `python -m sim sweep` writes them. From the time the first cell came back and the
rate after it: start-up (pool or cluster start, minus one episode) and steady throughput; overhead per cell is
the CPU-seconds a cell took beyond the same episode in this process (`pool:1` runs cells in this process,
so its overhead is ~0). The load average is recorded: on a shared machine other work shows up as lower
throughput.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Iterator

from bench.machine import machine_info
from sim import executors, sweep
from sim.config import RunConfig

PLANNED = 1000  # the sweep size the table prices


def measure(world: str, agents: int, turns: int, seeds: int, executor: str, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        cells = sweep.make_cells(RunConfig(world=world, turns=turns), [{"agents": agents}], list(range(seeds)), out)
        runner = executors.make(executor, executors.ExecutorOptions(out=Path(out), workers=workers))
        marks: list[float] = []
        start = time.perf_counter()
        failed = sweep.collect(_timed(runner.run(cells), marks), len(cells), Path(out), quiet=True)
        seconds = time.perf_counter() - start
        episode = statistics.median(row["seconds"] for row in sweep.iter_results(out))
    if failed:
        raise SystemExit(f"{failed} cells failed on {executor}:{workers}")
    first = marks[0] - start
    steady = (seeds - 1) / (marks[-1] - marks[0]) if seeds > 1 and marks[-1] > marks[0] else seeds / seconds
    return {"executor": executor, "workers": workers, "episodes": seeds, "seconds": round(seconds, 3),
            "episodes_per_minute": round(60 * seeds / seconds, 1),
            "start_seconds": round(max(0.0, first - episode), 3),
            "steady_episodes_per_minute": round(60 * steady, 1),
            "episode_seconds": round(episode, 4),
            "sweep_1000_minutes": round((max(0.0, first - episode) + PLANNED / steady) / 60, 2)}


def _timed(outcomes: Iterator, marks: list[float]) -> Iterator:
    for outcome in outcomes:
        marks.append(time.perf_counter())
        yield outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--world", default="wood")
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--runs", default="pool:1,pool:2,ray:2", help="EXECUTOR:WORKERS, comma separated")
    parser.add_argument("--json", default=str(Path(__file__).with_suffix(".json")),
                        help="where to write the numbers and machine info (default: bench/sweep_bench.json)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = []
    for run in args.runs.split(","):
        name, _, workers = run.partition(":")
        rows.append(measure(args.world, args.agents, args.turns, args.seeds, name, int(workers or 1)))
    base = next((r["episode_seconds"] for r in rows if (r["executor"], r["workers"]) == ("pool", 1)),
                min(r["episode_seconds"] for r in rows))
    for r in rows:  # CPU-seconds a cell costs beyond its episode run in this process
        r["overhead_ms_per_cell"] = round(1000 * (60 * r["workers"] / r["steady_episodes_per_minute"] - base), 1)
    print(f"{args.world}, {args.agents} agents, {args.turns} turns, {args.seeds} seeds, scripted policy; "
          f"one episode in this process: {1000 * base:.0f} ms")
    print(f"| executor | workers | seconds | episodes/min | start s | steady episodes/min | overhead ms/cell "
          f"| {PLANNED} cells, min |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['executor']} | {r['workers']} | {r['seconds']:.2f} | {r['episodes_per_minute']:.0f} "
              f"| {r['start_seconds']:.1f} | {r['steady_episodes_per_minute']:.0f} | {r['overhead_ms_per_cell']:.0f} "
              f"| {r['sweep_1000_minutes']:.1f} |")
    result = {"bench": "sweep", "world": args.world, "agents": args.agents, "turns": args.turns,
              "rows": rows, "machine": {**machine_info(), "loadavg_before": load_before,
                                        "loadavg_after": os.getloadavg()}}
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
