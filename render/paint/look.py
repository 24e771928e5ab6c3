"""Colours, fonts and sprites (PIL). A few animal shapes come built in for worlds that name them in a
Glyph's `shape`; any other shape is a round figure in its role's colour, so a new world is drawn without
touching this file."""
from __future__ import annotations

import math
import zlib
from functools import lru_cache
from pathlib import Path

from PIL import ImageDraw, ImageFont

KIND_COLOURS = {"squirrel": (196, 98, 45), "badger": (125, 130, 135), "hedgehog": (150, 112, 90),
                "mole": (70, 64, 78), "beaver": (139, 90, 43)}
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
STATUS_COLOURS = {"valid": (46, 160, 67), "repaired": (230, 170, 20), "noop": (210, 50, 50)}
INK, PAPER = (33, 33, 38), (255, 253, 245)
FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf")


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    for path in FONT_FILES:
        path = path.replace("Sans.ttf", "Sans-Bold.ttf") if bold else path
        if not path.startswith("/") or Path(path).exists():
            try:
                return ImageFont.truetype(path, size)
            except OSError:
                continue
    return ImageFont.load_default(size)


def colour_of(name: str, colours: dict | None = None) -> tuple[int, int, int]:
    """The colour a world's theme gives `name`, else a stable one (crc32, not hash(): the same every run)."""
    return tuple((colours or {}).get(name) or PALETTE[zlib.crc32(name.encode()) % len(PALETTE)])


def shade(c, f: float) -> tuple[int, int, int]:
    """Lighter (f > 0) or darker (f < 0)."""
    return tuple(int(v + (255 - v) * f) if f > 0 else int(v * (1 + f)) for v in c)


def mood_colour(m: float) -> tuple[int, int, int]:
    m = max(0.0, min(1.0, m))
    return (int(220 - 170 * m), int(60 + 140 * m), 60)


def text_box(d: ImageDraw.ImageDraw, xy, text: str, size: int, fill=INK, anchor="mm", bold=False) -> None:
    d.text(xy, text, font=font(size, bold), fill=fill, anchor=anchor)


def creature(d: ImageDraw.ImageDraw, x: float, y: float, r: float, kind: str, role_colour, mood: float | None,
             label: str = "") -> None:
    """A creature of `kind` centred at (x, y), body radius r, its face showing its mood."""
    body = KIND_COLOURS.get(kind, role_colour)
    dark = shade(body, -0.4)
    if kind == "squirrel":  # the big curled tail behind
        d.ellipse((x + 0.3 * r, y - 1.5 * r, x + 1.5 * r, y + 0.6 * r), fill=shade(body, 0.2), outline=dark)
    elif kind == "beaver":  # a flat paddle tail
        d.rounded_rectangle((x + 0.2 * r, y + 0.4 * r, x + 1.6 * r, y + 0.95 * r), radius=r * 0.25,
                            fill=(90, 60, 40), outline=dark)
    elif kind == "hedgehog":  # spikes around the back
        pts = []
        for k in range(15):
            a = math.pi * (0.95 + 1.1 * k / 14)
            rr = r * (1.45 if k % 2 else 1.0)
            pts.append((x + rr * math.cos(a), y + rr * math.sin(a)))
        d.polygon(pts, fill=shade(body, -0.5))
    if kind in ("squirrel", "badger", "beaver"):  # ears
        for s in (-1, 1):
            ex = x + s * 0.55 * r
            d.ellipse((ex - 0.28 * r, y - 1.05 * r, ex + 0.28 * r, y - 0.5 * r), fill=body, outline=dark)
    d.ellipse((x - r, y - r, x + r, y + r), fill=body, outline=dark, width=max(1, int(r / 10)))
    if kind == "badger":  # the white stripe and dark eye bands
        d.ellipse((x - 0.22 * r, y - r, x + 0.22 * r, y + 0.2 * r), fill=(245, 245, 240))
        for s in (-1, 1):
            d.ellipse((x + s * 0.42 * r - 0.2 * r, y - 0.45 * r, x + s * 0.42 * r + 0.2 * r, y + 0.05 * r),
                      fill=(30, 30, 30))
    if kind == "hedgehog":
        d.ellipse((x - 0.7 * r, y - 0.55 * r, x + 0.7 * r, y + 0.85 * r), fill=(222, 196, 160))
    if not kind or kind not in KIND_COLOURS:  # shapes not built in: the role's initial on a plain disc
        text_box(d, (x, y + 0.05 * r), (label or "?")[:1].upper(), max(8, int(r)), fill=PAPER, bold=True)
        return
    _face(d, x, y, r, kind, mood)


def _face(d, x, y, r, kind, mood):
    eye = max(1.0, r * (0.08 if kind == "mole" else 0.13))
    for s in (-1, 1):
        ex, ey = x + s * 0.38 * r, y - 0.22 * r
        d.ellipse((ex - eye, ey - eye, ex + eye, ey + eye), fill=(250, 250, 250) if kind == "badger" else INK)
    nose = (240, 130, 150) if kind == "mole" else INK
    nr = r * (0.2 if kind == "mole" else 0.1)
    d.ellipse((x - nr, y + 0.02 * r - nr, x + nr, y + 0.02 * r + nr), fill=nose)
    if kind == "beaver":
        d.rectangle((x - 0.12 * r, y + 0.35 * r, x + 0.12 * r, y + 0.6 * r), fill=(250, 250, 235), outline=INK)
    if mood is None:
        return
    w, my = 0.38 * r, y + 0.42 * r
    width = max(1, int(r / 9))
    if mood >= 0.6:
        d.arc((x - w, my - w, x + w, my + 0.5 * w), 20, 160, fill=INK, width=width)
    elif mood <= 0.35:
        d.arc((x - w, my, x + w, my + 1.2 * w), 200, 340, fill=INK, width=width)
    else:
        d.line((x - 0.7 * w, my + 0.2 * w, x + 0.7 * w, my + 0.2 * w), fill=INK, width=width)


def bubble(d: ImageDraw.ImageDraw, x: float, y: float, text: str, size: int, bounds) -> None:
    """A speech bubble whose tail points at (x, y), kept inside `bounds` (x0, y0, x1, y1)."""
    f = font(size)
    text = text if len(text) <= 42 else text[:41] + "…"
    w = d.textlength(text, font=f) + 12
    h = size + 10
    bx = min(max(x - w / 2, bounds[0] + 2), bounds[2] - w - 2)
    by = max(y - h - 8, bounds[1] + 2)
    d.polygon([(x - 5, by + h - 1), (x + 5, by + h - 1), (x, min(y, by + h + 8))], fill=PAPER, outline=INK)
    d.rounded_rectangle((bx, by, bx + w, by + h), radius=6, fill=PAPER, outline=INK)
    d.line((x - 4, by + h - 1, x + 4, by + h - 1), fill=PAPER, width=2)
    d.text((bx + 6, by + h / 2), text, font=f, fill=INK, anchor="lm")
