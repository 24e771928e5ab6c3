"""Every mistake a user, a file or a flag can make ends in ONE `error:` line and exit code 2, never a
traceback, and leaves the files it found exactly as they were. Table-driven: setup -> argv -> what the line
must say."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sim.cli import main
from sim.trace import checkpoint_digest, load_trace

RUN = ["run", "--quiet", "--turns", "4"]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("base") / "run"
    assert main(["run", "--quiet", "--turns", "3", "--seed", "5", "--out", str(out)]) == 0
    return out


def _edit_checkpoint(change, sign=True):
    """A checkpoint changed by `change`; signed with a matching digest, as a buggy writer would sign a lie,
    so that the checks behind the digest are reached too."""
    def setup(run: Path):
        data = json.loads((run / "checkpoint.json").read_text())
        data.pop("checkpoint_sha256")
        change(data)
        if sign:
            data["checkpoint_sha256"] = checkpoint_digest(data)
        (run / "checkpoint.json").write_text(json.dumps(data))
    return setup


def _edit_state(change, in_trace: bool):
    """The run's last state changed by `change` in its checkpoint, and (`in_trace`) in the trace's last line
    too, every digest recomputed: a forger who knows the file formats."""
    def setup(run: Path):
        data = json.loads((run / "checkpoint.json").read_text())
        data.pop("checkpoint_sha256")
        change(data["state"])
        if in_trace:
            lines = (run / "trace.jsonl").read_bytes().splitlines(keepends=True)
            turn = json.loads(lines[-1])
            turn["state"] = data["state"]
            lines[-1] = json.dumps(turn).encode() + b"\n"
            (run / "trace.jsonl").write_bytes(b"".join(lines))
            data["trace_bytes"] = (run / "trace.jsonl").stat().st_size
            data["trace_sha256"] = hashlib.sha256((run / "trace.jsonl").read_bytes()).hexdigest()
        data["checkpoint_sha256"] = checkpoint_digest(data)
        (run / "checkpoint.json").write_text(json.dumps(data))
    return setup


LOAN_TO_99 = {"from": 0, "to": 99, "pebbles": 5, "owed": 6, "due": 9}


def _write(name: str, content: bytes):
    return lambda run: (run / name).write_bytes(content)


def _cut(name: str, keep: int):
    return lambda run: (run / name).write_bytes((run / name).read_bytes()[:keep])


def _garbage_line(run: Path):
    lines = (run / "trace.jsonl").read_bytes().splitlines(keepends=True)
    lines[2] = b'{"turn": 1, "state": oops}\n'
    (run / "trace.jsonl").write_bytes(b"".join(lines))


def _edit_line(number: int, change):
    """The trace with its line `number` (0: the header) parsed, changed by `change` and written back."""
    def setup(run: Path):
        lines = (run / "trace.jsonl").read_bytes().splitlines(keepends=True)
        data = json.loads(lines[number])
        change(data)
        lines[number] = json.dumps(data).encode() + b"\n"
        (run / "trace.jsonl").write_bytes(b"".join(lines))
    return setup


def _events(*events):
    return _edit_line(2, lambda turn: turn.update(events=list(events) if events != (None,) else None))


def _replace(name: str, kind: str, alone: bool = False):
    """The run's file `name` replaced by a folder, a symbolic link (to another run's file, or dangling outside
    the folder) or a hard link to another run's file; `alone`: the run's other files removed."""
    def setup(run: Path):
        other = run.parent / "other"
        if not other.exists():
            assert main(["run", "--quiet", "--turns", "2", "--out", str(other)]) == 0
        for path in run.iterdir():
            if path.name == name or alone:
                path.unlink()
        if kind == "folder":
            (run / name).mkdir()
        elif kind == "symlink":
            (run / name).symlink_to(other / name)
        elif kind == "dangling":
            (run / name).symlink_to(run.parent / "outside.jsonl")
        else:
            os.link(other / name, run / name)
    return setup


def _council(tmp: Path, spec) -> str:
    path = tmp / "council.json"
    path.write_text(json.dumps(spec))
    return str(path)


RESUME = ["--resume"]
# (id, setup of a copy of a finished 3-turn run or None, argv after `run`/the command, what the error says)
CASES = [
    ("seed -1", None, [*RUN, "--seed", "-1"], "--seed"),
    ("seed 10**29", None, [*RUN, "--seed", str(10**29)], "from 0 to"),
    ("set pebbles=abc", None, [*RUN, "--set", "pebbles=abc"], "pebbles=abc"),
    ("set pebbles=10**20", None, [*RUN, "--set", f"pebbles={10**20}"], "pebbles <= 1000000"),
    ("set pebbles=nan", None, [*RUN, "--set", "pebbles=nan"], "known: season_turns"),
    ("set season_turns=0", None, [*RUN, "--set", "season_turns=0"], "season_turns >= 1"),
    ("set season_turns=2.5", None, [*RUN, "--set", "season_turns=2.5"], "season_turns"),
    ("set typo", None, [*RUN, "--set", "grwoth=0.5"], "no parameter 'grwoth' (known: season_turns"),
    ("set commons typo", None, [*RUN, "--world", "commons", "--set", "grwoth=0.5"], "known: capacity, stock"),
    ("set commons nan", None, [*RUN, "--world", "commons", "--set", "growth=nan"], "growth"),
    ("set no value", None, [*RUN, "--set", "pebbles"], "KEY=VALUE"),
    ("agents 0", None, [*RUN, "--agents", "0"], "at least 1"),
    ("agents -1", None, [*RUN, "--agents", "-1"], "at least 1"),
    ("agents 10**7", None, [*RUN, "--agents", str(10**7)], "agents fit"),
    ("legend never happens", None, [*RUN, "--legend", "bank_run@99", "--turns", "5"], "would never start"),
    ("legend unknown", None, [*RUN, "--legend", "dragons@1"], "unknown legend"),
    ("council no backends", "council:" + json.dumps({"backends": [], "assign": {"*": "x"}}), RUN, "council file"),
    ("council assign list", "council:" + json.dumps({"backends": {"s": {"backend": "scripted"}}, "assign": ["*"]}),
     RUN, "council file"),
    ("council no default", "council:" + json.dumps({"backends": {"s": {"backend": "scripted"}},
                                                    "assign": {"honey": "s"}}), RUN, '"*"'),
    ("council unknown backend", "council:" + json.dumps({"backends": {}, "assign": {"*": "nobody"}}), RUN, "nobody"),
    ("council not json", "council:{", RUN, "council file"),
    ("url bracket left open", None, [*RUN, "--policy", "llm", "--backend", "openai", "--url", "http://[::1"],
     "--url 'http://[::1' is not a URL"),
    ("url port past 65535", None, [*RUN, "--policy", "llm", "--url", "http://127.0.0.1:99999/v1"], "is not a URL"),
    ("url without host", None, [*RUN, "--policy", "llm", "--url", "127.0.0.1:8000"], "http(s) URL with a host"),
    ("temperature nan", None, [*RUN, "--temperature", "nan"], "temperature must be a number from 0 to 2"),
    ("temperature inf", None, [*RUN, "--temperature", "inf"], "(got inf)"),
    ("temperature -1", None, [*RUN, "--temperature", "-1"], "(got -1.0)"),
    ("temperature 1e308", None, [*RUN, "--temperature", "1e308"], "from 0 to 2"),
    ("fork temperature nan", None, ["fork", "{run}", "--at", "1", "--out", "{tmp}/new", "--temperature", "nan"],
     "temperature must be"),
    ("gif folder missing", None, [*RUN, "--gif", "/no/such/folder/run.gif"], "does not exist"),
    ("gif is a folder", None, [*RUN, "--gif", "/tmp"], "is a folder"),
    ("checkpoint garbage", _write("checkpoint.json", b"garbage"), [*RUN, *RESUME], "not JSON"),
    ("checkpoint empty", _write("checkpoint.json", b""), [*RUN, *RESUME], "not JSON"),
    ("checkpoint truncated", _cut("checkpoint.json", 120), [*RUN, *RESUME], "not JSON"),
    ("checkpoint a list", _write("checkpoint.json", b"[1, 2]"), [*RUN, *RESUME], "damaged"),
    ("checkpoint wrong type", _edit_checkpoint(lambda d: d.update(turn="3")), [*RUN, *RESUME], "turn"),
    ("checkpoint missing key", _edit_checkpoint(lambda d: d.pop("rng")), [*RUN, *RESUME], "rng"),
    ("checkpoint lying bytes", _edit_checkpoint(lambda d: d.update(trace_bytes=10**9)), [*RUN, *RESUME],
     "cut short or the checkpoint is wrong"),
    ("checkpoint off a line", _edit_checkpoint(lambda d: d.update(trace_bytes=d["trace_bytes"] - 7)),
     [*RUN, *RESUME], "does not end turn 2"),
    ("checkpoint wrong turn", _edit_checkpoint(lambda d: d.update(turn=2)), [*RUN, *RESUME], "does not end turn 1"),
    ("checkpoint digit changed", _edit_checkpoint(lambda d: d.update(seconds=d["seconds"] + 1), sign=False),
     [*RUN, *RESUME], "not what the run wrote"),
    ("checkpoint bad rng", _edit_checkpoint(lambda d: d.update(rng="{}")), [*RUN, *RESUME], "does not fit"),
    ("checkpoint bad state", _edit_checkpoint(lambda d: d.update(state={"turn": 1})), [*RUN, *RESUME],
     "is not the one trace.jsonl recorded"),
    ("checkpoint and trace bad state", _edit_state(lambda st: st.clear(), True), [*RUN, *RESUME], "does not fit"),
    ("checkpoint re-signed, pebbles -50", _edit_state(lambda st: st["pebbles"].__setitem__(0, -50), False),
     [*RUN, *RESUME], "the state in checkpoint.json is not the one trace.jsonl recorded for turn 2"),
    ("checkpoint re-signed, purse 10**9", _edit_state(lambda st: st.update(purse=10**9), False), [*RUN, *RESUME],
     "is not the one trace.jsonl recorded"),
    ("checkpoint re-signed, short column", _edit_state(lambda st: st["pebbles"].pop(), False), [*RUN, *RESUME],
     "is not the one trace.jsonl recorded"),
    ("checkpoint re-signed, loan to 99", _edit_state(lambda st: st["loans"].append(LOAN_TO_99), False),
     [*RUN, *RESUME], "is not the one trace.jsonl recorded"),
    ("trace and checkpoint re-signed, pebbles -50", _edit_state(lambda st: st["pebbles"].__setitem__(0, -50), True),
     [*RUN, *RESUME], "does not fit this world (ValueError: a creature holds negative pebbles"),
    ("trace and checkpoint re-signed, short column", _edit_state(lambda st: st["pebbles"].pop(), True),
     [*RUN, *RESUME], "columns of the wrong shape for 5 creatures"),
    ("trace and checkpoint re-signed, loan to 99", _edit_state(lambda st: st["loans"].append(LOAN_TO_99), True),
     [*RUN, *RESUME], "names a creature the wood does not have"),
    ("trace deleted", lambda run: (run / "trace.jsonl").unlink(), [*RUN, *RESUME], "no trace.jsonl"),
    ("trace truncated", _cut("trace.jsonl", 3000), [*RUN, *RESUME], "cut short"),
    ("header truncated", _cut("trace.jsonl", 50), [*RUN, *RESUME], "cut short"),
    ("trace changed", lambda run: (run / "trace.jsonl").write_bytes(
        (run / "trace.jsonl").read_bytes().replace(b'"turn":1,', b'"turn":7,', 1)), [*RUN, *RESUME], "was changed"),
    ("replay truncated header", _cut("trace.jsonl", 50), ["replay"], "not a smallworlds trace"),
    ("checkpoint deleted", lambda run: (run / "checkpoint.json").unlink(), [*RUN, *RESUME], "no checkpoint.json"),
    ("resume other agents", None, [*RUN, *RESUME, "--agents", "7"], "--agents 7 (the run has 5)"),
    ("resume other seed", None, [*RUN, *RESUME, "--seed", "0"], "--seed 0 (the run has 5)"),
    ("resume other set", None, [*RUN, *RESUME, "--set", "pebbles=30"], "--set pebbles=30"),
    ("resume other policy", None, [*RUN, *RESUME, "--policy", "chaos"], "--policy chaos"),
    ("resume other legend", None, [*RUN, *RESUME, "--legend", "bank_run@3"], "--legend bank_run@3"),
    ("run over a run", None, RUN, "already holds a run"),
    ("replay a folder without trace", "replay:folder", [], "is a folder"),
    ("replay a non-trace", "replay:file", [], "not a smallworlds trace"),
    ("replay /dev/null", "replay:/dev/null", [], "not a smallworlds trace"),
    ("replay garbage line", _garbage_line, ["replay"], "line 3 is not a turn record"),
    ("replay onto its source", None, ["replay", "--out", "{run}"], "would overwrite it"),
    ("replay onto another run", None, ["replay", "--out", "{base}"], "already holds a run"),
    ("replay events null", _events(None), ["replay"], "events is a NoneType, not a list of objects"),
    ("replay events text", _edit_line(2, lambda t: t.update(events="abc")), ["replay"], "events is a str"),
    ("replay legend without name", _events({"kind": "legend"}), ["replay"], "turn 1 holds a legend event"),
    ("replay legend name a list", _events({"kind": "legend", "name": [1]}), ["replay"], "a legend event without"),
    ("replay legend unknown", _events({"kind": "legend", "name": "plague"}), ["replay"], "legend 'plague'"),
    ("replay patron without act", _events({"kind": "patron_refused"}), ["replay"], "patron event without its act"),
    ("replay patron bad act", _events({"kind": "patron", "act": {"do": "fly"}}), ["replay"],
     "patron act its world cannot take (do:"),
    ("replay header turns text", _edit_line(0, lambda h: h["config"].update(turns="abc")), ["replay"],
     "the trace header's config cannot be used (turns must be a whole number"),
    ("replay header turns -5", _edit_line(0, lambda h: h["config"].update(turns=-5)), ["replay"],
     "the trace header's config cannot be used (turns must be a whole number, at least 0 (got -5))"),
    ("metrics a folder, resumed", _replace("metrics.csv", "folder"), [*RUN, *RESUME], "metrics.csv is a folder"),
    ("summary a folder, resumed", _replace("summary.json", "folder"), [*RUN, *RESUME], "summary.json is a folder"),
    ("trace a folder, resumed", _replace("trace.jsonl", "folder"), [*RUN, *RESUME], "trace.jsonl is a folder"),
    ("metrics a symlink, resumed", _replace("metrics.csv", "symlink"), [*RUN, *RESUME], "a symbolic link"),
    ("metrics a hard link, resumed", _replace("metrics.csv", "hardlink"), [*RUN, *RESUME], "a hard link shared"),
    ("trace dangling, resumed", _replace("trace.jsonl", "dangling"), [*RUN, *RESUME], "trace.jsonl is a symbolic"),
    ("trace dangling, new run", _replace("trace.jsonl", "dangling", alone=True), RUN,
     "already holds trace.jsonl (a symbolic link)"),
    ("metrics a folder, new run", _replace("metrics.csv", "folder", alone=True), RUN,
     "already holds metrics.csv (a folder)"),
    ("summary a folder, new run", _replace("summary.json", "folder", alone=True), RUN,
     "already holds summary.json (a folder)"),
    ("fork --out onto a symlinked metrics", _replace("metrics.csv", "symlink", alone=True),
     ["fork", "{base}", "--at", "1", "--out", "{run}"], "already holds metrics.csv (a symbolic link)"),
    ("fork --out onto a hard-linked metrics", _replace("metrics.csv", "hardlink", alone=True),
     ["fork", "{base}", "--at", "1", "--out", "{run}"], "already holds metrics.csv (a hard link shared"),
    ("replay trace a folder", _replace("trace.jsonl", "folder"), ["replay"], "is not a trace file but a folder"),
    ("view garbage line", _garbage_line, ["view", "--gif", "{tmp}/v.gif"], "line 3 is not a turn record"),
]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()} if folder.is_dir() else {}


@pytest.mark.parametrize("case, setup, argv, says", CASES, ids=[c[0] for c in CASES])
def test_a_mistake_is_one_error_line_and_changes_nothing(tmp_path, base_run, capsys, case, setup, argv, says):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    argv = [a.format(run=run, base=base_run, tmp=tmp_path) for a in argv]
    if callable(setup):
        setup(run)
    if argv[:1] == ["fork"]:
        pass
    elif argv[:1] in (["replay"], ["view"]):
        argv = [argv[0], str(run / "trace.jsonl"), *argv[1:]]
    elif isinstance(setup, str) and setup.startswith("council:"):
        (tmp_path / "council.json").write_text(setup.removeprefix("council:"))
        argv = [*argv, "--council", str(tmp_path / "council.json"), "--out", str(tmp_path / "new")]
    elif isinstance(setup, str) and setup.startswith("replay:"):
        target = {"folder": str(tmp_path), "file": __file__}.get(setup.removeprefix("replay:"),
                                                                 setup.removeprefix("replay:"))
        argv = ["replay", target]
    elif argv[:1] == ["run"]:
        into_run = "--resume" in argv or case == "run over a run" or case.endswith(", new run")
        argv = [*argv, "--out", str(run if into_run else tmp_path / "new")]
    before = _snapshot(run)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert says in lines[0]
    assert _snapshot(run) == before  # refused means refused: nothing rewritten, padded or cut
    assert not (tmp_path / "new").exists()  # not even an empty folder


def test_the_shell_sees_exit_2_and_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sim", "run", "--quiet", "--set", "season_turns=0", "--out",
                           str(tmp_path / "x")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr


@pytest.mark.skipif(not shutil.which("setpriv") or os.geteuid() != 0,
                    reason="needs root and setpriv to act as an unprivileged user (root ignores permissions)")
@pytest.mark.parametrize("argv, says", [
    (["run", "--quiet", "--turns", "5", "--resume", "--out", "{run}"], "cannot write to"),
    (["run", "--quiet", "--turns", "2", "--out", "{run}/inner"], "cannot write to"),
    (["run", "--quiet", "--turns", "2", "--out", "{tmp}/fresh", "--gif", "{run}/run.gif"], "permission denied"),
    (["replay", "{run}/trace.jsonl", "--out", "{run}/again"], "cannot write to"),
])
def test_read_only_folders_are_one_error_line(base_run, argv, says):
    top = Path(tempfile.mkdtemp(prefix="smallworlds-ro-"))  # pytest's own tmp folders are closed to others
    try:
        run = top / "run"
        shutil.copytree(base_run, run)
        for path in (top, run):
            path.chmod(0o755)  # readable by the unprivileged user, writable by nobody but root
        for path in run.iterdir():
            path.chmod(0o644)
        fresh = top / "writable"
        fresh.mkdir()
        fresh.chmod(0o777)
        argv = [a.format(run=run, tmp=fresh) for a in argv]
        before = _snapshot(run)
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                               "sim", *argv], capture_output=True, text=True, cwd=fresh)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ") and says in done.stderr
        assert _snapshot(run) == before
    finally:
        shutil.rmtree(top)


def test_set_values_are_read_by_their_declared_types(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--quiet", "--turns", "2", "--out", str(out), "--set", "pebbles=30", "--set", "aids=",
                 "--set", "season_turns=3"]) == 0
    config = json.loads((out / "trace.jsonl").read_text().splitlines()[0])["config"]
    assert (config["pebbles"], config["aids"], config["season_turns"]) == (30, "", 3)
    assert config["schema"] == "creature" and config["economy"]  # every parameter recorded, defaults too
    assert main(["replay", str(out / "trace.jsonl")]) == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 200 kB file system (tmpfs), which a 60-turn run fills: needs root, like a real full disk needs a disk."""
    disk = tmp_path / "small"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_is_one_error_line_and_the_run_resumes_where_there_is_room(small_disk, tmp_path, capsys):
    out = small_disk / "run"
    for argv in (["run", "--quiet", "--turns", "60", "--out", str(out)],
                 ["run", "--quiet", "--turns", "60", "--resume", "--out", str(out)]):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and "No space left on device" in err[0] and "--resume" in err[0], err
    roomy = tmp_path / "roomy"
    shutil.copytree(out, roomy)
    assert main(["run", "--quiet", "--resume", "--out", str(roomy)]) == 0  # the length it was started with
    assert main(["run", "--quiet", "--turns", "60", "--out", str(tmp_path / "whole")]) == 0
    _, resumed = load_trace(roomy / "trace.jsonl")
    _, whole = load_trace(tmp_path / "whole" / "trace.jsonl")
    assert [t.state for t in resumed] == [t.state for t in whole] and len(whole) == 60
