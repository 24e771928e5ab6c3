"""`python -m bench web`: the web demo's memory under repeated waves of sessions.

Each wave opens N sessions at once through the streaming API (gradio_client, as a browser tab does), plays a
few turns of a large world in each, and leaves without a word (as closed tabs do: Gradio does not reliably
tell the server). After each wave the server's resident memory is read, with what explains it: the engines
still alive against the worlds the session pool keeps, and the sessions Gradio's State still holds (closed
ones included: it keeps a tab's State for hours). A server that frees what closed sessions held stays flat
from wave to wave; one that keeps them grows by a wave's worth each time (issue 15: the seat registry kept
every engine it had seen, ~2 MB each at 1000 creatures).

    python -m bench web --waves 3 --sessions 40 --agents 1000 --turns 3
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import socket
import threading
import time

from bench.machine import machine_info, write_result


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def engines_alive() -> int:
    """Engines (each with its world and state) still reachable after a full collection."""
    from sim.engine import Engine

    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Engine)


def held_by_gradio(demo) -> int:
    """Sessions in Gradio's per-tab State, closed or not."""
    from render.web.session import Session

    return sum(isinstance(v, Session) for state in demo.state_holder.session_data.values()
               for v in state.state_data.values())


def trimmed_rss_mb() -> float | None:
    """Resident memory once glibc has handed its free heap pages back (None without glibc): what is left is
    held, the difference was freed but kept by the allocator. Read once, after the last wave, so that the
    waves measure the server as it runs."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return round(rss_mb())


def play(url: str, seed: int, agents: int, turns: int, done: list, failed: list) -> None:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False, httpx_kwargs={"timeout": 300}, analytics_enabled=False)
    except Exception as exc:  # counted, not fatal: the bench is about memory, a refused client holds none
        failed.append(f"{type(exc).__name__}: {exc}"[:200])
        return
    try:
        job = client.submit(0.0, "wood", agents, seed, "scripted", "auto", "", api_name="/play")
        for out in job:
            if isinstance(out[2], str) and out[2].count('class="turn"') >= turns:
                break
        client.predict(api_name="/pause")
        job.result(timeout=300)
        done.append(seed)
    except Exception as exc:
        failed.append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        client.close()


def run(waves: int, sessions: int, agents: int, turns: int) -> dict:
    from render.web.demo import build_demo
    from render.web.session import Sessions

    pool = Sessions()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo = build_demo(policy="scripted", sessions=pool)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    rows = [{"wave": 0, "rss_mb": round(rss_mb()), "growth_mb": 0, "live_worlds": 0, "engines": engines_alive(),
             "in_state": 0, "finished": 0, "failed": 0}]
    try:
        for wave in range(1, waves + 1):
            done: list[int] = []
            failed: list[str] = []
            threads = [threading.Thread(target=play, args=(url, wave * 1000 + i, agents, turns, done, failed))
                       for i in range(sessions)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=900)
            engines = engines_alive()
            rss = round(rss_mb())
            rows.append({"wave": wave, "rss_mb": rss, "growth_mb": rss - rows[-1]["rss_mb"],
                         "live_worlds": len(pool.live), "engines": engines, "in_state": held_by_gradio(demo),
                         "finished": len(done), "failed": len(failed),
                         "seconds": round(time.perf_counter() - start, 1)})
            print(rows[-1], flush=True)
        trimmed = trimmed_rss_mb()
    finally:
        demo.close()
    return {"waves": waves, "sessions": sessions, "agents": agents, "turns": turns, "rows": rows,
            "rss_mb_after_malloc_trim": trimmed}


def table(result: dict) -> str:
    lines = [f"{result['sessions']} sessions a wave, {result['agents']} creatures each, {result['turns']} turns, "
             "scripted policy", "",
             "| after wave | resident MB | growth MB | live worlds | MB above the start per live world | "
             "engines alive | sessions in gr.State | sessions finished | failed to connect or play |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    start = result["rows"][0]["rss_mb"]
    for r in result["rows"]:
        per_world = f"{(r['rss_mb'] - start) / r['live_worlds']:.1f}" if r["live_worlds"] else "-"
        lines.append(f"| {r['wave']} | {r['rss_mb']} | {r['growth_mb']:+} | {r['live_worlds']} | {per_world} | "
                     f"{r['engines']} | {r['in_state']} | {r['finished']} | {r['failed']} |")
    lines.append("\nengines alive beyond the live worlds are closed sessions' worlds that something still holds; "
                 "the pool (render.web.session.Sessions) bounds the live worlds, so memory that stays level per "
                 "live world is memory that stays bounded")
    if result["rss_mb_after_malloc_trim"] is not None:
        lines.append(f"resident after the last wave once malloc_trim(0) returned free heap pages: "
                     f"{result['rss_mb_after_malloc_trim']} MB")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench web", description=__doc__.splitlines()[0])
    p.add_argument("--waves", type=int, default=3)
    p.add_argument("--sessions", type=int, default=40)
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--turns", type=int, default=3)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    result = run(a.waves, a.sessions, a.agents, a.turns)
    print(f"{machine_info()['processor']}\n\n{table(result)}")
    write_result(a.json, "web", **result)


if __name__ == "__main__":
    main()
