"""Engine cost per turn with the scripted policy: everything but the model, for 5 to 10 000 agents.

    python -m bench engine [--agents 5,50,500,1000,10000] [--turns 20] [--acts second|first|both]
                           [--phases 1000,10000] [--json out.json]

Reports the median turn time (ms) after two warm-up turns, without and with the trace being written, the
part of it spent in the scripted policy (the heuristic that stands in for the model), and the time per agent
so linear growth is visible; `--acts first` (or `both`) plays the wood without its second act (offers, loans,
memory), the economy the first version had. The scripted policy's replies take the engine's batch path (Reply.own,
World.own_actions). Then the per-agent cost of reading a reply: the model path (building each agent's schema,
checking the reply against it, and the whole parse of a reply's text) beside the batch path the scripted
replies take. Before the tables: the CPU (lscpu's model name, the flags a model turn depends on, then all its
flags) and the load; after them, where a turn's CPU time goes at the `--phases` agent counts (bench/engine_phases.py; "" for
none). Takes about a minute on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import orjson

from agents.cpu import cpu_flags
from agents.policies import scripted
from bench.engine_phases import phases
from bench.machine import machine_info, write_result
from sim import Engine
from sim.parse import parse, parse_all
from sim.policy import Ask, PolicyOptions, Reply, heuristics
from sim.schemas import valid
from worlds.commons import CommonsWorld
from worlds.wood import WoodWorld

WARMUP = 2
ACTS = {"second": (True,), "first": (False,), "both": (True, False)}  # --acts: the wood's second act on, off


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


def turn_ms(agents: int, turns: int, out: str | None, second_act: bool = True) -> tuple[float, float, float]:
    """Median ms per turn, median ms of it spent deciding, and the median CPU ms this process spent on a turn
    (on a shared machine the wall clock also counts the time other jobs held the cores)."""
    policy = Timed(scripted(PolicyOptions(seed=1)))
    engine = Engine(WoodWorld(agents=agents, second_act=second_act), policy, seed=1, out=out)
    times, cpu = [], []
    for _ in range(turns + WARMUP):
        start, started = time.perf_counter(), time.process_time()
        engine.step()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - started)
    engine.close()
    return tuple(1000 * statistics.median(x[WARMUP:]) for x in (times, policy.seconds, cpu))


def parse_us(label: str, world, repeats: int = 20) -> dict:
    """Per-agent cost of reading the scripted replies of one state, in µs of CPU. The model path: building the agent's
    schema (world.action_schema), checking the reply's action against it (sim.schemas.valid, part of parsing),
    and the whole parse of a reply with its schema built (text -> Action -> schema -> world.check -> Decision).
    The batch path: the same replies read as the world's own decisions (sim.parse.parse_all with Reply.own)."""
    state = world.initial_state(np.random.default_rng(1))
    rng = np.random.default_rng(2)
    agents = world.agents(state)
    asks = [Ask(world, state, a, 0) for a in agents]
    decided = heuristics(asks, rng)
    replies = [Reply(orjson.dumps(d).decode()) for d in decided]
    own = [Reply(r.text, own=d) for r, d in zip(replies, decided)]
    data = [world.Action.model_validate_json(r.text).model_dump(mode="json", by_alias=True) for r in replies]

    def per_agent(step) -> float:  # CPU time: a shared machine's other jobs do not count
        times = []
        for _ in range(repeats):
            start = time.process_time()
            step()
            times.append(time.process_time() - start)
        return round(1e6 * statistics.median(times) / len(agents), 1)

    built = per_agent(lambda: [world.action_schema(state, a) for a in agents])
    schemas = [ask.schema for ask in asks]  # computed once, as the engine does for a model backend
    checked = per_agent(lambda: [valid(schema, d) for schema, d in zip(schemas, data)])
    parsed = per_agent(lambda: [parse(r, world, state, ask.agent, ask) for r, ask in zip(replies, asks)])
    batch = per_agent(lambda: parse_all(own, world, state, agents, asks))
    return {"world": label, "agents": len(agents), "us_schema_built": built, "us_schema_check": checked,
            "us_parse": parsed, "us_batch": batch}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", default="5,50,500,1000,10000")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--acts", choices=ACTS, default="second",
                        help="the wood with its second act (the default), without it (first), or both")
    parser.add_argument("--json", default=None)
    parser.add_argument("--phases", default="1000,10000", help="agent counts to break a turn into phases at")
    args = parser.parse_args()
    machine, flags = machine_info(), sorted(cpu_flags())
    print(f"CPU: {machine['processor']}, {machine['cores']} cores ({' '.join(machine['cpu_features'])}); "
          f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\nflags: {' '.join(flags)}\n")
    rows = []
    for n in [int(x) for x in args.agents.split(",")]:
        turns = max(3, args.turns if n <= 1000 else args.turns // 4)
        for act in ACTS[args.acts]:
            with tempfile.TemporaryDirectory() as out:
                (bare, deciding, cpu), (traced, _, _) = turn_ms(n, turns, None, act), turn_ms(n, turns, out, act)
            rows.append({"agents": n, "second_act": act, "turn_ms": round(bare, 2), "turn_ms_traced": round(traced, 2),
                         "scripted_policy_ms": round(deciding, 2), "engine_ms": round(bare - deciding, 2),
                         "us_per_agent": round(1000 * bare / n, 1), "cpu_ms": round(cpu, 2)})
    print("| agents | second act | ms/turn | CPU ms/turn | with trace | of which scripted policy | engine alone "
          "| µs per agent |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['agents']} | {'on' if r['second_act'] else 'off'} | {r['turn_ms']} | {r['cpu_ms']} | "
              f"{r['turn_ms_traced']} | {r['scripted_policy_ms']} | {r['engine_ms']} | {r['us_per_agent']} |")
    parsing = [parse_us("wood", WoodWorld(agents=1000), repeats=5),
               parse_us("wood, second_act=false", WoodWorld(agents=1000, second_act=False), repeats=5),
               parse_us("commons", CommonsWorld(agents=50))]
    print("\n| world | agents | CPU µs per reply, model path: schema built | schema check | whole parse (schema built) "
          "| batch path (the world's own) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in parsing:
        print(f"| {r['world']} | {r['agents']} | {r['us_schema_built']} | {r['us_schema_check']} | {r['us_parse']} | "
              f"{r['us_batch']} |")
    breakdown = {}
    for n in [int(x) for x in args.phases.split(",") if x]:
        breakdown[n] = phases(n, max(3, args.turns if n <= 1000 else args.turns // 4))
    if breakdown:
        print("\n| phase (second act on), median CPU ms a turn | " + " | ".join(f"{n} creatures" for n in breakdown)
              + " |")
        print("|---|" + "---:|" * len(breakdown))
        for k, (label, _) in enumerate(next(iter(breakdown.values()))):
            cells = " | ".join(f"{table[k][1]:.2f}" for table in breakdown.values())
            print(f"| {label.replace('  ', '&nbsp;&nbsp;')} | {cells} |")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    write_result(args.json, "engine", rows=rows, parse=parsing, cpu_flags=flags,
                 phases={str(n): dict(table) for n, table in breakdown.items()})


if __name__ == "__main__":
    main()
