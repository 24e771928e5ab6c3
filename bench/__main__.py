"""`python -m bench SUITE [options]`: one entry point for every benchmark. Each suite prints a markdown table
and, with --json PATH, writes its rows with the machine they came from.

    engine   per-turn engine cost vs agents, 5 to 10 000, scripted policy
    model    seconds per turn and decisions per second vs agents; batched vs sequential; constrained vs not
    llamacpp the embedded model under llama.cpp's server (a llama-server on PATH) beside vLLM, same asks
    quality  decision quality of a model council: valid/repaired/noop, self-defeating orders, prompt ablations
    viewer   scene render time per frame at 5, 50 and 1000 creatures
    sweep    sweep throughput, episodes per minute: the process pool (1, 2 workers) and a local Ray cluster
    paths    price and Gini paths of the default run and a bank run, with plots
    fuzz     the long fuzz of the parse path and chaos councils over many seeds
    economy  the scripted economy over years: winter fuel crisis, trade and mood, legends, the commons map
    web      the web demo's memory over repeated waves of sessions
    start    seconds to the first model turn from a new process, with empty caches and with warm ones
"""
from __future__ import annotations

import importlib
import sys

SUITES = {"engine": "bench.engine_bench", "model": "bench.model_bench",
          "llamacpp": "bench.llamacpp_bench", "quality": "bench.quality_bench",
          "viewer": "bench.viewer_bench", "sweep": "bench.sweep_bench", "paths": "bench.paths_bench",
          "fuzz": "bench.fuzz_bench", "economy": "bench.economy_bench",
          "web": "bench.web_memory_bench", "start": "bench.start_bench"}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in SUITES:
        print(__doc__)
        return 2
    suite = sys.argv.pop(1)
    sys.argv[0] = f"python -m bench {suite}"
    importlib.import_module(SUITES[suite]).main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
