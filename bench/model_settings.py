"""`python -m bench model --compare process|threads|dtype`: vLLM CPU settings side by side, in one run.

Each setting takes turns with the others on the same fresh asks, so a noisy machine slows them alike and the
ratios hold. A setting is either an engine of its own in this process (its environment set before it starts)
or, for thread counts, the same engine with torch's thread count changed between turns. With `--contention`
every round is also played with one competing CPU-bound process (a busy loop): a live demo shares its laptop,
a fair share of two cores is ~2x, and much more means the engine's threads fight the competitor (threads
pinned to the core it holds, or spinning while they wait for each other).

    process  the engine in this process (agents/cpu.py's plan) vs vLLM's own engine-core and worker processes
    threads  torch threads: one per core vs one
    dtype    float32 vs bfloat16 (bf16 is fast only with AVX-512 BF16 or AMX; agents/cpu.py)
    graph    eager (the plan) vs vLLM's compiled graphs (torch.compile; the first start compiles, later
             ones read vLLM's compile cache)

Each setting's start-up (building its engine, compiling included) is reported beside its turns.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

ENV_KEYS = ("VLLM_ENABLE_V1_MULTIPROCESSING",)
IDLE_S = 1.5
# name -> (environment for that engine, engine options, torch threads for its turns or None: as it starts)
GROUPS: dict[str, dict[str, tuple[dict, dict, int | None]]] = {
    "process": {"in this process (the plan)": ({"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}, {}, None),
                "vLLM's own processes": ({"VLLM_ENABLE_V1_MULTIPROCESSING": "1"}, {}, None)},
    "threads": {"one thread per core": ({}, {}, len(os.sched_getaffinity(0))), "one thread": ({}, {}, 1)},
    "dtype": {"float32": ({}, {"dtype": "float32"}, None), "bfloat16": ({}, {"dtype": "bfloat16"}, None)},
    "graph": {"eager (the plan)": ({}, {"enforce_eager": True}, None),
              "compiled graphs": ({}, {"enforce_eager": False}, None)},
}


def busy_loop() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run(model: str | None, group: str, agents: int = 5, rounds: int = 3, contention: bool = False) -> dict:
    import torch

    from agents.backends.vllm import VLLMBackend
    from bench.model_bench import turn
    from bench.model_profile import fresh_asks

    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    engines, threads, startup = {}, {}, {}
    for i, (name, (env, options, count)) in enumerate(GROUPS[group].items()):
        _restore(saved)
        os.environ.update(env)
        # a distinct max_model_len gives each setting its own engine; settings that differ only in threads share one
        length = 4096 if count else 4096 - i
        start = time.perf_counter()
        engines[name] = VLLMBackend(model, seed=0, max_model_len=length, **options)
        startup[name] = round(time.perf_counter() - start, 1)
        threads[name] = count
        turn(engines[name], fresh_asks(agents, 1))  # warm-up
    _restore(saved)
    per_token: dict[tuple[str, bool], list[float]] = {}
    seconds: dict[tuple[str, bool], list[float]] = {}
    for r in range(rounds):
        for loaded in (False, True) if contention else (False,):
            rival = busy_loop() if loaded else None
            try:
                asks = fresh_asks(agents, 5 + r)
                for name, backend in engines.items():
                    if threads[name]:
                        # vLLM replaces torch.set_num_threads once its engine runs here; the setter below it is
                        # what a bench may still call between turns
                        torch._C._set_num_threads(threads[name])
                    # vLLM's processes busy-wait for a second after their last message: let the engine that
                    # played last go quiet, or its spinning is charged to the next setting's turn
                    time.sleep(IDLE_S)
                    result = turn(backend, asks)
                    per_token.setdefault((name, loaded), []).append(result["seconds"] / result["output_tokens"])
                    seconds.setdefault((name, loaded), []).append(result["seconds"])
            finally:
                if rival:
                    rival.kill()
                    rival.wait()
    rows = []
    for name in engines:
        row = {"setting": name, "quiet_s_per_token": round(statistics.median(per_token[(name, False)]), 4),
               "quiet_spread": _spread(per_token[(name, False)]),
               "quiet_s_per_turn": round(statistics.median(seconds[(name, False)]), 2), "startup_s": startup[name]}
        if contention:
            row["contended_s_per_token"] = round(statistics.median(per_token[(name, True)]), 4)
            row["contended_s_per_turn"] = round(statistics.median(seconds[(name, True)]), 2)
            row["ratio"] = round(row["contended_s_per_token"] / row["quiet_s_per_token"], 2)
        rows.append(row)
    return {"group": group, "agents": agents, "rounds": rounds, "rows": rows}


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _spread(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


def table(result: dict) -> str:
    contended = "ratio" in result["rows"][0]
    first = result["rows"][0]["quiet_s_per_token"]
    lines = [f"{result['agents']} agents, median of {result['rounds']} turns per setting, seconds of turn per output "
             "token (replies differ in length)", "",
             "| setting | start-up s | quiet s/turn | quiet s/token | spread | vs first |"
             + (" with one busy process s/turn | s/token | contended / quiet |" if contended else ""),
             "|---|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if contended else "")]
    for r in result["rows"]:
        ratio = r["quiet_s_per_token"] / first
        line = (f"| {r['setting']} | {r['startup_s']} | {r['quiet_s_per_turn']} | {r['quiet_s_per_token']} | {r['quiet_spread']} "
                f"| {ratio:.2f}× |")
        if contended:
            line += f" {r['contended_s_per_turn']} | {r['contended_s_per_token']} | {r['ratio']}× |"
        lines.append(line)
    return "\n".join(lines)
