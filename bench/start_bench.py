"""`python -m bench start`: how long a person waits for the first model turn, from a new process, with every
cache empty (a fresh machine) and again with the caches the first start left.

Each start runs in a child process of its own (`python -m bench.start_bench --child`) whose caches live in one
folder: the converted embedded model (SMALLWORLDS_CACHE), torch's compiled kernels (TORCHINDUCTOR_CACHE_DIR) and
vLLM's (VLLM_CACHE_ROOT). The child times each part of a start: importing the engine, finding or converting the
embedded model, building the engine (loading weights, compiling graphs or not), the first turn of 5 creatures,
and a second turn (what play costs once started). The parent reads the parts back as JSON. Where the first
start left the compiled graphs building in the background (agents/warmup.py), the cached start waits for them.

    python -m bench start                       # cold, then cached, the plan's default
    python -m bench start --json docs/start_bench.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.machine import machine_info

CACHES = {"SMALLWORLDS_CACHE": "smallworlds", "TORCHINDUCTOR_CACHE_DIR": "inductor", "VLLM_CACHE_ROOT": "vllm"}
PARTS = ("import_s", "model_s", "engine_s", "first_turn_s", "to_first_turn_s", "second_turn_s")


def child(agents: int) -> dict:
    """One start in this process, timed part by part (seconds since this process began its work)."""
    begin = time.perf_counter()
    parts = {}
    mark = begin

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        parts[name], mark = round(now - mark, 2), now

    from agents.backends.vllm import VLLMBackend
    from bench.model_profile import fresh_asks

    lap("import_s")
    from agents.embedded import embedded_for_this_cpu

    model = embedded_for_this_cpu()  # the folder a run starts here: float, or its int8 copy (agents/cpu.py)
    lap("model_s")
    lines: list[str] = []
    backend = VLLMBackend(model, seed=0, announce=lines.append)
    lap("engine_s")
    asks = fresh_asks(agents, 3)
    backend.generate(0, asks)
    lap("first_turn_s")
    parts["to_first_turn_s"] = round(time.perf_counter() - begin, 2)
    backend.generate(1, fresh_asks(agents, 4))
    lap("second_turn_s")
    return {**parts, "announced": lines}


def start(folder: Path, agents: int, env: dict[str, str]) -> dict:
    """A child process's start with its caches in `folder`; its wall time too (Python's own start included)."""
    env = {**os.environ, **env, **{k: str(folder / v) for k, v in CACHES.items()}}
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bench.start_bench", "--child", "--agents", str(agents)],
                          env=env, capture_output=True, text=True)
    wall = round(time.perf_counter() - began, 2)
    if done.returncode != 0:
        raise SystemExit(f"error: the start failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall_s": wall}


def background_build(folder: Path, most_s: float = 1800) -> float | None:
    """Seconds until a background build of the graphs that a start in `folder` began has finished (None if
    none was running)."""
    building = folder / CACHES["TORCHINDUCTOR_CACHE_DIR"] / "smallworlds"
    began = time.perf_counter()
    if not list(building.glob("*.building")):
        return None
    while list(building.glob("*.building")) and time.perf_counter() - began < most_s:
        time.sleep(1)
    return round(time.perf_counter() - began, 1)


def table(rows: list[dict]) -> str:
    lines = ["| start | " + " | ".join(p.removesuffix("_s").replace("_", " ") for p in PARTS) + " | process wall |",
             "|---|" + "---:|" * (len(PARTS) + 1)]
    for r in rows:
        lines.append(f"| {r['start']} | " + " | ".join(f"{r[p]:.1f} s" for p in PARTS) + f" | {r['wall_s']:.1f} s |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench start", description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=5)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", default=None, help="write the result here")
    a = p.parse_args()
    if a.child:
        print(json.dumps(child(a.agents)))
        return
    with tempfile.TemporaryDirectory(prefix="smallworlds-start-") as tmp:
        cold = {"start": "cold (empty caches)", **start(Path(tmp), a.agents, {})}
        # a first start may leave the compiled graphs building in the background (agents/warmup.py): the next
        # start is measured once they are built, and how long that took is part of the story
        cold["background_build_s"] = background_build(Path(tmp))
        rows = [cold, {"start": "cached (the caches it left)", **start(Path(tmp), a.agents, {})}]
    result = {"machine": machine_info(), "agents": a.agents, "rows": rows}
    print(f"{result['machine']['processor']} ({result['machine']['cores']} cores; {result['machine']['cpu_plan']})\n")
    print(table(rows))
    for r in rows:
        print(f"{r['start']}: " + "; ".join(r["announced"]))
    if rows[0]["background_build_s"] is not None:
        print(f"the graphs were built in the background {rows[0]['background_build_s']} s after the first start ended")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
