"""Engine cost per turn with the scripted policy: everything but the model, for 5 to 10 000 agents.

    python -m bench.engine_bench [--agents 5,50,500,1000,10000] [--turns 20] [--json out.json]

Reports the median turn time (ms) after two warm-up turns, without and with the trace being written, the
part of it spent in the scripted policy (the heuristic that stands in for the model), and the time per agent
so linear growth is visible.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from agents.policies import scripted
from bench.machine import write_result
from sim import Engine
from sim.policy import PolicyOptions
from worlds.wood import WoodWorld

WARMUP = 2


class Timed:
    """The scripted policy, with the time each decide takes."""

    def __init__(self, policy):
        self.policy, self.seconds = policy, []

    def decide(self, turn, asks):
        start = time.perf_counter()
        batch = self.policy.decide(turn, asks)
        self.seconds.append(time.perf_counter() - start)
        return batch

    def describe(self, asks):
        return self.policy.describe(asks)


def turn_ms(agents: int, turns: int, out: str | None) -> tuple[float, float]:
    """Median ms per turn, and median ms of it spent deciding."""
    policy = Timed(scripted(PolicyOptions(seed=1)))
    engine = Engine(WoodWorld(agents=agents), policy, seed=1, out=out)
    times = []
    for _ in range(turns + WARMUP):
        start = time.perf_counter()
        engine.step()
        times.append(time.perf_counter() - start)
    engine.close()
    return 1000 * statistics.median(times[WARMUP:]), 1000 * statistics.median(policy.seconds[WARMUP:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", default="5,50,500,1000,10000")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    for n in [int(x) for x in args.agents.split(",")]:
        turns = max(3, args.turns if n <= 1000 else args.turns // 4)
        with tempfile.TemporaryDirectory() as out:
            (bare, deciding), (traced, _) = turn_ms(n, turns, None), turn_ms(n, turns, out)
        rows.append({"agents": n, "turn_ms": round(bare, 2), "turn_ms_traced": round(traced, 2),
                     "scripted_policy_ms": round(deciding, 2), "engine_ms": round(bare - deciding, 2),
                     "us_per_agent": round(1000 * bare / n, 1)})
    print("| agents | ms/turn | with trace | of which scripted policy | engine alone | µs per agent |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['agents']} | {r['turn_ms']} | {r['turn_ms_traced']} | {r['scripted_policy_ms']} | "
              f"{r['engine_ms']} | {r['us_per_agent']} |")
    write_result(args.json, "engine", rows=rows)


if __name__ == "__main__":
    main()
