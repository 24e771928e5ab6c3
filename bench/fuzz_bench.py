"""The long fuzz run behind docs/reliability.md: many more hostile replies than CI has time for, and the
chaos council over many seeds of every registered world with its invariants checked after every turn.

    python -m bench.fuzz_bench [--replies 20000] [--seeds 200] [--turns 30]
"""
from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np

from agents.policies import chaos
from bench.machine import write_result
from sim import Engine, registry
from sim.parse import parse
from sim.policy import PolicyOptions, Reply

SEEDS_OF_TEXT = ['{"orders": [{"side": "sell", "good": "honey", "qty": 2, "price": 9}], "say": "hi"}',
                 '{"catch": 3, "say": "easy now"}', '{"guess": 42}', "[]", "null", "NaN", '"orders"']


def mutate(text: str, rnd: random.Random) -> str:
    """One random damage: cut, insert, delete, duplicate, nest, or replace with noise."""
    k = rnd.randrange(7)
    i = rnd.randrange(len(text) + 1)
    if k == 0:
        return text[:i]
    if k == 1:
        return text[:i] + rnd.choice(['"', "{", "}", "[", "]", ",", ":", "\\", "\x00", "NaN", "1e999", "-"]) + text[i:]
    if k == 2:
        return text[:i] + text[i + rnd.randrange(1, 6):]
    if k == 3:
        return text + text[: rnd.randrange(len(text) + 1)]
    if k == 4:
        return json.dumps({"reply": text}) if rnd.random() < 0.5 else "{" * 300 + text + "}" * rnd.randrange(300)
    if k == 5:
        return "".join(chr(rnd.randrange(0, 0x3000)) for _ in range(rnd.randrange(1, 80)))
    return text.replace(str(rnd.randrange(10)), str(rnd.choice([-1, 10**30, 2.5, "x"])))


def fuzz_replies(n: int, seed: int = 0) -> dict:
    rnd = random.Random(seed)
    counts = {"valid": 0, "repaired": 0, "noop": 0}
    start = time.perf_counter()
    for name in registry.world_names():
        world = registry.get_world(name)()
        state = world.initial_state(np.random.default_rng(seed))
        agents = world.agents(state)
        for _ in range(n // len(registry.world_names())):
            text = rnd.choice(SEEDS_OF_TEXT)
            for _ in range(rnd.randrange(1, 4)):
                text = mutate(text, rnd)
            decision, _ = parse(Reply(text), world, state, rnd.choice(agents))
            counts[decision.status] += 1
    return {**counts, "seconds": round(time.perf_counter() - start, 1)}


def chaos_runs(seeds: int, turns: int) -> list[dict]:
    rows = []
    for name in registry.world_names():
        broken, played = 0, 0
        for seed in range(seeds):
            world = registry.get_world(name)()
            engine = Engine(world, chaos(PolicyOptions(seed=seed)), seed=seed)
            for _ in range(turns):
                if world.done(engine.state):
                    break
                previous = engine.state
                turn = engine.step()
                broken += len(world.invariants(engine.state, previous, turn.events))
                played += 1
        rows.append({"world": name, "seeds": seeds, "turns": played, "broken_invariants": broken})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.fuzz_bench")
    p.add_argument("--replies", type=int, default=20_000)
    p.add_argument("--seeds", type=int, default=200)
    p.add_argument("--turns", type=int, default=30)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    replies = fuzz_replies(args.replies)
    runs = chaos_runs(args.seeds, args.turns)
    print(f"{sum(replies[k] for k in ('valid', 'repaired', 'noop'))} fuzzed replies in {replies['seconds']} s, "
          f"none raised: {replies['valid']} valid, {replies['repaired']} repaired, {replies['noop']} no-ops")
    print("| world | seeds | turns played | broken invariants |\n|---|---:|---:|---:|")
    for r in runs:
        print(f"| {r['world']} | {r['seeds']} | {r['turns']} | {r['broken_invariants']} |")
    write_result(args.json, "fuzz", replies=replies, chaos=runs)


if __name__ == "__main__":
    main()
