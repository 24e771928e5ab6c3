"""`python -m agents.build_graphs MODEL`: the background process agents/warmup.py starts, at the lowest CPU
priority: it starts the model's engine with compiled graphs once (filling torch's kernel cache), records that
they are built (or why building them failed) and exits."""
from __future__ import annotations

import argparse
import os

from agents import cpu as cpu_info
from agents import warmup
from agents.backends.base import BackendUnavailable
from agents.backends.vllm import get_engine, shutdown_engines


def _lowest_priority() -> None:
    os.nice(19)
    try:  # only the CPU time nothing else wants (Linux)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m agents.build_graphs",
                                description="build a model's compiled graphs once")
    p.add_argument("model")
    p.add_argument("--max-model-len", type=int, default=4096)
    a = p.parse_args()
    _lowest_priority()
    try:
        get_engine(a.model, max_model_len=a.max_model_len, enforce_eager=False, announce=print)
        return 0
    except BackendUnavailable as e:
        warmup.mark(a.model, cpu_info.plan(), failure=str(e))
        print(f"building the compiled graphs failed: {e}")
        return 1
    finally:
        shutdown_engines()
        warmup.lock(a.model, cpu_info.plan()).unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
