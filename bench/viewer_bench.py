"""What the viewers cost: scene.draw per frame for 5, 50 and 1000 creatures, and a GIF export.

    python -m bench.viewer_bench [--agents 5,50,1000] [--frames 20] [--json out.json]

Frames come from scripted wood runs and are drawn mid-animation (t = 0.5, with the previous turn), the
window's common case, through the wood's own portrayal (worlds/wood/look.py), which each frame computes
for two turns. The window needs one draw per frame, so 33 ms is the budget at 30 fps.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from agents.policies import scripted
from bench.machine import write_result
from render.paint import gif, scene
from render.window.viewer import SIZE
from sim import Engine
from sim.policy import PolicyOptions
from worlds.wood import WoodWorld


def turns_of(agents: int, turns: int, out: str | None = None) -> list:
    engine = Engine(WoodWorld(agents=agents), scripted(PolicyOptions(seed=1)), seed=1, out=out)
    return list(engine.run(turns))


def draw_ms(agents: int, frames: int, size: tuple[int, int]) -> float:
    """Median ms of one mid-animation frame, over `frames` different turns (after one warm-up draw)."""
    turns = turns_of(agents, frames + 1)
    portray = WoodWorld().portray  # the world's own drawing hook, as every viewer uses it
    scene.draw(turns[1], turns[0], 0.5, size=size, portray=portray)  # fonts and backgrounds are cached after this
    times = []
    for prev, turn in zip(turns, turns[1:]):
        start = time.perf_counter()
        scene.draw(turn, prev, 0.5, size=size, portray=portray)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def gif_seconds(turns: int, frames_per_turn: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        turns_of(5, turns, out=tmp)
        start = time.perf_counter()
        gif.export(Path(tmp) / "trace.jsonl", Path(tmp) / "run.gif", frames_per_turn=frames_per_turn)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="5,50,1000")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--gif-turns", type=int, default=10)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    for n in [int(x) for x in args.agents.split(",")]:
        ms = draw_ms(n, args.frames, SIZE)
        rows.append({"what": f"scene.draw, {n} creatures, {SIZE[0]}x{SIZE[1]}", "agents": n,
                     "ms_per_frame": round(ms, 2), })
    fpt = 4
    s = gif_seconds(args.gif_turns, fpt)
    frames = args.gif_turns * fpt
    rows.append({"what": f"GIF export, {args.gif_turns} turns x {fpt} frames, 640x400", "agents": 5,
                 "ms_per_frame": round(1000 * s / frames, 2), "seconds": round(s, 3)})
    print("| what | ms per frame | frames/s | total s |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['what']} | {r['ms_per_frame']} | {round(1000 / r['ms_per_frame'], 1)} | "
              f"{r.get('seconds', '')} |")
    write_result(args.json, "viewer", rows=rows)


if __name__ == "__main__":
    main()
