"""`python -m bench model --compare process|threads|dtype|graph|int8`: vLLM CPU settings side by side, in one run;
`python -m bench model --load-arrives [--threads N]`: one engine's turns, back to back, as a busy process comes
and goes.

Each setting plays one turn that is not kept (so a setting never pays for the one before it: a thread pool
that grows takes a turn to settle), then the settings take turns round by round (so a load that comes or
goes on this shared machine meets each alike), on the same fresh asks as the others, at each
agent count in turn (`--agents 5,50`; the engines are built once). A
setting is an engine of its own in this process (its environment set before it starts), or, for thread
counts, a backend on one shared engine that sets torch's threads before each of its turns. With
`--contention` each setting then plays `rounds + 1` turns beside one competing CPU-bound process (a busy
loop), as a live demo meets a laptop that got busy: the first turn is the one during which the load arrived,
the rest show where the setting settles. A fair share of two cores is ~2x a quiet turn;
much more means the engine's threads fight the competitor (each parallel region waiting for the thread that
shares a core with it, or threads spinning while they wait for each other).

    process  the engine in this process (agents/cpu.py's plan) vs vLLM's own engine-core and worker processes
    threads  torch threads: the cores other processes leave free (the plan) vs one per core vs one
    dtype    float32 vs bfloat16 (bf16 is fast only with AVX-512 BF16 or AMX; agents/cpu.py)
    graph    eager vs vLLM's compiled graphs, the plan where a C++ compiler runs (torch.compile; the first
             start compiles, later ones read vLLM's compile cache)
    int8     the embedded model in the plan's float dtype vs its int8 copy (W8A8: int8 weights per channel,
             int8 activations per token; agents/w8a8.py), both greedy, with each one's share of valid replies,
             of no-ops, and of replies that differ from the float model's own

Each setting's start-up (building its engine, compiling included) is reported beside its turns.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

ENV_KEYS = ("VLLM_ENABLE_V1_MULTIPROCESSING",)
IDLE_S = 1.5
# name -> (environment for that engine, VLLMBackend options); settings with the same environment and engine
# options share one engine
GROUPS: dict[str, dict[str, tuple[dict, dict]]] = {
    "process": {"in this process (the plan)": ({"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}, {}),
                "vLLM's own processes": ({"VLLM_ENABLE_V1_MULTIPROCESSING": "1"}, {})},
    "threads": {"the cores left free (the plan)": ({}, {"threads": None}),
                "one thread per core": ({}, {"threads": len(os.sched_getaffinity(0))}),
                "one thread": ({}, {"threads": 1})},
    "dtype": {"float32": ({}, {"dtype": "float32"}), "bfloat16": ({}, {"dtype": "bfloat16"})},
    "graph": {"eager": ({}, {"enforce_eager": True}),
              "compiled graphs (the plan)": ({}, {"enforce_eager": False})},
    "int8": {"float (the plan's dtype)": ({}, {"model": "float", "temperature": 0.0}),
             "int8 (W8A8)": ({}, {"model": "int8", "temperature": 0.0})},
}


def _embedded(kind: str) -> str:
    """The embedded model's folder of this kind ("float": the converted one, "int8": its W8A8 copy)."""
    from agents.embedded import embedded_int8_path, embedded_model_path

    return (embedded_int8_path if kind == "int8" else embedded_model_path)()


def busy_loop() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run(model: str | None, group: str, agents: list[int], rounds: int = 3, contention: bool = False) -> dict:
    from agents.backends.vllm import VLLMBackend
    from bench.model_profile import fresh_asks, turn

    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    engines, startup = {}, {}
    for i, (name, (env, options)) in enumerate(GROUPS[group].items()):
        _restore(saved)
        os.environ.update(env)
        # engines are shared by model, length and engine options: a distinct length gives a setting that differs
        # only in its environment an engine of its own
        length = 4096 - i if env else 4096
        options = dict(options)
        folder = _embedded(options.pop("model")) if "model" in options else model
        start = time.perf_counter()
        engines[name] = VLLMBackend(folder, seed=0, max_model_len=length, **options)
        startup[name] = round(time.perf_counter() - start, 1)
        turn(engines[name], fresh_asks(agents[0], 1))  # warm-up
    _restore(saved)
    rows = []
    for n in agents:
        rows += _play_all(engines, n, rounds, contention)
    for row in rows:
        row["startup_s"] = startup[row["setting"]]
    return {"group": group, "agents": agents, "rounds": rounds, "rows": rows}


def _play_all(engines: dict, agents: int, rounds: int, contention: bool) -> list[dict]:
    """Every setting's turns at this agent count: a row per setting."""
    from bench.model_profile import fresh_asks, turn

    per_token: dict[tuple[str, bool], list[float]] = {}
    seconds: dict[tuple[str, bool], list[float]] = {}
    cpu_seconds: dict[tuple[str, bool], list[float]] = {}
    quality: dict[str, list[dict]] = {}
    first_loaded: dict[str, float] = {}

    def play(name: str, backend, asks, loaded: bool | None) -> float:
        """One timed turn, kept among the quiet (False) or the loaded (True) ones, or not kept (None). Turns
        follow each other without a pause, as in a run: a thread that slept a while before its turn is
        favoured by the scheduler over a busy competitor, which hid the contention this measures."""
        result = turn(backend, asks, keep_replies=loaded is False)
        if loaded is not None:
            per_token.setdefault((name, loaded), []).append(result["seconds"] / result["output_tokens"])
            seconds.setdefault((name, loaded), []).append(result["seconds"])
            cpu_seconds.setdefault((name, loaded), []).append(result["cpu_s"])
        if loaded is False:
            quality.setdefault(name, []).append(result)
        return result["seconds"]

    for r in range(rounds):
        # settings take turns round by round, so a load that comes or goes on a shared machine meets each alike
        for name, backend in engines.items():
            # vLLM's processes busy-wait for a second after their last message: let the engine that played last
            # go quiet, or its spinning is charged to this setting
            time.sleep(IDLE_S)
            if r == 0:
                play(name, backend, fresh_asks(agents, 4), None)
            play(name, backend, fresh_asks(agents, 5 + r), False)
    for name, backend in engines.items() if contention else ():
        rival = busy_loop()
        try:
            first_loaded[name] = round(play(name, backend, fresh_asks(agents, 4), None), 2)
            for r in range(rounds):
                play(name, backend, fresh_asks(agents, 5 + r), True)
        finally:
            rival.kill()
            rival.wait()
    rows = []
    first = next(iter(engines))
    for name in engines:
        turns = quality[name]
        row = {"setting": name, "agents": agents,
               "quiet_s_per_token": round(statistics.median(per_token[(name, False)]), 4),
               "quiet_spread": _spread(per_token[(name, False)]),
               "quiet_s_per_turn": round(statistics.median(seconds[(name, False)]), 2),
               "quiet_turns_s": seconds[(name, False)],
               "quiet_cpu_s_per_turn": round(statistics.median(cpu_seconds[(name, False)]), 2),
               "quiet_turns_cpu_s": cpu_seconds[(name, False)],
               "valid_json": round(statistics.mean(t["valid_json"] for t in turns), 3),
               "noop": round(statistics.mean(t["noop"] for t in turns), 3),
               "output_tokens": round(statistics.mean(t["output_tokens"] for t in turns), 1),
               # the same asks were played by every setting: how many replies differ from the first one's
               "differ": round(statistics.mean(_differ(t["replies"], f["replies"])
                                               for t, f in zip(turns, quality[first])), 3)}
        if contention:
            row["first_loaded_s_per_turn"] = first_loaded[name]
            row["contended_s_per_token"] = round(statistics.median(per_token[(name, True)]), 4)
            row["contended_s_per_turn"] = round(statistics.median(seconds[(name, True)]), 2)
            row["ratio"] = round(row["contended_s_per_token"] / row["quiet_s_per_token"], 2)
        rows.append(row)
    return rows


def _differ(replies: list, others: list) -> float:
    return sum(a != b for a, b in zip(replies, others)) / max(len(replies), 1)


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _spread(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


def table(result: dict) -> str:
    contended = "ratio" in result["rows"][0]
    lines = [f"{', '.join(map(str, result['agents']))} agents, median of {result['rounds']} turns per setting, seconds "
             "of turn per output token (replies differ in length); replies: valid JSON, no-ops, differing from the "
             "first setting's on the same asks; CPU s: this process's CPU time a turn (what it cost where other "
             "processes share the cores)", "",
             "| setting | agents | start-up s | quiet s/turn | CPU s/turn | quiet s/token | spread | vs first | valid "
             "| no-op | differ |" + (" busy: the turn the load came | then s/turn | s/token | contended / quiet |"
                             if contended else ""),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|---:|---:|" if contended else "")]
    first = {}
    for r in result["rows"]:
        ratio = r["quiet_s_per_token"] / first.setdefault(r["agents"], r["quiet_s_per_token"])
        line = (f"| {r['setting']} | {r['agents']} | {r['startup_s']} | {r['quiet_s_per_turn']} | "
                f"{r['quiet_cpu_s_per_turn']} | "
                f"{r['quiet_s_per_token']} | {r['quiet_spread']} | {ratio:.2f}× | {r['valid_json']:.0%} | "
                f"{r['noop']:.0%} | {r['differ']:.0%} |")
        if contended:
            line += (f" {r['first_loaded_s_per_turn']} | {r['contended_s_per_turn']} | {r['contended_s_per_token']} "
                     f"| {r['ratio']}× |")
        lines.append(line)
    return "\n".join(lines)


def load_arrives(model: str | None, agents: int = 5, turns: int = 4, threads: int | None = None) -> dict:
    """`turns` quiet turns, `turns + 2` beside one busy process, `turns` after it stopped: each turn's seconds
    and the torch threads it ran on, one engine, turns back to back as a run plays them. `threads`: fixed, or
    None for the plan (the cores other processes left free)."""
    import torch

    from agents.backends.vllm import VLLMBackend
    from bench.model_profile import fresh_asks, turn

    backend = VLLMBackend(model, seed=0, threads=threads)
    turn(backend, fresh_asks(agents, 1))  # warm-up
    phases: dict[str, list[dict]] = {}

    def phase(name: str, count: int) -> None:
        for r in range(count):
            result = turn(backend, fresh_asks(agents, 5 + r % turns))
            phases.setdefault(name, []).append({"seconds": result["seconds"], "threads": torch.get_num_threads(),
                                                "output_tokens": result["output_tokens"]})

    phase("quiet", turns)
    rival = busy_loop()
    try:
        phase("busy", turns + 2)
    finally:
        rival.kill()
        rival.wait()
    phase("quiet again", turns)
    quiet = statistics.median(t["seconds"] for t in phases["quiet"])
    busy = statistics.median(t["seconds"] for t in phases["busy"][1:])
    return {"agents": agents, "threads": threads or "the cores left free (the plan)", "phases": phases,
            "busy_over_quiet": round(busy / quiet, 2)}


def load_table(result: dict) -> str:
    lines = [f"{result['agents']} agents, threads: {result['threads']}; each turn's seconds (threads it ran on)", "",
             "| phase | turns |", "|---|---|"]
    for name, turns in result["phases"].items():
        cells = ", ".join(f"{t['seconds']} ({t['threads']})" for t in turns)
        lines.append(f"| {name} | {cells} |")
    lines += ["", f"busy turns after the first, median, over quiet: {result['busy_over_quiet']}×"]
    return "\n".join(lines)
