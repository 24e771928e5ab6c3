"""Engine cost per turn with the scripted policy: everything but the model, for 5 to 10 000 agents.

    python -m bench.engine_bench [--agents 5,50,500,1000,10000] [--turns 20] [--json out.json]

Reports the median turn time (ms) after two warm-up turns, without and with the trace being written, the
part of it spent in the scripted policy (the heuristic that stands in for the model), and the time per agent
so linear growth is visible. Then the cost of checking each reply against its agent's own schema (part of
the engine time above): per reply with its check compiled, and per distinct schema compiled.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from agents.policies import scripted
from bench.machine import write_result
from sim import Engine
from sim import parse as parsing
from sim.policy import Ask, PolicyOptions
from worlds.commons import CommonsWorld
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


def schema_us(world, repeats: int = 20) -> dict:
    """µs per reply spent in the schema step of sim.parse (check compiled), the µs to compile one schema,
    and how many distinct schemas the agents of one state have."""
    state = world.initial_state(np.random.default_rng(1))
    rng = np.random.default_rng(2)
    asks = [Ask(world, state, a, 0) for a in world.agents(state)]
    actions = [world.Action.model_validate(ask.heuristic(rng)) for ask in asks]
    for ask in asks:
        ask.schema  # computed once, as the engine does for a model backend
    parsing._COMPILED.clear()
    start = time.perf_counter()
    for ask, action in zip(asks, actions):
        parsing._outside_schema(world, state, ask.agent, action, ask)
    cold = time.perf_counter() - start
    distinct = len(parsing._COMPILED)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for ask, action in zip(asks, actions):
            parsing._outside_schema(world, state, ask.agent, action, ask)
        times.append(time.perf_counter() - start)
    warm = statistics.median(times) / len(asks)
    return {"world": world.name, "agents": len(asks), "distinct_schemas": distinct,
            "us_per_reply": round(1e6 * warm, 1),
            "us_per_compile": round(1e6 * max(0.0, cold - warm * len(asks)) / max(distinct, 1), 1)}


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
    schemas = [schema_us(WoodWorld(agents=50)), schema_us(CommonsWorld(agents=50))]
    print("\n| world | agents | distinct schemas | µs per reply (schema check) | µs per schema compiled |")
    print("|---|---:|---:|---:|---:|")
    for r in schemas:
        print(f"| {r['world']} | {r['agents']} | {r['distinct_schemas']} | {r['us_per_reply']} | "
              f"{r['us_per_compile']} |")
    write_result(args.json, "engine", rows=rows, schema_check=schemas)


if __name__ == "__main__":
    main()
