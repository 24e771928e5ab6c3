"""The long fuzz run behind docs/reliability.md: many more hostile replies than CI has time for, the chaos
council over many seeds of every registered world with its invariants checked after every turn, and the
fault fuzz: whole runs fed hostile replies, hostile HTTP answers from a loopback server, and damaged trace,
checkpoint and metrics files to resume from. A fault case counts as a crash when anything raises or a
command ends other than with exit 0 or one `error:` line and exit 2, and as a corruption when a trace on disk
is not JSONL that replay accepts, a refused run's files changed, or a resumed run differs from an
uninterrupted one.

    python -m bench fuzz [--replies 20000] [--seeds 200] [--turns 30] [--runs 300] [--answers 300] [--damages 500]
                         [--patrons 100] [--forks 300] [--kills 40]

The second act's seats and forks have their own cases in bench/fuzz_forks.py.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from agents.backends.openai import OpenAIBackend
from agents.council import Council
from agents.policies import chaos
from bench.fuzz_forks import fault_damaged_forks, fault_killed_forks, fault_patrons
from bench.fuzz_kit import SEEDS_OF_TEXT, damage, hostile_text, mutate, quiet, sound
from bench.machine import write_result
from sim import Engine, registry
from sim.parse import parse
from sim.policy import PolicyOptions, Reply
from sim.trace import load_trace


def fuzz_replies(n: int, seed: int = 0) -> dict:
    rnd = random.Random(seed)
    counts = {"valid": 0, "repaired": 0, "noop": 0}
    start = time.perf_counter()
    for name in registry.world_names():
        world = registry.get_world(name)()
        state = world.initial_state(np.random.default_rng(seed))
        agents = world.agents(state)
        for _ in range(n // len(registry.world_names())):
            text = rnd.choice(SEEDS_OF_TEXT)
            for _ in range(rnd.randrange(1, 4)):
                text = mutate(text, rnd)
            decision, _ = parse(Reply(text), world, state, rnd.choice(agents))
            counts[decision.status] += 1
    return {**counts, "seconds": round(time.perf_counter() - start, 1)}


def chaos_runs(seeds: int, turns: int) -> list[dict]:
    rows = []
    for name in registry.world_names():
        broken, played = 0, 0
        for seed in range(seeds):
            world = registry.get_world(name)()
            engine = Engine(world, chaos(PolicyOptions(seed=seed)), seed=seed)
            for _ in range(turns):
                if world.done(engine.state):
                    break
                previous = engine.state
                turn = engine.step()
                broken += len(world.invariants(engine.state, previous, turn.events))
                played += 1
        rows.append({"world": name, "seeds": seeds, "turns": played, "broken_invariants": broken})
    return rows


# --- faults: whole runs, HTTP answers, damaged files ----------------------------------------------------
class _Hostile:
    name, model, is_model = "fuzz", "hostile", True

    def __init__(self, rnd: random.Random):
        self.rnd = rnd

    def generate(self, turn, asks):
        return [Reply(hostile_text(self.rnd), prompt_tokens=self.rnd.choice([None, 10**30, -5, 12]),
                      output_tokens=self.rnd.choice([None, 2**64, 7])) for _ in asks]


def fault_runs(n: int, seed: int = 0) -> dict:
    rnd = random.Random(seed)
    crashes = corruptions = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(n):
            name = registry.world_names()[k % len(registry.world_names())]
            out = Path(tmp) / f"run{k}"
            try:
                list(Engine(registry.get_world(name)(), Council.of(_Hostile(rnd)), seed=k, out=out).run(3))
            except Exception:
                crashes += 1
                continue
            corruptions += not sound(out)
            shutil.rmtree(out)
    return {"cases": n, "crashes": crashes, "corruptions": corruptions}


NAMES = ["Bramble", "Clover", "Juniper", "Moss", "Thorn"]


def hostile_answer(rnd: random.Random) -> tuple[int, bytes]:
    good = json.dumps({"orders": [], "say": "hi"})
    choice = rnd.choice([{"message": {"content": good}}, {"message": {"content": rnd.choice([None, 5, [1]])}},
                         {"message": "x"}, {}, None, "choice", {"message": {"content": good}, "finish_reason": 3}])
    usage = rnd.choice([None, "lots", 7, [1], {"prompt_tokens": 10**30}, {"completion_tokens": "9"},
                        {"prompt_tokens": -1, "completion_tokens": True}])
    body = rnd.choice([{"choices": [choice], "usage": usage}, {"choices": []}, {"choices": "none"}, [1, 2], None,
                       {"usage": usage}])
    k = rnd.randrange(8)
    if k == 0:
        return 0, b""  # hang up
    if k == 1:
        return rnd.choice([400, 429, 500, 503]), b"busy"
    if k == 2:
        return 200, bytes(rnd.randrange(256) for _ in range(rnd.randrange(40)))
    return 200, json.dumps(body).encode()


class AgentAnswers(BaseHTTPRequestHandler):
    """An OpenAI-compatible server on loopback that answers each creature's request with the (status, body)
    set for it in `answers`; status 0 hangs up instead. Shared with tests/test_fuzz_faults.py."""

    answers: dict[str, tuple[int, bytes]] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._send(200, json.dumps({"data": [{"id": "tiny"}]}).encode())

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        who = next(n for n in NAMES if f"You are {n}," in body["messages"][-1]["content"])
        code, payload = self.answers[who]
        if code == 0:
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(code, payload)

    def _send(self, code, payload):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def fault_answers(n: int, seed: int = 0) -> dict:
    """`n` turns of five agents against a loopback server giving each agent a hostile answer."""
    rnd = random.Random(seed)
    crashes = corruptions = wiped = 0
    httpd = QuietServer(("127.0.0.1", 0), AgentAnswers)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    backend = OpenAIBackend(f"http://127.0.0.1:{httpd.server_address[1]}", "tiny", timeout=5, retries=0, deadline=10)
    world = registry.get_world("wood")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for k in range(n):
                AgentAnswers.answers = {name: hostile_answer(rnd) for name in NAMES}
                out = Path(tmp) / f"run{k}"
                try:
                    turn = next(Engine(world(agents=5), Council.of(backend), seed=k, out=out).run(1))
                except Exception:
                    crashes += 1
                    continue
                wiped += any("turn failed" in (d.reason or "") for d in turn.decisions)
                corruptions += not sound(out)
                shutil.rmtree(out)
    finally:
        backend.close()
        httpd.shutdown()
    return {"cases": n * len(NAMES), "crashes": crashes + wiped, "corruptions": corruptions}


FILES = ["trace.jsonl", "checkpoint.json", "metrics.csv"]


def fault_files(n: int, seed: int = 0) -> dict:
    """`n` damaged copies of a 4-turn run, each resumed to 7 turns: resumed exactly as an uninterrupted run,
    or refused with one error line and every file left as it was."""
    rnd = random.Random(seed)
    crashes = corruptions = refused = 0
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        for name, turns in (("stopped", 4), ("whole", 7)):
            quiet(["run", "--quiet", "--turns", str(turns), "--seed", "3", "--out", str(top / name)])
        whole = [t.state for t in load_trace(top / "whole" / "trace.jsonl")[1]]
        for k in range(n):
            out = top / f"case{k}"
            shutil.copytree(top / "stopped", out)
            for _ in range(rnd.randrange(1, 3)):
                target = out / rnd.choice(FILES)
                if target.exists():
                    damage(target, rnd)
            before = {p.name: p.read_bytes() for p in out.iterdir()}
            try:
                code, err = quiet(["run", "--quiet", "--turns", "7", "--resume", "--out", str(out)])
            except Exception:
                crashes += 1
                continue
            if code == 2:
                refused += 1
                crashes += not (err.startswith("error: ") and err.count("\n") == 1)
                corruptions += {p.name: p.read_bytes() for p in out.iterdir()} != before
            elif code == 0:
                same = [t.state for t in load_trace(out / "trace.jsonl")[1]] == whole
                corruptions += not (same and sound(out))
            else:
                crashes += 1
            shutil.rmtree(out)
    return {"cases": n, "refused": refused, "resumed": n - refused, "crashes": crashes, "corruptions": corruptions}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench fuzz")
    p.add_argument("--replies", type=int, default=20_000)
    p.add_argument("--seeds", type=int, default=200)
    p.add_argument("--turns", type=int, default=30)
    p.add_argument("--runs", type=int, default=300, help="whole runs fed hostile replies")
    p.add_argument("--answers", type=int, default=300, help="turns against a loopback server answering badly")
    p.add_argument("--damages", type=int, default=500, help="damaged runs to resume")
    p.add_argument("--patrons", type=int, default=100, help="runs with hostile patron acts and seats, forked")
    p.add_argument("--forks", type=int, default=300, help="damaged traces to replay and fork")
    p.add_argument("--kills", type=int, default=40, help="forks SIGKILLed at random, then resumed")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    faults = {"replies in whole runs": fault_runs(args.runs), "HTTP answers": fault_answers(args.answers),
              "damaged files, then --resume": fault_files(args.damages),
              "patron acts and seats, replayed and forked": fault_patrons(args.patrons),
              "damaged traces, replayed and forked": fault_damaged_forks(args.forks),
              "forks killed at random, then --resume": fault_killed_forks(args.kills)}
    print("| fault fuzz | cases | crashes | corruptions |\n|---|---:|---:|---:|")
    for what, r in faults.items():
        print(f"| {what} | {r['cases']} | {r['crashes']} | {r['corruptions']} |")
    replies = fuzz_replies(args.replies)
    runs = chaos_runs(args.seeds, args.turns)
    print(f"{sum(replies[k] for k in ('valid', 'repaired', 'noop'))} fuzzed replies in {replies['seconds']} s, "
          f"none raised: {replies['valid']} valid, {replies['repaired']} repaired, {replies['noop']} no-ops")
    print("| world | seeds | turns played | broken invariants |\n|---|---:|---:|---:|")
    for r in runs:
        print(f"| {r['world']} | {r['seeds']} | {r['turns']} | {r['broken_invariants']} |")
    write_result(args.json, "fuzz", replies=replies, chaos=runs, faults=faults)


if __name__ == "__main__":
    main()
