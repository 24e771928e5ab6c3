"""`python -m bench model`: what a model turn costs with the in-process vLLM backend.

Measures engine start-up; seconds per turn (one batched generate) by number of agents after a warm-up;
prompt and output tokens per decision; batched (one call for N) vs sequential (N calls); constrained vs
unconstrained decoding (turn time and the share of replies that are valid JSON within the agent's schema).

    python -m bench model                                   # CPU: embedded SmolLM2, 5/50/200 agents
    python -m bench model --model Qwen/Qwen2.5-3B-Instruct --agents 5,50,500,1000 --json gpu.json
    python -m bench model --profile --agents 5              # where a turn's time goes (bench/model_profile.py)
    python -m bench model --prefix --agents 50              # what the cached prefix costs the tokens after it
    python -m bench model --compare dtype --agents 5        # settings side by side (bench/model_settings.py)
    python -m bench model --compare process --contention    # ... also against one competing process
    python -m bench model --compare int8 --agents 5,50      # the embedded model in float vs int8 (W8A8)
    python -m bench model --load-arrives --agents 5         # turns back to back as a busy process comes and goes

Every measured turn decodes asks from a new turn of a scripted run, so the prefix cache holds the shared
briefing (as in play) but never a whole prompt it has seen before.

Asks come from `make_asks(n) -> list[Ask]`; `run()` takes any such callable, the CLI uses the wood.
"""
from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Callable

import numpy as np

from bench.machine import machine_info
from bench.model_profile import turn
from sim.policy import Ask

MakeAsks = Callable[[int], list[Ask]]


def wood_asks(n: int) -> list[Ask]:
    """Turn-0 asks of a wood with n creatures: the prompts and schemas a real run sends."""
    from worlds.wood import WoodWorld

    world = WoodWorld(agents=n)
    state = world.initial_state(np.random.default_rng(0))
    return [Ask(world, state, agent, 0) for agent in world.agents(state)]


def fresh_wood_asks() -> MakeAsks:
    """make_asks that gives the asks of a later turn of a scripted wood run at every call."""
    from bench.model_profile import fresh_asks

    turns = itertools.count(1)
    return lambda n: fresh_asks(n, next(turns))


def run(model: str | None, agents: list[int], sequential_at: list[int], compare_at: int,
        make_asks: MakeAsks | None = None) -> dict:
    make_asks = make_asks or fresh_wood_asks()
    start = time.perf_counter()
    import vllm  # noqa: F401  (timed on its own: ~10 s of the cold start is this import)

    from agents.backends.vllm import VLLMBackend

    imported = time.perf_counter()
    backend = VLLMBackend(model, seed=0)
    started = time.perf_counter()
    result = {"model": backend.model, "machine": machine_info(),
              "import_s": round(imported - start, 1), "startup_s": round(started - imported, 1)}
    turn(backend, make_asks(5))  # warm-up: first-call allocations, grammar compiler caches
    result["batched"] = [turn(backend, make_asks(n)) for n in agents]
    result["sequential"] = [turn(backend, make_asks(n), sequential=True) for n in sequential_at]
    free = VLLMBackend(backend.model, seed=0, constrained=False)  # same engine, no schema in decoding
    asks = make_asks(compare_at)
    result["constrained"] = turn(backend, asks)
    result["unconstrained"] = turn(free, asks)
    return result


def table(result: dict) -> str:
    m = result["machine"]
    head = (f"model `{result['model']}` on {_cpu_line(m)}; "
            f"vllm import {result['import_s']} s, engine start-up {result['startup_s']} s")
    lines = [head, "",
             "| run | agents | s/turn | decisions/s | prompt tok | output tok | valid JSON | errors |",
             "|---|---|---|---|---|---|---|---|"]
    rows = ([("batched", r) for r in result["batched"]] + [("sequential", r) for r in result["sequential"]]
            + [("constrained", result["constrained"]), ("unconstrained", result["unconstrained"])])
    for name, r in rows:
        lines.append(f"| {name} | {r['agents']} | {r['seconds']} | {r['decisions_per_s']} | {r['prompt_tokens']} "
                     f"| {r['output_tokens']} | {r['valid_json']:.0%} | {r['errors']} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench model", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model id or folder (default: Qwen2.5-3B on GPU, embedded on CPU)")
    p.add_argument("--agents", default=None,
                   help="comma-separated agent counts (default: 5,50,200 batched; 5 with --compare, "
                        "--profile and --load-arrives)")
    p.add_argument("--sequential", default="5,50", help="agent counts to also run as one call per agent")
    p.add_argument("--compare-at", type=int, default=50, help="agents for constrained vs unconstrained")
    p.add_argument("--profile", action="store_true", help="only split a turn's time into its parts")
    p.add_argument("--prefix", action="store_true",
                   help="only what the cached prefix costs the new tokens after it (a turn's prompts vs bare ones)")
    p.add_argument("--compare", choices=("process", "threads", "dtype", "graph", "int8"), default=None,
                   help="only compare vLLM CPU settings side by side")
    p.add_argument("--contention", action="store_true", help="with --compare: also with one competing process")
    p.add_argument("--rounds", type=int, default=3, help="with --compare: turns per setting (and per load)")
    p.add_argument("--load-arrives", action="store_true",
                   help="only play turns back to back while a busy process comes and goes")
    p.add_argument("--threads", type=int, default=None, help="with --load-arrives: fixed torch threads")
    p.add_argument("--json", default=None, help="write the result here")
    a = p.parse_args()
    agents = _ints(a.agents or ("5,50,200" if not (a.load_arrives or a.profile or a.prefix or a.compare) else "5"))
    if a.load_arrives:
        from bench import model_settings

        result = {"machine": machine_info(),
                  **model_settings.load_arrives(a.model, agents[0], a.rounds, a.threads)}
        print(f"{_cpu_line(result['machine'])}\n\n{model_settings.load_table(result)}")
    elif a.prefix:
        from agents.backends.vllm import VLLMBackend
        from bench.model_profile import prefix_cost, prefix_table

        backend = VLLMBackend(a.model, seed=0)
        result = {"model": backend.model, "machine": machine_info(), "prefix": prefix_cost(backend, agents[0])}
        print(f"model `{result['model']}`; {_cpu_line(result['machine'])}\n\n{prefix_table(result['prefix'])}")
    elif a.profile:
        result = run_profile(a.model, agents[0])
        print(profile_table(result))
    elif a.compare:
        from bench import model_settings

        result = {"machine": machine_info(),
                  **model_settings.run(a.model, a.compare, agents, rounds=a.rounds,
                                                     contention=a.contention)}
        print(f"{_cpu_line(result['machine'])}\n\n{model_settings.table(result)}")
    else:
        result = run(a.model, agents, _ints(a.sequential), a.compare_at)
        print(table(result))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


def run_profile(model: str | None, agents: int) -> dict:
    from agents.backends.vllm import VLLMBackend
    from bench.model_profile import profile

    backend = VLLMBackend(model, seed=0)
    turn(backend, wood_asks(agents))  # warm-up
    return {"model": backend.model, "machine": machine_info(), "profile": profile(backend, agents)}


def profile_table(result: dict) -> str:
    from bench.model_profile import table as split

    return f"model `{result['model']}`; {_cpu_line(result['machine'])}\n\n{split(result['profile'])}"


def _cpu_line(m: dict) -> str:
    return f"{m.get('gpu') or m['processor']} ({m['cores']} cores; {m.get('cpu_plan', '')})"


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


if __name__ == "__main__":
    main()
