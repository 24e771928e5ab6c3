"""Animated GIF of a run: scene frames strung together, headless (PIL only, no pygame). `python -m sim run
--gif` reaches `export` through the "smallworlds.exporters" entry point; the window's `view --gif` calls it
directly."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from PIL import Image, ImageDraw

from render.paint import scene
from render.paint.view import Portraits, Portray, portrayer, world_from_header
from sim.records import Turn
from sim.trace import load_trace

TURN_MS = 800  # one turn's animation; the frame at rest gets REST_MS more so the picture can be read
REST_MS = 400


def ease(x: float) -> float:
    """Smoothstep: starts and ends slowly, so goods settle instead of stopping dead."""
    x = max(0.0, min(1.0, x))
    return x * x * (3 - 2 * x)


def frames(turns: Iterable[Turn], *, frames_per_turn: int = 4, size: tuple[int, int] = (640, 400),
           portray: Portray | None = None) -> Iterable[Image.Image]:
    """`frames_per_turn` pictures per turn, the last one at t = 1 (the turn as recorded), drawn with the
    world's `portray` hook (None: the default portrait), each turn portrayed once."""
    portray = Portraits(portray, keep=2)
    prev = None
    for turn in turns:
        for k in range(1, frames_per_turn + 1):
            yield scene.draw(turn, prev, ease(k / frames_per_turn), size=size, portray=portray)
        prev = turn


def write(turns: list[Turn], gif_path: str | Path, *, frames_per_turn: int = 4,
          size: tuple[int, int] = (640, 400), portray: Portray | None = None) -> Path:
    if frames_per_turn < 1:
        raise ValueError("frames_per_turn must be >= 1")
    if not turns:
        raise ValueError("no turns to draw")
    gif_path = Path(gif_path)
    gif_path.parent.mkdir(parents=True, exist_ok=True)
    # one adaptive palette per frame: seasons change the whole picture, a shared palette would band winter
    total = len(turns) * frames_per_turn
    pictures = []
    for i, frame in enumerate(frames(turns, frames_per_turn=frames_per_turn, size=size, portray=portray)):
        _progress(frame, (i + 1) / total)
        pictures.append(frame.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    step = max(20, TURN_MS // frames_per_turn)
    durations = [step + (REST_MS if (i + 1) % frames_per_turn == 0 else 0) for i in range(len(pictures))]
    # optimize=False and disposal=1: every frame stays a full picture, so readers count exactly these frames
    pictures[0].save(gif_path, save_all=True, append_images=pictures[1:], duration=durations, loop=0,
                     optimize=False, disposal=1)
    return gif_path


def _progress(frame: Image.Image, done: float) -> None:
    """A thin line along the bottom: how far through the run. It also keeps every frame distinct, which
    matters because PIL folds a frame identical to the one before into it (a still turn would lose frames)."""
    w, h = frame.size
    ImageDraw.Draw(frame).rectangle((0, h - 3, round(done * w) - 1, h - 1), fill=(240, 200, 60))


def export(trace_path: str | Path, gif_path: str | Path, *, frames_per_turn: int = 4,
           size: tuple[int, int] = (640, 400), max_turns: int | None = None) -> Path:
    """Write an animated GIF of the trace at `trace_path` (turns × frames_per_turn frames); returns its path."""
    header, turns = load_trace(trace_path)
    if max_turns is not None:
        turns = turns[:max_turns]
    world = world_from_header(header)
    return write(turns, gif_path, frames_per_turn=frames_per_turn, size=size,
                 portray=portrayer(world))
