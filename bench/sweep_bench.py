"""Sweep throughput with the scripted policy: episodes per minute with 1 and 2 worker processes.

    python -m bench.sweep_bench [--world wood] [--agents 5] [--turns 30] [--seeds 20] [--workers 1,2] [--json PATH]

Each setting runs the real `python -m sim sweep` path in this process (pool start-up, trace writing and
results.jsonl included) into a fresh directory. The load average is recorded with the numbers: on a shared
machine other work on the cores shows up as lower throughput.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

from bench.machine import machine_info
from sim.cli import main as cli


def episodes_per_minute(world: str, agents: int, turns: int, seeds: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        code = cli(["sweep", "--world", world, "--set", f"agents={agents}", "--seeds", f"0-{seeds - 1}",
                    "--turns", str(turns), "--workers", str(workers), "--out", out, "--quiet"])
        seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"the sweep with {workers} workers exited with {code}")
    return {"workers": workers, "episodes": seeds, "seconds": round(seconds, 3),
            "episodes_per_minute": round(60 * seeds / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--world", default="wood")
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--json", default=str(Path(__file__).with_suffix(".json")),
                        help="where to write the numbers and machine info (default: bench/sweep_bench.json)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = [episodes_per_minute(args.world, args.agents, args.turns, args.seeds, int(w))
            for w in args.workers.split(",")]
    print(f"{args.world}, {args.agents} agents, {args.turns} turns, {args.seeds} seeds, scripted policy")
    print("| workers | seconds | episodes/min |")
    print("|---:|---:|---:|")
    for r in rows:
        print(f"| {r['workers']} | {r['seconds']:.2f} | {r['episodes_per_minute']:.0f} |")
    result = {"bench": "sweep", "world": args.world, "agents": args.agents, "turns": args.turns,
              "rows": rows, "machine": {**machine_info(), "loadavg_before": load_before}}
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
