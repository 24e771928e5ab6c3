"""The fault fuzz of the second act's seats and of forks (issue 28), beside bench/fuzz_bench.py's: whole wood
runs with hostile patron acts and a seat answered badly, then replayed and forked; traces damaged in the
ways found by hand (turn events that are not a list of objects, legend and patron events without their
fields, header settings of the wrong kind, torn and dropped lines, random bytes), then replayed and forked;
and forks SIGKILLed at a random moment, then resumed. Counted as in fuzz_bench: a crash is anything raised,
or an exit other than 0 (replay: also 1, "differs") or one `error:` line with 2; a corruption is a source
file that changed, a refused command that left files behind (other than a fork's turns so far, which it
names for removal), a recorded answer longer than MAX_REPLY_CHARS, or a finished run or fork that replay
does not reproduce, or that differs from the same fork never stopped.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from agents.backends.human import HumanBackend, Seat
from agents.policies import scripted
from bench.fuzz_kit import damage, hostile_text, quiet, sound
from sim import Engine
from sim.parse import MAX_REPLY_CHARS
from sim.policy import PolicyOptions
from sim.trace import load_trace
from worlds.wood import WoodWorld

NAMES = ["Bramble", "Clover", "Juniper", "Moss", "Thorn"]
SOURCE_TURNS = 10


def hostile_act(rnd: random.Random) -> dict:
    """A patron act as a hostile page might send it: half the time one the wood accepts (which may still be
    refused when applied: a purse too thin), else unknown kinds and names, pebbles past the bounds or
    negative, text too long, fields of the wrong type, missing or extra keys."""
    text = rnd.choice(["honey will be dear", "x" * 160, "\ud800 lone", "a\nb\x00c", "{\"orders\": []}"])
    if rnd.random() < 0.5:
        return {"do": rnd.choice(["lend", "whisper", "bribe"]), "to": rnd.choice(NAMES),
                "pebbles": rnd.choice([1, 5, 20]), "text": text, "due_in": rnd.choice([1, 3, 8])}
    act = {"do": rnd.choice(["lend", "whisper", "bribe", "fly", 3]), "to": rnd.choice([*NAMES, "Nobody", "", None]),
           "pebbles": rnd.choice([0, 1, 10**9, -3, "5", 2.5]), "text": rnd.choice([text, "", "x" * 200, 7]),
           "due_in": rnd.choice([1, 0, 99])}
    for key in rnd.sample(sorted(act), rnd.randrange(3)):
        del act[key]
    if rnd.random() < 0.2:
        act["extra"] = True
    return act


def play(out: Path, rnd: random.Random, turns: int, seat: bool) -> tuple[int, int]:
    """A wood run written to `out` with hostile patron acts queued between turns and, when `seat`, one
    creature's seat answered with hostile text (or not at all) from another thread. Returns (acts queued,
    acts refused at once)."""
    engine = Engine(WoodWorld(agents=5), scripted(PolicyOptions(seed=rnd.randrange(100))), seed=rnd.randrange(100),
                    out=out)
    queued = refused = 0
    stop = threading.Event()
    if seat:
        chair = Seat(rnd.choice(NAMES), timeout=0.3)
        engine.policy = engine.policy.with_seat(chair.agent, HumanBackend(chair))
        answers = [hostile_text(rnd) or "", "x" * rnd.choice([10, MAX_REPLY_CHARS + 1, 2_000_000])]

        def person():
            while not stop.is_set():
                q = chair.question
                if q is not None and rnd.random() < 0.8:
                    chair.answer(rnd.choice(answers), turn=q.turn)
                    chair.answer("{}", turn=q.turn)  # a second answer: never counts
                time.sleep(0.01)

        threading.Thread(target=person, daemon=True).start()
    try:
        for _ in range(turns):
            for _ in range(rnd.randrange(4)):
                try:
                    engine.patron(hostile_act(rnd))
                    queued += 1
                except ValueError:
                    refused += 1
            engine.step()
    finally:
        stop.set()
        engine.close()
    return queued, refused


def fault_patrons(n: int, seed: int = 0) -> dict:
    """`n` whole runs with hostile patron acts (every other one with a hostile seat), each replayed and
    forked at a random turn: the fork's first turns must be the source's, and the fork must replay."""
    rnd = random.Random(seed)
    crashes = corruptions = acts = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(n):
            out, forked = Path(tmp) / f"run{k}", Path(tmp) / f"fork{k}"
            try:
                queued, _ = play(out, rnd, 6, seat=k % 2 == 1)
                acts += queued
                at = rnd.randrange(7)
                code, _ = quiet(["fork", str(out), "--at", str(at), "--out", str(forked), "--quiet"])
                crashes += code != 0
                if code == 0:
                    _, source = load_trace(out / "trace.jsonl")
                    _, fork = load_trace(forked / "trace.jsonl")
                    same = [t.state for t in fork[:at]] == [t.state for t in source[:at]]
                    long = any(len(d.reply or "") > MAX_REPLY_CHARS for t in source for d in t.decisions)
                    corruptions += not (same and not long and sound(out) and sound(forked))
            except Exception:
                crashes += 1
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(forked, ignore_errors=True)
    return {"cases": n, "patron acts": acts, "crashes": crashes, "corruptions": corruptions}


def _edit(lines: list[bytes], number: int, change) -> list[bytes]:
    data = json.loads(lines[number])
    change(data)
    return [*lines[:number], json.dumps(data).encode() + b"\n", *lines[number + 1:]]


def _events(events):
    return lambda turn: turn.update(events=events)


# each takes the trace's lines and a random source, returns the damaged lines (`number`: a turn line)
TRACE_DAMAGE = {
    "events null": lambda ls, n, r: _edit(ls, n, _events(None)),
    "events text": lambda ls, n, r: _edit(ls, n, _events("abc")),
    "events not objects": lambda ls, n, r: _edit(ls, n, _events([1, "x", None])),
    "decisions null": lambda ls, n, r: _edit(ls, n, lambda t: t.update(decisions=None)),
    "legend without name": lambda ls, n, r: _edit(ls, n, _events([{"kind": "legend"}])),
    "legend unknown": lambda ls, n, r: _edit(ls, n, _events([{"kind": "legend", "name": "plague"}])),
    "legend name not text": lambda ls, n, r: _edit(ls, n, _events([{"kind": "legend", "name": r.choice([[1], 7,
                                                                                                         None])}])),
    "patron without act": lambda ls, n, r: _edit(ls, n, _events([{"kind": r.choice(["patron", "patron_refused"])}])),
    "patron invalid act": lambda ls, n, r: _edit(ls, n, _events([{"kind": "patron", "act": r.choice(
        [{"do": "fly"}, "lend", None, {"do": "lend", "to": "Moss", "pebbles": -1}])}])),
    "header turns": lambda ls, n, r: _edit(ls, 0, lambda h: h["config"].update(turns=r.choice(["abc", -5, 2.5]))),
    "header seed": lambda ls, n, r: _edit(ls, 0, lambda h: h["config"].update(seed=r.choice(["x", -1, 2**64]))),
    "header temperature": lambda ls, n, r: _edit(ls, 0, lambda h: h["config"].update(temperature=r.choice(
        ["hot", -1, 1e308]))),
    "header interventions": lambda ls, n, r: _edit(ls, 0, lambda h: h.update(interventions=r.choice([["x"],
                                                                                                       {"1": 5}]))),
    "torn last line": lambda ls, n, r: [*ls[:-1], ls[-1][:r.randrange(1, len(ls[-1]))]],
    "line dropped": lambda ls, n, r: [*ls[:n], *ls[n + 1:]],
    "line twice": lambda ls, n, r: [*ls[:n + 1], *ls[n:]],
}


def fault_damaged_forks(n: int, seed: int = 0) -> dict:
    """`n` damaged copies of a run whose patron acted, each replayed and forked at a random turn."""
    rnd = random.Random(seed)
    crashes = corruptions = refused = 0
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        play(top / "source", rnd, SOURCE_TURNS, seat=False)
        lines = (top / "source" / "trace.jsonl").read_bytes().splitlines(keepends=True)
        kinds = [*TRACE_DAMAGE, "random bytes"]
        for k in range(n):
            case, forked = top / f"case{k}", top / f"fork{k}"
            case.mkdir()
            kind = kinds[k % len(kinds)]
            if kind == "random bytes":
                (case / "trace.jsonl").write_bytes(b"".join(lines))
                damage(case / "trace.jsonl", rnd)
            else:
                damaged = TRACE_DAMAGE[kind](lines, rnd.randrange(1, len(lines)), rnd)
                (case / "trace.jsonl").write_bytes(b"".join(damaged))
            before = {p.name: p.read_bytes() for p in case.iterdir()}
            for argv, fine in ((["replay", str(case / "trace.jsonl")], (0, 1)),
                               (["fork", str(case), "--at", str(rnd.randrange(SOURCE_TURNS + 1)), "--out", str(forked),
                                 "--quiet"], (0,))):
                try:
                    code, err = quiet(argv)
                    if code == 2:
                        refused += 1
                        crashes += not (err.startswith("error: ") and err.count("\n") == 1)
                        corruptions += forked.exists() and "remove" not in err  # a fork stopped mid-replay says so
                    elif code not in fine:
                        crashes += 1
                    elif argv[0] == "fork":
                        corruptions += not sound(forked)
                except Exception:
                    crashes += 1
                shutil.rmtree(forked, ignore_errors=True)
            corruptions += {p.name: p.read_bytes() for p in case.iterdir()} != before
            shutil.rmtree(case)
    return {"cases": n, "commands": 2 * n, "refused": refused, "crashes": crashes, "corruptions": corruptions}


def fault_killed_forks(n: int, seed: int = 0) -> dict:
    """`n` forks of a run whose patron acted, each SIGKILLed at a random moment (before its first
    checkpoint, mid-replay, mid-write, after it), then resumed without flags: the same fork as one never
    stopped. A fork killed before it wrote anything, or mid-way through its header (refused in one line:
    nothing says how it was set up), is counted apart."""
    rnd = random.Random(seed)
    crashes = corruptions = unstarted = refused = 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                      os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        play(top / "source", rnd, SOURCE_TURNS, seat=False)
        whole: dict[int, list] = {}
        for k in range(n):
            at, out = rnd.randrange(SOURCE_TURNS + 1), top / f"fork{k}"
            argv = ["fork", str(top / "source"), "--at", str(at), "--turns", str(SOURCE_TURNS + 4), "--policy",
                    "chaos", "--quiet"]
            try:
                if at not in whole:
                    if quiet([*argv, "--out", str(top / f"whole{at}")])[0] != 0:
                        raise RuntimeError(f"the fork at {at} never stopped fails")
                    whole[at] = [t.state for t in load_trace(top / f"whole{at}" / "trace.jsonl")[1]]
            except Exception:  # the fork never stopped fails already
                crashes += 1
                continue
            proc = subprocess.Popen([sys.executable, "-m", "sim", *argv, "--out", str(out)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(0.3, 3.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if not (out / "trace.jsonl").exists():
                unstarted += 1
                continue
            try:
                code, err = quiet(["run", "--quiet", "--resume", "--out", str(out)])
                if code == 2 and err.startswith("error: ") and err.count("\n") == 1:
                    refused += 1  # killed mid-header: nothing says how the fork was set up, and the line says so
                elif code != 0:
                    crashes += 1
                else:
                    resumed = [t.state for t in load_trace(out / "trace.jsonl")[1]]
                    corruptions += resumed != whole[at] or not sound(out)
            except Exception:
                crashes += 1
            shutil.rmtree(out)
    return {"cases": n, "killed before writing": unstarted, "refused": refused, "crashes": crashes,
            "corruptions": corruptions}
