"""`python -m bench model --contention`: a model turn while another program wants the CPU.

A live demo shares its laptop. This measures turns of the same engine settings on a quiet machine and with
one competing CPU-bound process (a busy loop), alternating so both see the same machine, and reports the
ratio. A fair share of two cores is ~2x; far more means the engine's threads fight the competitor (OpenMP
threads spinning at barriers, or bound to a core the competitor holds).

Each setting is an engine of its own in this process, with its OpenMP variables set before its worker
starts; all of them decode the same fresh asks.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

SETTINGS = {  # name -> OpenMP variables for that engine's worker
    "spin (OpenMP default)": {},
    "passive waits": {"OMP_WAIT_POLICY": "PASSIVE"},
}
KEYS = ("OMP_WAIT_POLICY",)


def busy_loop() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run(model: str | None, agents: int = 5, rounds: int = 3) -> dict:
    from agents.backends.vllm import VLLMBackend
    from bench.model_bench import turn
    from bench.model_profile import fresh_asks

    engines = {}
    for i, (name, env) in enumerate(SETTINGS.items()):
        for key in KEYS:
            os.environ.pop(key, None)
        os.environ.update(env)
        # a distinct max_model_len gives each setting its own engine instead of the cached one
        engines[name] = VLLMBackend(model, seed=0, max_model_len=4096 - i)
        turn(engines[name], fresh_asks(agents, 1))  # warm-up
    for key in KEYS:
        os.environ.pop(key, None)
    per_step: dict[tuple[str, bool], list[float]] = {}
    for r in range(rounds):
        for loaded in (False, True):
            rival = busy_loop() if loaded else None
            time.sleep(0.5 if loaded else 0)
            try:
                for name, backend in engines.items():
                    result = turn(backend, fresh_asks(agents, 5 + r))
                    per_step.setdefault((name, loaded), []).append(result["seconds"] / result["output_tokens"])
            finally:
                if rival:
                    rival.kill()
                    rival.wait()
    rows = []
    for name in engines:
        quiet = statistics.median(per_step[(name, False)])
        busy = statistics.median(per_step[(name, True)])
        rows.append({"setting": name, "quiet_s_per_token": round(quiet, 4), "contended_s_per_token": round(busy, 4),
                     "ratio": round(busy / quiet, 2)})
    return {"agents": agents, "rounds": rounds, "rows": rows}


def table(result: dict) -> str:
    lines = [f"{result['agents']} agents, median of {result['rounds']} turns each, seconds per output token "
             "(turns differ in length)", "",
             "| setting | quiet | with one busy process | ratio |", "|---|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {r['setting']} | {r['quiet_s_per_token']} | {r['contended_s_per_token']} | {r['ratio']}× |")
    return "\n".join(lines)
