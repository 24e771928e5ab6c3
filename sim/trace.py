"""Run output: trace.jsonl (header + one line per turn), metrics.csv, summary.json, checkpoint.json.

Every turn is written and flushed before the checkpoint that points past it, so a killed run loses at most
the turn in flight, and `Recorder.reopen` cuts any half-written tail back to the checkpoint before appending.
Everything is JSON; nothing is ever unpickled.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import orjson

from sim.metrics import flatten
from sim.records import Turn

TRACE, METRICS, SUMMARY, CHECKPOINT = "trace.jsonl", "metrics.csv", "summary.json", "checkpoint.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_line(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS) + b"\n"


class Recorder:
    """Appends turns to an output directory."""

    def __init__(self, out: Path, trace: io.BufferedWriter, metrics: io.TextIOWrapper, columns: list[str]):
        self.out = out
        self._trace = trace
        self._metrics = metrics
        self._columns = columns
        self.rows: list[dict[str, float]] = []

    @classmethod
    def create(cls, out: str | Path, header: dict) -> "Recorder":
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        trace = open(out / TRACE, "wb")
        trace.write(dump_line({"kind": "header", **header}))
        trace.flush()
        return cls(out, trace, open(out / METRICS, "w", newline=""), [])

    @classmethod
    def reopen(cls, out: str | Path, checkpoint: dict) -> "Recorder":
        """Continue the files of a run at the point its checkpoint recorded, dropping anything after it."""
        out = Path(out)
        trace = open(out / TRACE, "r+b")
        trace.truncate(checkpoint["trace_bytes"])
        trace.seek(0, os.SEEK_END)
        metrics = open(out / METRICS, "r+", newline="")
        metrics.truncate(checkpoint["metrics_bytes"])
        metrics.seek(0, os.SEEK_END)
        rec = cls(out, trace, metrics, checkpoint["metric_columns"])
        with open(out / METRICS, newline="") as f:
            rec.rows = [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]
        return rec

    def write(self, turn: Turn, checkpoint: dict) -> None:
        self._trace.write(dump_line(turn))  # orjson writes dataclasses natively, no intermediate dicts
        self._trace.flush()
        row = {"turn": float(turn.turn), **flatten(turn.metrics)}
        if not self._columns:
            self._columns = list(row)
            csv.writer(self._metrics).writerow(self._columns)
        csv.writer(self._metrics).writerow([_cell(row.get(c)) for c in self._columns])
        self._metrics.flush()
        self.rows.append(row)
        write_json_atomic(
            self.out / CHECKPOINT,
            {
                **checkpoint,
                "trace_bytes": self._trace.tell(),
                "metrics_bytes": self._metrics.tell(),
                "metric_columns": self._columns,
            },
        )

    def close(self, summary: dict) -> None:
        write_json_atomic(self.out / SUMMARY, summary)
        self._trace.close()
        self._metrics.close()


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else f"{value:.6g}"


def read_header(path: str | Path) -> dict:
    with open(path, "rb") as f:
        header = orjson.loads(f.readline())
    if header.get("kind") != "header":
        raise ValueError(f"{path} does not start with a smallworlds trace header")
    return header


def iter_turns(path: str | Path) -> Iterator[Turn]:
    """Turn records of a trace, in order. A torn last line (a run killed mid-write) is skipped."""
    with open(path, "rb") as f:
        f.readline()
        for line in f:
            if not line.endswith(b"\n"):
                break
            yield Turn.from_json(orjson.loads(line))


def load_trace(path: str | Path) -> tuple[dict, list[Turn]]:
    return read_header(path), list(iter_turns(path))
