"""`python -m bench model --compare dtype|threads|wait`: vLLM CPU settings side by side, in one run.

Each setting is an engine of its own in this process (its environment set before its worker starts), and the
settings take turns on the same fresh asks, so a noisy machine slows them alike and the ratios hold. With
`--contention` every round is also played with one competing CPU-bound process (a busy loop): a live demo
shares its laptop, a fair share of two cores is ~2x, and much more means the engine's threads fight the
competitor (OpenMP threads spinning at barriers, or bound to the core it holds).

    dtype    float32 vs bfloat16 (bf16 is fast only with AVX-512 BF16 or AMX; agents/cpu.py)
    threads  threads bound to every core vs vLLM's own binding (one core, the other reserved)
    wait     OpenMP's default spinning waits vs passive waits
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys

ENV_KEYS = ("OMP_WAIT_POLICY", "VLLM_CPU_OMP_THREADS_BIND")
# name -> (environment for that engine's worker, engine options)
GROUPS: dict[str, dict[str, tuple[dict, dict]]] = {
    "dtype": {"float32": ({}, {"dtype": "float32"}), "bfloat16": ({}, {"dtype": "bfloat16"})},
    "threads": {"bound to every core": ({}, {}),
                "vLLM's own binding": ({"VLLM_CPU_OMP_THREADS_BIND": "auto"}, {})},
    "wait": {"spinning waits (default)": ({}, {}), "passive waits": ({"OMP_WAIT_POLICY": "PASSIVE"}, {})},
}


def busy_loop() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run(model: str | None, group: str, agents: int = 5, rounds: int = 3, contention: bool = False) -> dict:
    from agents.backends.vllm import VLLMBackend
    from bench.model_bench import turn
    from bench.model_profile import fresh_asks

    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    engines = {}
    for i, (name, (env, options)) in enumerate(GROUPS[group].items()):
        _restore(saved)
        os.environ.update(env)
        # a distinct max_model_len gives each setting its own engine instead of the cached one
        engines[name] = VLLMBackend(model, seed=0, max_model_len=4096 - i, **options)
        turn(engines[name], fresh_asks(agents, 1))  # warm-up
    _restore(saved)
    per_token: dict[tuple[str, bool], list[float]] = {}
    for r in range(rounds):
        for loaded in (False, True) if contention else (False,):
            rival = busy_loop() if loaded else None
            try:
                asks = fresh_asks(agents, 5 + r)
                for name, backend in engines.items():
                    result = turn(backend, asks)
                    per_token.setdefault((name, loaded), []).append(result["seconds"] / result["output_tokens"])
            finally:
                if rival:
                    rival.kill()
                    rival.wait()
    rows = []
    for name in engines:
        row = {"setting": name, "quiet_s_per_token": round(statistics.median(per_token[(name, False)]), 4),
               "quiet_spread": _spread(per_token[(name, False)])}
        if contention:
            row["contended_s_per_token"] = round(statistics.median(per_token[(name, True)]), 4)
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
             "| setting | quiet | spread | vs first |"
             + (" with one busy process | contended / quiet |" if contended else ""),
             "|---|---:|---:|---:|" + ("---:|---:|" if contended else "")]
    for r in result["rows"]:
        ratio = r["quiet_s_per_token"] / first
        line = f"| {r['setting']} | {r['quiet_s_per_token']} | {r['quiet_spread']} | {ratio:.2f}× |"
        if contended:
            line += f" {r['contended_s_per_token']} | {r['ratio']}× |"
        lines.append(line)
    return "\n".join(lines)
