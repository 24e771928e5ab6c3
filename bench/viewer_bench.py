"""What the viewers cost: scene.draw per frame for 5, 50 and 1000 creatures, a GIF export, and what the
web demo paints for one played turn, with each turn's Portrait made once and, as before, made by every
painter that needs it.

    python -m bench viewer [--agents 5,50,1000] [--frames 20] [--board 40] [--web-agents 50,1000]
                           [--web-turns 5] [--json out.json]

Frames come from scripted wood runs and are drawn mid-animation (t = 0.5, with the previous turn), the
window's common case, through the wood's own portrayal (worlds/wood/look.py), which each frame computes
for two turns. The window needs one draw per frame, so 33 ms is the budget at 30 fps. `--board SIDE` also
draws the same turns as a spatial world would: every creature placed on a SIDE x SIDE field (walking a
cell a turn) over a ground of numbers.
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
from sim.portrayal import Ground
from worlds.wood import WoodWorld


def turns_of(agents: int, turns: int, out: str | None = None) -> list:
    engine = Engine(WoodWorld(agents=agents), scripted(PolicyOptions(seed=1)), seed=1, out=out)
    return list(engine.run(turns))


def on_a_board(portray, side: int):
    """`portray` with every creature placed on a side x side field, a cell further east each turn, over a
    ground of numbers that changes every turn: the frames of a spatial world."""
    def placed(turn):
        drawn = portray(turn)
        for k, glyph in enumerate(drawn.glyphs.values()):
            glyph.at = ((k * 7 + turn.turn) % side, (k // side) % side)
        drawn.ground = Ground([[(c * r + turn.turn) % 10 for c in range(side)] for r in range(side)], label="food")
        return drawn
    return placed


def draw_ms(agents: int, frames: int, size: tuple[int, int], board: int = 0) -> float:
    """Median ms of one mid-animation frame, over `frames` different turns (after one warm-up draw); `board`:
    the side of the field the creatures are placed on (0: none, the ring)."""
    turns = turns_of(agents, frames + 1)
    portray = WoodWorld().portray  # the world's own drawing hook, as every viewer uses it
    if board:
        portray = on_a_board(portray, board)
    scene.draw(turns[1], turns[0], 0.5, size=size, portray=portray)  # fonts and backgrounds are cached after this
    times = []
    for prev, turn in zip(turns, turns[1:]):
        start = time.perf_counter()
        scene.draw(turn, prev, 0.5, size=size, portray=portray)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


class Counted:
    """A world's portray hook that counts its calls."""

    def __init__(self, portray):
        self.portray, self.calls = portray, 0

    def __call__(self, turn):
        self.calls += 1
        return self.portray(turn)


def web_turn(agents: int, turns: int, once: bool) -> dict:
    """Median ms and portray calls of what the web demo paints for one played turn (the in-between frames,
    then scene, log, cards and charts: Controls.shown), over `turns` turns played after the log has filled
    (40 turns), and the charts apart. `once`: the session's Portraits, each turn portrayed once; else the
    world's hook itself, which every painter called for itself before."""
    import gradio as gr

    from render.paint.charts import charts
    from render.paint.view import Portraits, portrayer
    from render.web.controls import IN_BETWEEN, SCENE_SIZE, Controls
    from render.web.page import lay_out
    from render.web.session import KEEP_FULL, Sessions
    from sim.config import RunConfig

    sessions = Sessions()
    with gr.Blocks():
        do = Controls(lay_out(sessions, "scripted", "auto", ""), sessions)
    s = sessions.open(RunConfig(policy="scripted", agents=agents, seed=1), None)
    hook = Counted(portrayer(s.live.world))
    s.portray = Portraits(hook) if once else hook
    s.playing = True  # as while playing: the charts are drawn at most every second, timed on their own below
    times, chart_times, calls = [], [], []
    for k in range(KEEP_FULL + turns):
        prev, turn = s.turns[-1] if s.turns else None, s.step()
        hook.calls, start = 0, time.perf_counter()
        if prev is not None:
            for t in IN_BETWEEN:
                scene.draw(turn, prev, t, size=SCENE_SIZE, portray=s.portray)
        s.charts_at = time.monotonic()
        do.shown(s)
        painted = time.perf_counter()
        if k >= KEEP_FULL:
            charts(s.turns, portray=s.portray)
            times.append(painted - start)
            chart_times.append(time.perf_counter() - painted)
            calls.append(hook.calls)
    sessions.remove(s)
    return {"what": f"web turn, {agents} creatures, Portraits {'made once' if once else 'per painter'}",
            "agents": agents, "ms_per_turn": round(1000 * statistics.median(times), 1),
            "charts_ms": round(1000 * statistics.median(chart_times), 1), "portray_calls": statistics.median(calls)}


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
    parser.add_argument("--board", type=int, default=40, help="also draw them placed on a field this wide (0: no)")
    parser.add_argument("--gif-turns", type=int, default=10)
    parser.add_argument("--web-agents", default="50,1000", help="web turns at these sizes ('' for none)")
    parser.add_argument("--web-turns", type=int, default=5, help="web turns measured, after 40 that fill the log")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    for n in [int(x) for x in args.agents.split(",")]:
        ms = draw_ms(n, args.frames, SIZE)
        rows.append({"what": f"scene.draw, {n} creatures, {SIZE[0]}x{SIZE[1]}", "agents": n,
                     "ms_per_frame": round(ms, 2), })
        if args.board:
            ms = draw_ms(n, args.frames, SIZE, args.board)
            rows.append({"what": f"scene.draw, {n} creatures on a {args.board}x{args.board} board, "
                                 f"{SIZE[0]}x{SIZE[1]}", "agents": n, "ms_per_frame": round(ms, 2)})
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
    web = [web_turn(int(n), args.web_turns, once) for n in args.web_agents.split(",") if n for once in (False, True)]
    if web:
        print("\n| what | ms per turn (no charts) | charts ms | portray calls (with charts) |")
        print("|---|---:|---:|---:|")
        for r in web:
            print(f"| {r['what']} | {r['ms_per_turn']} | {r['charts_ms']} | {r['portray_calls']:g} |")
    write_result(args.json, "viewer", rows=rows + web)


if __name__ == "__main__":
    main()
