"""Where a sweep's cells run: one interface, a registry of names, and nothing imported until it is chosen.

    pool    worker processes on this machine (the default; `--workers N`)
    ray     tasks on a Ray cluster: a local one of `--workers` CPUs, or the cluster at `--address`
    modal   containers on Modal, through `.map` over the `run_cell` function modal_deploy.py deploys

Every executor runs the same function, `sim.sweep.attempt`, on the same plain-data cells, so a cell gives
the same numbers wherever it runs; the sweep (streaming results, resuming, the summary) knows executors only
by the names below. A module is imported when its name is chosen, so `pip install -e .` needs neither Ray
nor Modal, and a missing one is a one-line error naming the extra that brings it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

from sim.errors import EXTRA_OF, MissingExtra, UsageError

Outcome = tuple[dict, "dict | None", "str | None"]  # (cell, its result row, None) or (cell, None, why it failed)

EXECUTORS = {"pool": "sim.executors.pool:make", "ray": "sim.executors.ray:make", "modal": "sim.executors.modal:make"}


@dataclass
class ExecutorOptions:
    """What the sweep command knows that an executor may need."""

    out: Path  # the sweep's results directory (cells write their traces under out/cells)
    workers: int = 1  # pool: worker processes; ray: CPUs of the local cluster it starts
    address: str | None = None  # an existing cluster to join instead of starting one (executors that have one)
    shares_model: bool = False  # the cells load a language model: run them where it loads once
    announce: Callable[[str], None] = field(default=lambda line: None)  # one line: where the cells run


class Executor(Protocol):
    def run(self, cells: list[dict]) -> Iterator[Outcome]:
        """Run every cell through `sim.sweep.attempt` and yield each outcome as soon as it is known, in any
        order: exactly one per cell. A cell the executor itself lost (a crashed worker, a lost container) is
        (cell, None, why), never left out. Closing the generator early stops what it started."""
        ...


def make(name: str, options: ExecutorOptions) -> Executor:
    """The executor registered as `name`, built from `options`; UsageError for an unknown name, MissingExtra
    when its library is not installed."""
    if name not in EXECUTORS:
        raise UsageError(f"unknown executor {name!r} (choose from {', '.join(EXECUTORS)})")
    module, _, factory = EXECUTORS[name].partition(":")
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in EXTRA_OF:
            raise
        raise MissingExtra.of(f"--executor {name}", exc) from None
    return getattr(loaded, factory)(options)


def no_address(name: str, options: ExecutorOptions) -> None:
    """For the factories of executors that join no cluster: an --address given to them is a mistake."""
    if options.address:
        raise UsageError(f"--address names a cluster to join, which --executor {name} has none of (try ray)")


def one_line(exc: BaseException) -> str:
    """An exception as one short line for a cell's error: its type and the first line of its message."""
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
