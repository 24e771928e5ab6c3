"""Run output: trace.jsonl (header + one line per turn), metrics.csv, summary.json, checkpoint.json.

Every turn is written and flushed before the checkpoint that points past it, so a killed run loses at most
the turn in flight, and `Recorder.reopen` cuts any half-written tail back to the checkpoint before appending.
Everything is JSON; nothing is ever unpickled.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.agency import Counts
from sim.codec import plain
from sim.errors import UsageError, UserError
from sim.metrics import flatten
from sim.records import Turn

TRACE, METRICS, SUMMARY, CHECKPOINT = "trace.jsonl", "metrics.csv", "summary.json", "checkpoint.json"
MAX_HEADER_BYTES = 64 << 20  # a header holds the initial state: 10 000 agents take a few MB


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(dumps(data, orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_line(data: Any) -> bytes:
    return dumps(data, orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS) + b"\n"


def dumps(data: Any, option: int) -> bytes:
    """JSON bytes of `data`. What orjson refuses (a lone surrogate, an integer past 64 bits, nesting past
    its limit) is written through `codec.plain` instead of ending the run: a trace line is never lost."""
    try:
        return orjson.dumps(data, option=option)
    except orjson.JSONEncodeError:
        return orjson.dumps(plain(data), option=option)


class Recorder:
    """Appends turns to an output directory."""

    def __init__(self, out: Path, trace: io.BufferedWriter, metrics: io.TextIOWrapper, columns: list[str],
                 digests: tuple[Any, Any] | None = None):
        self.out = out
        self._trace = trace
        self._metrics = metrics
        self._columns = columns
        # sha256 of everything written to each file: the checkpoint records them, so a resume can tell a
        # file that was changed after its checkpoint from one that was only cut or torn
        self._digests = digests or (hashlib.sha256(), hashlib.sha256())
        self.rows: list[dict[str, float]] = []

    @classmethod
    def create(cls, out: str | Path, header: dict) -> "Recorder":
        """Start the files of a new run. The engine saves its turn-0 checkpoint at once, so from the moment
        a trace exists a checkpoint says how much of it is good."""
        out = Path(out)
        with writing(out):
            out.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(out)
            trace = open(out / TRACE, "wb")
            rec = cls(out, trace, open(out / METRICS, "w", newline=""), [])
            rec._append_trace(dump_line({"kind": "header", **header}))
        return rec

    @classmethod
    def reopen(cls, out: str | Path, checkpoint: dict) -> "Recorder":
        """Continue the files of a run at the point its checkpoint recorded, dropping anything after it.
        The checkpoint must have passed `read_checkpoint`, which makes sure both files reach that point:
        truncating only ever shortens a file here, never pads it."""
        out = Path(out)
        remove_stale_temporaries(out)
        try:
            trace = open(out / TRACE, "r+b")
            metrics = open(out / METRICS, "r+", newline="")
        except OSError as exc:
            raise DamagedRun(f"cannot resume {out}: {exc.strerror or exc} ({exc.filename}); make the folder "
                             "and its files writable") from exc
        trace.truncate(checkpoint["trace_bytes"])
        trace.seek(0, os.SEEK_END)
        metrics.truncate(checkpoint["metrics_bytes"])
        metrics.seek(0, os.SEEK_END)
        digests = _digest(out / TRACE, checkpoint["trace_bytes"]), _digest(out / METRICS, checkpoint["metrics_bytes"])
        rec = cls(out, trace, metrics, checkpoint["metric_columns"], digests)
        with open(out / METRICS, newline="") as f:
            rec.rows = [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]
        return rec

    def write(self, turn: Turn, checkpoint: dict) -> None:
        with writing(self.out):
            self._write(turn, checkpoint)

    def _write(self, turn: Turn, checkpoint: dict) -> None:
        self._append_trace(dump_line(turn))  # orjson writes dataclasses natively, no intermediate dicts
        row = {"turn": float(turn.turn), **flatten(turn.metrics)}
        lines = io.StringIO()
        if not self._columns:
            self._columns = list(row)
            csv.writer(lines).writerow(self._columns)
        csv.writer(lines).writerow([_cell(row.get(c)) for c in self._columns])
        self._metrics.write(lines.getvalue())
        self._metrics.flush()
        self._digests[1].update(lines.getvalue().encode())
        self.rows.append(row)
        self.save(checkpoint)

    def _append_trace(self, line: bytes) -> None:
        self._trace.write(line)
        self._trace.flush()
        self._digests[0].update(line)

    def save(self, checkpoint: dict) -> None:
        """Replace checkpoint.json: the engine's `checkpoint` plus how far each file is good, and a digest of
        its own content (a changed digit in a state or rng would otherwise resume a different run)."""
        data = {
            **checkpoint,
            "trace_bytes": self._trace.tell(),
            "metrics_bytes": self._metrics.tell(),
            "metric_columns": self._columns,
            "trace_sha256": self._digests[0].hexdigest(),
            "metrics_sha256": self._digests[1].hexdigest(),
        }
        with writing(self.out):
            write_json_atomic(self.out / CHECKPOINT, {**data, "checkpoint_sha256": checkpoint_digest(data)})

    def close(self, summary: dict) -> None:
        try:
            with writing(self.out):
                write_json_atomic(self.out / SUMMARY, summary)
        finally:
            for f in (self._trace, self._metrics):
                with contextlib.suppress(OSError):  # already said: a full disk fails the flush again
                    f.close()


class CannotWrite(UserError):
    """A run's files could not be written (a full disk, a file system gone read-only); its last checkpoint
    is good, so the run resumes from there once they can."""


@contextlib.contextmanager
def writing(out: Path):
    """OSError while writing a run's files, as a CannotWrite line that says how to go on."""
    try:
        yield
    except OSError as exc:
        raise CannotWrite(f"cannot write to {out}: {exc.strerror or exc}; the run stopped at its last checkpoint "
                          "and continues with --resume once the files can be written") from None


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else f"{value:.6g}"


class DamagedRun(UserError):
    """A trace or checkpoint that cannot be read, or that disagrees with itself; nothing was changed."""


class Checkpoint(BaseModel):
    """What checkpoint.json must hold (strict types: a damaged file is refused, never coerced)."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False)

    seed: int = Field(ge=0)
    config: dict
    turn: int = Field(ge=0)
    state: dict
    rng: str
    # legends and patron acts queued, by the turn they are due (sim.intervention); absent from checkpoints
    # of earlier versions, which held the four fields below instead (sim.intervention.queued_in reads both)
    interventions: dict[str, list[dict]] | None = None
    scheduled: dict[str, list] | None = None
    pending: list[list] | None = None
    patrons: dict[str, list[dict]] | None = None
    patron_pending: list[dict] | None = None
    agency: Counts | None = None  # the agency tally so far (absent from checkpoints of older versions)
    seconds: float = Field(ge=0)
    trace_bytes: int = Field(ge=0)
    metrics_bytes: int = Field(ge=0)
    metric_columns: list[str]
    trace_sha256: str
    metrics_sha256: str


RUN_FILES = (TRACE, METRICS, SUMMARY, CHECKPOINT)


def check_run_files(out: Path, fresh: bool) -> None:
    """A run writes only its own files. `fresh` (a new run, a replay or a fork): none of RUN_FILES may be in
    `out` at all. Resumed: the trace and metrics, appended in place, must be plain files of their own (not a
    symbolic link to another run's file or dangling outside the folder, not a hard link shared with another
    file); the checkpoint and summary, replaced whole, must not be folders. UsageError or DamagedRun (one
    line), before anything is written."""
    for name in RUN_FILES:
        try:
            st = os.lstat(out / name)
        except (FileNotFoundError, NotADirectoryError):  # check_writable says what is wrong with `out` itself
            continue
        except OSError as exc:
            raise UsageError(f"cannot use {out}: cannot read {name} ({exc.strerror or exc})") from None
        what = ("a symbolic link" if stat.S_ISLNK(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode)
                else "not a plain file" if not stat.S_ISREG(st.st_mode)
                else "a hard link shared with another file" if st.st_nlink > 1 else None)
        if fresh and name == TRACE and what is None:
            raise UsageError(f"{out} already holds a run: pass --resume to continue it, or another --out")
        if fresh:
            raise UsageError(f"{out} already holds {name}" + (f" ({what})" if what else "") + ", which a new run "
                             "would write over: pick another --out, or remove it")
        if what and (name in (TRACE, METRICS) or not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode))):
            raise DamagedRun(f"cannot resume {out}: its {name} is {what}, and a run writes only its own files; "
                             "start the run again with another --out")


def read_checkpoint(out: str | Path) -> dict:
    """DIR/checkpoint.json, checked against the files it points into: each must be at least as long as the
    checkpoint says, the trace must end a line there, and that line must be the checkpoint's last turn (or
    the header, at turn 0). Raises DamagedRun, saying what is wrong, instead of resuming onto bad data."""
    out = Path(out)
    fix = "the run cannot be resumed; start it again with another --out"
    if not (out / TRACE).is_file():
        raise DamagedRun(f"cannot resume {out}: it has {CHECKPOINT} but no {TRACE}; {fix}")
    try:
        data = orjson.loads((out / CHECKPOINT).read_bytes())
        recorded = data.pop("checkpoint_sha256", None) if isinstance(data, dict) else None
        if isinstance(data, dict) and recorded != checkpoint_digest(data):
            raise DamagedRun(f"cannot resume {out}: {CHECKPOINT} is not what the run wrote (its digest does not "
                             f"match its content); {fix}")
        checkpoint = Checkpoint.model_validate(data).model_dump()
    except OSError as exc:
        raise DamagedRun(f"cannot resume {out}: cannot read {CHECKPOINT} ({exc.strerror or exc})") from None
    except orjson.JSONDecodeError as exc:
        raise DamagedRun(f"cannot resume {out}: {CHECKPOINT} is not JSON ({str(exc)[:80]}), it was damaged "
                         f"or cut short; {fix}") from None
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "the file"
        raise DamagedRun(f"cannot resume {out}: {CHECKPOINT} is damaged ({where}: {err['msg']}); {fix}") from None
    for name, key in ((TRACE, "trace_bytes"), (METRICS, "metrics_bytes")):
        try:
            size = (out / name).stat().st_size
        except OSError as exc:
            raise DamagedRun(f"cannot resume {out}: cannot read {name} ({exc.strerror or exc}); {fix}") from None
        if size < checkpoint[key]:
            raise DamagedRun(f"cannot resume {out}: {name} has {size} bytes but its checkpoint says "
                             f"{checkpoint[key]}; the file was cut short or the checkpoint is wrong; {fix}")
    last = _line_ending_at(out / TRACE, checkpoint["trace_bytes"])
    try:
        record = orjson.loads(last)
        ok = (record.get("kind") == "header" if checkpoint["turn"] == 0
              else record.get("turn") == checkpoint["turn"] - 1)
    except (orjson.JSONDecodeError, AttributeError):
        ok = False
    if not ok:
        raise DamagedRun(f"cannot resume {out}: {TRACE} does not end turn {checkpoint['turn'] - 1} where its "
                         f"checkpoint says ({checkpoint['trace_bytes']} bytes); {fix}")
    # the state to go on from is the one the trace recorded last: a checkpoint re-signed after an edit (a
    # negative purse, a short column) would otherwise resume a run that never happened
    if record.get("initial_state" if checkpoint["turn"] == 0 else "state") != checkpoint["state"]:
        raise DamagedRun(f"cannot resume {out}: the state in {CHECKPOINT} is not the one {TRACE} recorded for turn "
                         f"{checkpoint['turn'] - 1}; {fix}")
    for name, key in ((TRACE, "trace"), (METRICS, "metrics")):
        if _digest(out / name, checkpoint[f"{key}_bytes"]).hexdigest() != checkpoint[f"{key}_sha256"]:
            raise DamagedRun(f"cannot resume {out}: the first {checkpoint[f'{key}_bytes']} bytes of {name} are "
                             f"not the ones its checkpoint recorded: the file was changed after the run wrote "
                             f"it; {fix}")
    if checkpoint["turn"] > 0:  # the last turn as the world's invariants read it: the state before, the events
        try:
            before = orjson.loads(_line_ending_at(out / TRACE, checkpoint["trace_bytes"] - len(last)))
            checkpoint["last_turn"] = {"before": before.get("initial_state" if checkpoint["turn"] == 1 else "state"),
                                       "events": record.get("events")}
        except (orjson.JSONDecodeError, AttributeError):
            raise DamagedRun(f"cannot resume {out}: {TRACE} has no readable line before turn "
                             f"{checkpoint['turn'] - 1}; {fix}") from None
    return checkpoint


def checkpoint_digest(data: dict) -> str:
    return hashlib.sha256(dumps(data, orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)).hexdigest()


def _digest(path: Path, size: int) -> Any:
    """A sha256 object fed the first `size` bytes of `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while size > 0:
            block = f.read(min(size, 1 << 20))
            if not block:
                break
            digest.update(block)
            size -= len(block)
    return digest


def _line_ending_at(path: Path, end: int) -> bytes:
    """The line of `path` whose newline is byte end-1 (b"" when there is none)."""
    if end <= 0:
        return b""
    with open(path, "rb") as f:
        f.seek(end - 1)
        if f.read(1) != b"\n":
            return b""
        start, chunk = end - 1, 1 << 16
        while start > 0:
            f.seek(max(0, start - chunk))
            block = f.read(start - max(0, start - chunk))
            cut = block.rfind(b"\n")
            if cut >= 0:
                start = start - len(block) + cut + 1
                break
            start = max(0, start - chunk)
        f.seek(start)
        return f.read(end - start)


def remove_stale_temporaries(out: Path) -> None:
    """Temporary files of an atomic write that a kill interrupted (they are never the only copy)."""
    for name in (CHECKPOINT, SUMMARY):
        for tmp in out.glob(f"{name}*.tmp"):
            tmp.unlink(missing_ok=True)


def read_header(path: str | Path) -> dict:
    """The header of a trace; DamagedRun (one line: what is wrong) for anything that is not a trace."""
    path = Path(path)
    if os.path.isdir(path):
        if path.name == TRACE or os.path.lexists(path / TRACE):
            inner = path if path.name == TRACE else path / TRACE
            raise DamagedRun(f"{inner} is not a trace file but a folder or another kind of file")
        raise DamagedRun(f"{path} is a folder: pass the trace inside it ({path / TRACE})")
    try:
        with open(path, "rb") as f:
            first = f.readline(MAX_HEADER_BYTES)
    except OSError as exc:
        raise DamagedRun(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        header = orjson.loads(first) if first.endswith(b"\n") else None
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("kind") != "header":
        raise DamagedRun(f"{path} is not a smallworlds trace: its first line is not a complete trace header")
    if not isinstance(header.get("config"), dict) or not isinstance(header["config"].get("world"), str):
        raise DamagedRun(f"{path}: the trace header has no run configuration (config.world)")
    return header


def iter_turns(path: str | Path) -> Iterator[Turn]:
    """Turn records of a trace, in order. A torn last line (a run killed mid-write) is skipped; a damaged
    line before it raises DamagedRun naming the line."""
    with open(path, "rb") as f:
        f.readline()
        for number, line in enumerate(f, start=2):
            if not line.endswith(b"\n"):
                break
            try:
                yield Turn.from_json(orjson.loads(line))
            except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError) as exc:
                raise DamagedRun(f"{path}: line {number} is not a turn record ({type(exc).__name__}: "
                                 f"{str(exc)[:80]}); the trace was damaged") from None


def load_trace(path: str | Path) -> tuple[dict, list[Turn]]:
    return read_header(path), list(iter_turns(path))
