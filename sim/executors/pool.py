"""`--executor pool` (the default): cells in worker processes on this machine, or in this process.

Workers are spawned, not forked: safe with threads and model engines in the parent, and the same on every
OS. Cells that load a language model run one at a time in this process, so the model loads once.
"""
from __future__ import annotations

import multiprocessing
from typing import Iterator

from sim.executors import ExecutorOptions, Outcome, no_address


class ProcessPool:
    def __init__(self, workers: int):
        self.workers = workers

    def run(self, cells: list[dict]) -> Iterator[Outcome]:
        from sim.sweep import attempt

        if self.workers == 1 or len(cells) <= 1:
            yield from map(attempt, cells)
            return
        with multiprocessing.get_context("spawn").Pool(min(self.workers, len(cells))) as pool:
            yield from pool.imap_unordered(attempt, cells)


def make(options: ExecutorOptions) -> ProcessPool:
    no_address("pool", options)
    workers = options.workers
    if options.shares_model and workers > 1:
        options.announce("a model policy: running cells one at a time in this process (--workers 1) "
                         "so the model loads once")
        workers = 1
    return ProcessPool(workers)
