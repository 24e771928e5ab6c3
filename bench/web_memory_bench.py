"""`python -m bench web`: the web demo's memory under repeated waves of sessions.

Each wave opens N sessions at once through the streaming API (gradio_client, as a browser tab does), plays a
few turns of a large world in each, and leaves without a word (as closed tabs do: Gradio does not reliably
tell the server). After each wave the server's resident memory is read. A server that frees what closed
sessions held stays flat from wave to wave; one that keeps them grows by a wave's worth each time.

    python -m bench web --waves 3 --sessions 40 --agents 1000 --turns 3
"""
from __future__ import annotations

import argparse
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
    from app import Sessions, build_demo

    pool = Sessions()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo = build_demo(policy="scripted", sessions=pool)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    rows = [{"wave": 0, "rss_mb": round(rss_mb()), "live_worlds": 0, "finished": 0, "failed": 0}]
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
            gc.collect()
            rows.append({"wave": wave, "rss_mb": round(rss_mb()), "live_worlds": len(pool.live),
                         "finished": len(done), "failed": len(failed), "seconds": round(time.perf_counter() - start, 1)})
            print(rows[-1], flush=True)
    finally:
        demo.close()
    return {"waves": waves, "sessions": sessions, "agents": agents, "turns": turns, "rows": rows}


def table(result: dict) -> str:
    lines = [f"{result['sessions']} sessions a wave, {result['agents']} creatures each, {result['turns']} turns, "
             "scripted policy", "", "| after wave | resident MB | live worlds | sessions finished | failed to connect or play |",
             "|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {r['wave']} | {r['rss_mb']} | {r['live_worlds']} | {r['finished']} | {r['failed']} |")
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
