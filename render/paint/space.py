"""Where agents stand: the board a scene draws when a world places its agents (Glyph.at), and the ground's
value layer under them (Portrait.ground). Geometry and the ground only; the scene paints the agents.

    board   the portrait's space scaled to fit the frame, centred; with a ground, `at` names a cell and the
            agent stands at the cell's centre (fractions lie between cells: that is how a move is tweened);
            without one, `at` is a point of a continuous space
    ground  numbers on the ramp low -> high (full `high` at `most`), or RGB terrain; thin grid lines once
            cells are large enough to tell apart; a turn's ground fades into the next one's
    key     the ground's label and its ramp, and the theme's centre number (the board has no free middle)

Painting the ground costs the same at 40 x 40 cells as at 4 x 4: it is one small image, scaled up.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from render.paint import look
from sim.portrayal import Ground, Portrait

KEY_W = 112  # the strip right of the board that holds the key
MARGIN = 40  # pixels kept round a continuous space, so an agent at its edge is drawn whole
GRID_FROM = 8  # grid lines once a cell is at least this many pixels wide
SHARED = 0.26  # agents sharing a cell stand on a circle this many cells wide round its centre


def placed(p: Portrait) -> bool:
    """Whether the portrait places any agent: then it is drawn as a board, else as the default ring."""
    return any(g.at is not None for g in p.glyphs.values())


def keyed(p: Portrait) -> bool:
    """Whether the board needs a key strip (a ground to explain, or a number for the middle)."""
    return p.ground is not None or bool(p.theme.centre)


@dataclass
class Board:
    left: float  # pixel where the space's origin lands
    top: float
    unit: float  # pixels per unit of space (one cell's side)
    cells: bool  # `at` names a cell: drawn at its centre
    origin: tuple[float, float]  # the space's smallest coordinates
    extent: tuple[float, float]  # its width and height, in units

    @classmethod
    def of(cls, p: Portrait, box: tuple[float, float, float, float]) -> "Board":
        """The portrait's space fitted into `box` (x0, y0, x1, y1), centred."""
        x0, y0, x1, y1 = box
        cells = p.ground is not None
        if p.space is not None:
            origin, extent = (0.0, 0.0), (max(float(p.space[0]), 1e-9), max(float(p.space[1]), 1e-9))
        elif cells:
            rows = p.ground.cells
            origin, extent = (0.0, 0.0), (float(max((len(r) for r in rows), default=1) or 1), float(len(rows) or 1))
        else:  # the smallest box round every agent; one agent alone (or a line of them) gets a unit of room
            xs = [g.at[0] for g in p.glyphs.values() if g.at is not None]
            ys = [g.at[1] for g in p.glyphs.values() if g.at is not None]
            wide, high = max(xs) - min(xs), max(ys) - min(ys)
            origin = (min(xs) - (0.5 if wide == 0 else 0), min(ys) - (0.5 if high == 0 else 0))
            extent = (wide or 1.0, high or 1.0)
        pad = 0 if cells else MARGIN
        room_w, room_h = max(1.0, x1 - x0 - 2 * pad), max(1.0, y1 - y0 - 2 * pad)
        unit = min(room_w / extent[0], room_h / extent[1])
        if cells and unit >= 4:  # whole pixels per cell: the grid lines fall exactly on the scaled ground
            unit = float(math.floor(unit))
        left = x0 + (x1 - x0 - unit * extent[0]) / 2
        top = y0 + (y1 - y0 - unit * extent[1]) / 2
        return cls(left, top, unit, cells, origin, extent)

    def point(self, at: tuple[float, float]) -> tuple[float, float]:
        """The pixel where something standing `at` is drawn."""
        half = 0.5 if self.cells else 0.0
        return (self.left + (at[0] - self.origin[0] + half) * self.unit,
                self.top + (at[1] - self.origin[1] + half) * self.unit)


def spots(p: Portrait, spread: float = SHARED) -> dict[str, tuple[float, float]]:
    """Where each placed agent stands, in units of space; agents on the same spot stand round it on a circle
    `spread` units wide (in drawing order), so each stays visible."""
    by_spot: dict[tuple[float, float], list[str]] = {}
    for name, g in p.glyphs.items():
        if g.at is not None:
            by_spot.setdefault((float(g.at[0]), float(g.at[1])), []).append(name)
    out = {}
    for (x, y), names in by_spot.items():
        if len(names) == 1:
            out[names[0]] = (x, y)
            continue
        for k, name in enumerate(names):
            a = math.pi + 2 * math.pi * k / len(names)  # the first on the left: two stand side by side
            out[name] = (x + spread * math.cos(a), y + spread * math.sin(a))
    return out


# --- the ground ----------------------------------------------------------------------------------------
def colours(ground: Ground) -> np.ndarray:
    """The ground's cells as an RGB array (rows, columns, 3): numbers on its ramp, or its own colours. Short
    rows are padded with the ramp's `low`."""
    rows = ground.cells
    width = max((len(r) for r in rows), default=0)
    if not rows or not width:
        return np.zeros((1, 1, 3), dtype=np.float64) + np.array(ground.low, dtype=np.float64)
    first = next((c for r in rows for c in r), 0)
    if isinstance(first, (list, tuple)):  # terrain: a colour per cell
        pad = [tuple(ground.low)]
        return np.array([[tuple(c) for c in r] + pad * (width - len(r)) for r in rows], dtype=np.float64)
    values = np.array([[float(c or 0) for c in r] + [0.0] * (width - len(r)) for r in rows], dtype=np.float64)
    values = np.nan_to_num(values)
    most = ground.most if ground.most else float(values.max())
    share = np.clip(values / most, 0.0, 1.0)[..., None] if most > 0 else np.zeros(values.shape + (1,))
    low, high = np.array(ground.low, dtype=np.float64), np.array(ground.high, dtype=np.float64)
    return low + share * (high - low)


def paint_ground(img: Image.Image, board: Board, now: Ground, before: Ground | None, t: float) -> None:
    """The ground under the board, `t` of the way from the turn before's (when it had one of the same size)."""
    cells = colours(now)
    if before is not None and t < 1:
        old = colours(before)
        if old.shape == cells.shape:
            cells = old + t * (cells - old)
    x0, y0 = board.left, board.top  # cell (c, r) covers [c, c + 1) x [r, r + 1) of the space
    w, h = max(1, round(cells.shape[1] * board.unit)), max(1, round(cells.shape[0] * board.unit))
    big = np.asarray(Image.fromarray(cells.round().astype(np.uint8), "RGB").resize((w, h), Image.Resampling.NEAREST))
    if board.unit >= GRID_FROM:  # darken each cell's first row and column of pixels: the grid
        big = big.copy()
        lines_x = (np.arange(cells.shape[1] + 1) * board.unit).astype(int).clip(0, w - 1)
        lines_y = (np.arange(cells.shape[0] + 1) * board.unit).astype(int).clip(0, h - 1)
        big[:, lines_x] = (big[:, lines_x] * 0.78).astype(np.uint8)
        big[lines_y, :] = (big[lines_y, :] * 0.78).astype(np.uint8)
    img.paste(Image.fromarray(big, "RGB"), (round(x0), round(y0)))


def paint_key(d: ImageDraw.ImageDraw, p: Portrait, metrics: dict, box: tuple[float, float, float, float]) -> None:
    """The key strip: the ground's label over its ramp (the number at full `high` on top, 0 at the bottom),
    then the theme's centre number, on a dark panel as tall as they need."""
    x0, y0, x1, y1 = box
    g = p.ground
    label = lines(g.label or "ground", x1 - x0 - 14, 12) if g is not None else []
    numeric = g is not None and not isinstance(next((c for r in g.cells for c in r), 0), (list, tuple))
    bar_h = min(110.0, max(30.0, (y1 - y0) * 0.35)) if numeric else 0.0
    key = p.theme.centre
    value = metrics.get(key) if key else None
    centre = isinstance(value, (int, float)) and not isinstance(value, bool)
    tall = 15 * len(label) + (bar_h + 18 if numeric else 6 if g is not None else 0) + (50 if centre else 0)
    d.rounded_rectangle((x0 + 4, y0 + 4, x1 - 4, min(y1 - 4, y0 + 14 + tall)), radius=6, fill=(28, 36, 30))
    cx, y = (x0 + x1) / 2, y0 + 18
    for line in label:
        look.text_box(d, (cx, y), line, 12, fill=(245, 245, 235), bold=True)
        y += 15
    if numeric:
        most = g.most if g.most else max((float(c or 0) for r in g.cells for c in r), default=0.0)
        bx, steps = cx - 8, 24
        for k in range(steps):  # the ramp, high on top
            share = 1 - k / (steps - 1)
            c = tuple(round(lo + share * (hi - lo)) for lo, hi in zip(g.low, g.high))
            d.rectangle((bx, y + k * bar_h / steps, bx + 16, y + (k + 1) * bar_h / steps), fill=c)
        d.rectangle((bx, y, bx + 16, y + bar_h), outline=look.INK)
        look.text_box(d, (bx + 20, y + 5), f"{most:.3g}", 11, fill=(245, 245, 235), anchor="lm")
        look.text_box(d, (bx + 20, y + bar_h - 5), "0", 11, fill=(245, 245, 235), anchor="lm")
        y += bar_h + 18
    elif g is not None:
        y += 6
    if centre:
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        look.text_box(d, (cx, y + 14), text, 24, fill=(250, 250, 245), bold=True)
        look.text_box(d, (cx, y + 36), fitted(key, x1 - x0 - 14, 12, False), 12, fill=(240, 240, 230))


def lines(text: str, width: float, size: int) -> list[str]:
    """`text` in bold on at most two lines `width` pixels wide (the second cut short if it must be)."""
    f, words = look.font(size, True), text.split()
    first = ""
    while words and f.getlength((first + " " + words[0]).strip()) <= width:
        first = (first + " " + words.pop(0)).strip()
    if not first:  # one long word: cut it
        return [fitted(text, width, size)]
    return [first] + ([fitted(" ".join(words), width, size)] if words else [])


def fitted(text: str, width: float, size: int, bold: bool = True) -> str:
    """`text`, cut short with an ellipsis where it would run wider than `width` pixels."""
    f = look.font(size, bold)
    if f.getlength(text) <= width:
        return text
    while text and f.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"
