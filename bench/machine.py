"""Machine facts written beside every benchmark result, so numbers are never read without their context."""
from __future__ import annotations

import os
import platform
import subprocess
import time

from agents import cpu


def machine_info() -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": cpu.cpu_model(),
        "cores": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    plan = cpu.plan()
    # what a model turn's speed depends on: the ISA features, the dtype and binding chosen for them, and
    # whether vLLM's fast (oneDNN) kernels exist for that dtype here
    flags = cpu.cpu_flags()
    info["cpu_features"] = [f for f in cpu.FEATURES if f in flags]  # the CPU's own, whatever caps the plan
    info["lscpu"] = lscpu()
    info["cpu_plan"] = (f"dtype {plan.dtype}, {plan.kernels(plan.dtype)} linear kernels, "
                        f"vLLM engine in this process on {plan.threads} threads, "
                        f"{'compiled graphs' if plan.graphs else 'eager'}, embedded model in "
                        f"{'int8 (W8A8)' if plan.int8 else plan.dtype}{f' ({plan.int8_forced})' if plan.int8_forced else ''}"
                        + (f", planned as [{' '.join(plan.features)}] ({plan.cap})" if plan.cap else ""))
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def lscpu() -> dict:
    """`lscpu`'s model name, family, model number and every flag: what tells one CPU kind from another
    (several kinds share the model name "AMD EPYC"). Empty where lscpu is missing."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return {}
    fields = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    field = {k.strip(): v.strip() for k, v in fields.items()}.get
    return {"model": field("Model name"), "family": field("CPU family"), "model_number": field("Model"),
            "flags": (field("Flags") or "").split()}


def write_result(path: str | None, suite: str, **data) -> None:
    """Write one suite's result as JSON beside the machine it came from (nothing when path is None)."""
    if path:
        import json

        with open(path, "w") as f:
            json.dump({"suite": suite, "machine": machine_info(), **data}, f, indent=1)
