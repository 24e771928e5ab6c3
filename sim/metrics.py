"""Numbers every world can use, and the summary of a run's metric rows."""
from __future__ import annotations

import statistics
from typing import Any, Iterable, Sequence

import numpy as np

from sim.records import Decision


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative values: 0 = all equal, ->1 = one holds everything."""
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    if n == 0 or x.sum() <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * x).sum()) / (n * x.sum()) - (n + 1) / n)


def decision_counts(decisions: Iterable[Decision]) -> dict[str, int]:
    counts = {"valid": 0, "repaired": 0, "noop": 0}
    for d in decisions:
        counts[d.status] += 1
    return counts


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Scalar metrics as one flat row: {"prices": {"honey": 4}} -> {"prices.honey": 4}. Lists are dropped."""
    row: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flatten(value, name + "."))
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            row[name] = float(value)
    return row


def summarize(rows: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """First, last, mean and median of every metric column over a run."""
    out: dict[str, dict[str, float]] = {}
    for key in rows[0] if rows else []:
        column = [r[key] for r in rows if key in r]
        out[key] = {
            "first": column[0],
            "last": column[-1],
            "mean": float(np.mean(column)),
            "median": float(statistics.median(column)),
        }
    return out
