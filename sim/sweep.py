"""`python -m sim sweep`: many headless episodes over a grid of world parameters x seeds.

    --set agents=5,50 --set pebbles=10,20 --seeds 0-99   ->   4 grid points x 100 seeds = 400 cells

(`--agents 5,50`, as `run` spells it, is the same axis as `--set agents=5,50`.)

Each cell is one episode run by `run_episode(cell)`, the one function every executor (sim/executors: the
local process pool, Ray, Modal) calls, so a cell gives the same numbers wherever it runs. Results stream to
DIR/results.jsonl one line per cell as it finishes; a rerun skips the cells finished there, so a killed sweep
resumes. A cell that failed gets a line too, with its `error` (and no numbers), and a rerun tries it again.
Each row keeps every number the world records, as `last` (its value at the end) and `mean` (its mean over
the turns played); the table per grid point (mean and spread over seeds of every column) goes to
DIR/summary.csv, and the world's `headline` columns are printed.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from sim import executors, registry
from sim.config import RunConfig, add_policy_flags, agent_count, check_writable, make_world, typed_params, world_params
from sim.engine import Engine
from sim.errors import UsageError
from sim.metrics import flatten
from sim.records import ENGINE_METRICS
from sim.trace import TRACE
from sim.world import World, param_names

RESULTS, SUMMARY_CSV, SWEEP = "results.jsonl", "summary.csv", "sweep.json"
MODEL_POLICIES = {"llm"}
ALWAYS = ("noop_rate",)  # printed for every world, after its headline
SURVIVAL = ("survived", "turns")  # printed only for worlds that can end early (elsewhere every cell plays on)
HEADLINE_DEFAULT = 3


# --- the grid ----------------------------------------------------------------------------------------
def parse_seeds(text: str) -> list[int]:
    """'0-99' -> 0..99, '0,3,7' -> [0, 3, 7], and mixtures ('0-4,10'); duplicates dropped, order kept."""
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, sep, hi = part.partition("-")
        if not (lo.isdigit() and (hi.isdigit() if sep else True)):
            raise UsageError(f"--seeds wants N, A-B or a comma list of them, got {part!r}")
        a, b = int(lo), int(hi) if sep else int(lo)
        if b < a:
            raise UsageError(f"--seeds range {part!r} runs backwards")
        seeds.extend(range(a, b + 1))
    if not seeds:
        raise UsageError("the grid is empty: --seeds names no seeds")
    return list(dict.fromkeys(seeds))


def parse_grid(world: str, sets: list[str]) -> list[dict[str, Any]]:
    """Grid points from `--set key=v1,v2` flags: the product of every key's values, in flag order.
    `agents` is the world's agent count; every other key must be a parameter the world names."""
    axes: dict[str, list] = {}
    known = world_keys(world)
    for spec in sets:
        key, sep, values = spec.partition("=")
        if not sep or not key:
            raise UsageError(f"--set wants KEY=V1,V2,..., got {spec!r}")
        if key in axes:
            raise UsageError(f"--set {key} given twice: put all its values in one flag")
        if key not in known:
            raise UsageError(f"unknown key {key!r} for world {world!r} (known: {', '.join(sorted(known))})")
        listed = [v for v in values.split(",") if v.strip()]
        if not listed:
            raise UsageError(f"the grid is empty: --set {key}= lists no values")
        axes[key] = list(dict.fromkeys(world_params([f"{key}={v.strip()}"])[key] for v in listed))
    points = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
    for point in points:  # a bad value (agents=0) fails now, in one line, not in a worker later
        params = dict(point)
        agents = agent_count(params.pop("agents", None))
        make_world(world, agents, params)
        point.update(typed_params(world, params), **({} if agents is None else {"agents": agents}))
    return points


def world_keys(world: str) -> set[str]:
    """`agents` and the parameters the world declares in its Params model."""
    return {"agents"} | set(param_names(registry.get_world(world).Params))


def cell_key(point: dict[str, Any], seed: int) -> str:
    return " ".join([*(f"{k}={v}" for k, v in sorted(point.items())), f"seed={seed}"])


def make_cells(base: RunConfig, points: list[dict], seeds: list[int], out: str | Path) -> list[dict]:
    """One plain-data dict per episode (picklable, JSON-able): its grid point, seed and whole RunConfig."""
    cells = []
    for point, seed in itertools.product(points, seeds):
        params = dict(point)
        agents = params.pop("agents", base.agents)
        key = cell_key(point, seed)
        config = base.replace(agents=agents, params={**base.params, **params}, seed=seed)
        cells.append({"key": key, "point": point, "config": config.to_json(),
                      "out": str(Path(out) / "cells" / re.sub(r"[^\w.=-]+", "_", key))})
    return cells


# --- one episode -------------------------------------------------------------------------------------
def run_episode(cell: dict) -> dict:
    """Play one cell's episode headless, writing its trace to cell["out"]; return its summary row: every
    number the world records as `last` and `mean` (dicts of numbers flattened to "prices.honey"), the no-op
    rate, turns played (and survival for worlds that can end early), seconds, and where the trace is."""
    start = time.perf_counter()
    config = RunConfig.from_json(cell["config"])
    world = config.make_world()
    out = Path(cell["out"])
    shutil.rmtree(out, ignore_errors=True)  # a cell cut short by a kill starts over
    engine = Engine(world, config.make_policy(announce=lambda line: None), seed=config.seed, out=out,
                    config=config.to_json())
    played, sums, last = 0, {}, {}
    for turn in engine.run(config.turns):
        last = flatten(turn.metrics)
        played += 1
        for k, v in last.items():
            sums[k] = sums.get(k, 0.0) + v
    decided = sum(sums.get(k, 0.0) for k in ("valid", "repaired", "noop"))
    row: dict[str, Any] = {"key": cell["key"], "world": config.world, "point": cell["point"], "seed": config.seed,
                           "last": {k: v for k, v in last.items() if k != "turn_seconds"},
                           "mean": {k: round(v / played, 6) for k, v in sums.items() if k != "turn_seconds"},
                           "noop_rate": round(sums.get("noop", 0.0) / decided, 6) if decided else 0.0,
                           "turns": played}
    if can_end(type(world)):
        row["survived"] = played == config.turns and not world.done(engine.state)
    row["seconds"] = round(time.perf_counter() - start, 4)
    row["trace"] = str(out / TRACE)
    return row


def can_end(world: type[World]) -> bool:
    """Only worlds that override `done` can end early, so only they have a survival to report."""
    return world.done is not World.done


def headline(world: type[World], row: dict) -> list[str]:
    """The columns a sweep prints for this world: its declared `headline`, else the last value of its first
    few numbers; then the no-op rate, and survival where the world can end."""
    shown = list(world.headline) or [f"last.{k}" for k in row.get("last", {})
                                     if k not in ENGINE_METRICS][:HEADLINE_DEFAULT]
    return shown + list(ALWAYS) + (list(SURVIVAL) if can_end(world) else [])


def attempt(cell: dict) -> tuple[dict, dict | None, str | None]:
    """(cell, its row, None), or (cell, None, why) when it failed; never raises for a world's or a policy's
    error. What every executor runs: in pool workers, Ray tasks and Modal containers."""
    try:
        return cell, run_episode(cell), None
    except Exception as exc:
        return cell, None, f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


# --- results on disk ---------------------------------------------------------------------------------
def iter_results(out: str | Path) -> Iterator[dict]:
    """Rows of DIR/results.jsonl, failed cells' lines included; a torn last line (a sweep killed mid-write)
    is skipped."""
    path = Path(out) / RESULTS
    if not path.exists():
        return
    with open(path, "rb") as f:
        for line in f:
            if line.endswith(b"\n"):
                yield json.loads(line)


class ResultLog:
    """Appends one result line per finished cell, flushed at once; cuts a torn tail before the first append."""

    def __init__(self, out: str | Path):
        self.path = Path(out) / RESULTS
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        _cut_torn_tail(self.path)
        self._f = open(self.path, "ab")

    def append(self, row: dict) -> None:
        self._f.write(json.dumps(row).encode() + b"\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def _cut_torn_tail(path: Path, block: int = 1 << 16) -> None:
    """Drop bytes after the last newline, reading backwards so a long file is not read whole."""
    with open(path, "r+b") as f:
        end = pos = f.seek(0, os.SEEK_END)
        while pos > 0:
            step = min(block, pos)
            f.seek(pos - step)
            chunk = f.read(step)
            if pos == end and chunk.endswith(b"\n"):
                return
            if (i := chunk.rfind(b"\n")) >= 0:
                f.truncate(pos - step + i + 1)
                return
            pos -= step
        f.truncate(0)


# --- the summary table -------------------------------------------------------------------------------
def failure(cell: dict, error: str) -> dict:
    """The results line of a cell that failed: which cell, and why."""
    config = cell.get("config", {})
    return {"key": cell["key"], "world": config.get("world"), "point": cell.get("point", {}),
            "seed": config.get("seed"), "error": error}


def settled(rows: Iterable[dict]) -> list[dict]:
    """One row per cell: its finished row, else its latest failure (a cell retried by a rerun has both)."""
    latest: dict[str, dict] = {}
    for row in rows:
        if "error" not in row or "error" in latest.get(row["key"], row):
            latest[row["key"]] = row
    return list(latest.values())


def columns(row: dict) -> dict[str, float]:
    """A row's numbers as flat columns: "last.gini", "mean.trades", "noop_rate", "turns", "survived"."""
    flat = {f"{part}.{k}": v for part in ("last", "mean") for k, v in row.get(part, {}).items()}
    for k in (*ALWAYS, *SURVIVAL):
        if k in row:
            flat[k] = float(row[k])
    return flat


def aggregate(rows: Iterable[dict]) -> list[dict]:
    """One row per grid point (first-seen order): n, then mean and std over seeds of every column."""
    groups: dict[str, tuple[dict, dict[str, list[float]]]] = {}
    for row in (r for r in rows if "error" not in r):
        point = row["point"]
        ident = json.dumps(point, sort_keys=True)
        values = groups.setdefault(ident, (point, {}))[1]
        for k, v in columns(row).items():
            values.setdefault(k, []).append(float(v))
    table = []
    for point, values in groups.values():
        line: dict[str, Any] = {**point, "n": max((len(v) for v in values.values()), default=0)}
        for m, v in values.items():
            line[f"{m}_mean"] = round(statistics.fmean(v), 4)
            line[f"{m}_std"] = round(statistics.stdev(v), 4) if len(v) > 1 else 0.0
        table.append(line)
    return table


def write_summary(table: list[dict], path: str | Path) -> None:
    columns = list(dict.fromkeys(k for line in table for k in line))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(table)


def format_table(table: list[dict], shown: list[str]) -> str:
    """The summary as aligned text: the grid keys, n, and each of the `shown` columns as 'mean ± std'."""
    if not table:
        return "no finished cells"
    keys = [k for k in table[0] if not k.endswith(("_mean", "_std"))]
    measures = [m for m in shown if any(f"{m}_mean" in line for line in table)]
    header = keys + measures
    body = [[str(line.get(k, "")) for k in keys]
            + [f"{line[m + '_mean']:.3f} ± {line[m + '_std']:.3f}" if m + "_mean" in line else "" for m in measures]
            for line in table]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [header, *body])


def load(out: str | Path):
    """DIR/results.jsonl as a pandas DataFrame, one row per cell: grid keys, seed, every number as
    "last.METRIC" and "mean.METRIC", noop_rate, turns (survived where the world can end), seconds, trace;
    a cell that failed (and was not finished by a later rerun) has only its keys and `error`."""
    import pandas as pd

    rows = []
    for row in settled(iter_results(out)):
        flat = {**row["point"], **{k: v for k, v in row.items() if k not in ("point", "last", "mean")}}
        rows.append({**flat, **columns(row)})
    return pd.DataFrame(rows)


# --- the command -------------------------------------------------------------------------------------
def add(p: argparse.ArgumentParser) -> None:
    p.add_argument("--world", default="wood", help="registered world name (default: wood)")
    p.add_argument("--agents", default=None, metavar="N[,N]",
                   help="agent counts, a grid axis like --set agents=N,N (default: the world's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                   help="a grid axis: agents or a world parameter, with its values")
    p.add_argument("--seeds", default="0-9", help="seeds: N, A-B, or a comma list (default: 0-9)")
    p.add_argument("--turns", type=int, default=30)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes (pool), or the CPUs of the local cluster --executor ray starts")
    p.add_argument("--executor", default="pool", choices=list(executors.EXECUTORS),
                   help="where cells run: pool (processes here), ray (a Ray cluster), modal (containers on "
                        "Modal, after `modal deploy modal_deploy.py`)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="ray: join the running cluster at ADDR (e.g. HEAD:6379) instead of starting one here")
    p.add_argument("--out", default=None, help="output directory (default: sweeps/WORLD)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_policy_flags(p)
    p.set_defaults(func=sweep)


def sweep(args: argparse.Namespace) -> int:
    if args.turns < 1:
        raise UsageError("--turns must be >= 1")
    if args.workers < 1:
        raise UsageError("--workers must be >= 1")
    seeds = parse_seeds(args.seeds)
    points = parse_grid(args.world, agents_axis(args.agents, args.set))
    out = Path(args.out or f"sweeps/{args.world}")
    base = RunConfig(world=args.world, turns=args.turns, policy=args.policy, backend=args.backend,
                     model=args.model, url=args.url, temperature=args.temperature, council=args.council)
    executor = executors.make(args.executor, executors.ExecutorOptions(
        out=out, workers=args.workers, address=args.address,
        shares_model=args.policy in MODEL_POLICIES or bool(args.council),
        announce=lambda line: print(line, file=sys.stderr)))
    check_settings(out, settings_of(base))
    todo = unfinished(make_cells(base, points, seeds, out), out)
    failed = collect(executor.run(todo) if todo else iter(()), len(todo), out, args.quiet)
    return 1 if failed else 0


def agents_axis(agents: str | None, sets: list[str]) -> list[str]:
    """`--agents N[,N]` as the grid axis `--set agents=N[,N]` it stands for; both at once is a mistake."""
    if agents is None:
        return sets
    if any(spec.partition("=")[0] == "agents" for spec in sets):
        raise UsageError(f"--agents {agents} and --set agents=... both give the agent counts: keep one")
    return [f"agents={agents}", *sets]


def settings_of(base: RunConfig) -> dict:
    """What a sweep directory must keep the same between reruns: the run settings shared by every cell."""
    return {k: v for k, v in base.to_json().items() if k != "seed"}


def unfinished(cells: list[dict], out: Path) -> list[dict]:
    """The cells not finished in DIR/results.jsonl (failed ones are tried again), saying so when a sweep
    resumes."""
    done = {row["key"] for row in iter_results(out) if "error" not in row}
    todo = [c for c in cells if c["key"] not in done]
    if done:
        print(f"resuming {out}: {len(cells) - len(todo)} cells already finished, {len(todo)} to run",
              file=sys.stderr)
    return todo


def collect(outcomes: Iterable[tuple[dict, dict | None, str | None]], total: int, out: Path,
            quiet: bool = False) -> int:
    """Append each cell's row to DIR/results.jsonl as it arrives (a failed cell's with its error), then print
    the summary table of the finished ones and write DIR/summary.csv. Returns how many cells failed."""
    log = ResultLog(out)
    failed = 0
    try:
        for cell, row, error in progress(outcomes, total, quiet):
            if row is None:
                failed += 1
                print(f"cell {cell['key']!r} failed: {error}", file=sys.stderr)
                row = failure(cell, error or "no reason given")
            log.append(row)
    finally:
        log.close()
    rows = [row for row in settled(iter_results(out)) if "error" not in row]
    table = aggregate(rows)
    write_summary(table, out / SUMMARY_CSV)
    shown = headline(registry.get_world(rows[0]["world"]), rows[0]) if rows else []
    print(format_table(table, shown))
    print(f"results in {out / RESULTS}, summary in {out / SUMMARY_CSV}")
    if failed:
        print(f"{failed} cells failed (their errors are in {out / RESULTS}); run the same command again to "
              "retry them", file=sys.stderr)
    return failed


def check_settings(out: Path, settings: dict) -> None:
    """A sweep directory holds one world/turns/policy: resuming with other settings would mix results."""
    path = out / SWEEP
    if path.exists():
        found = json.loads(path.read_text())
        if found != settings:
            changed = ", ".join(k for k in settings if found.get(k) != settings[k])
            raise UsageError(f"{out} holds a sweep with other {changed}: rerun it as it was, or use another --out")
        return
    check_writable(out)
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=1))


def progress(items: Iterator, total: int, quiet: bool) -> Iterator:
    if quiet:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, total=total, unit="cell", file=sys.stderr)
