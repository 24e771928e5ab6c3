"""The scene: a pure function from a Turn record (and the turn before, and a progress t in [0, 1]) to a PIL
image, painted from the world's Portrait. The web demo shows it, the pygame window blits it, the GIF
exporter strings frames of it together.

    top bar   turn, the theme's title, legend banner, decision counts
    clearing  agents on rings around the middle (the theme's background and its centre number); agents an
              arrow joins lean in while what moved flies along it; speech bubbles carry this turn's `say`
    board     instead, when the world places its agents (Glyph.at): each where it stands, over the ground's
              value layer and its key (render/paint/space.py), walking there from where it stood before
    ticker    the world's numbers (dict metrics with their trend against the turn before)
"""
from __future__ import annotations

import math
import random
from functools import lru_cache

from PIL import Image, ImageDraw

from render.paint import backdrop, look, space
from render.paint.view import MAX_FIGURES, Figure, Flow, Portray, creatures, figures, flows, portrayed
from sim.portrayal import Portrait
from sim.records import ENGINE_METRICS, Turn

BAR, TICKER = 34, 30


def draw(turn: Turn, prev: Turn | None = None, t: float = 1.0, *, size: tuple[int, int] = (960, 600),
         portray: Portray | None = None) -> Image.Image:
    """Picture of `turn`, `t` of the way through its animation from `prev` (t=1: the turn as recorded).
    `portray`: the world's drawing hook (World.portray); None draws with sim.portrayal's default."""
    w, h = size
    now = portrayed(turn, portray)
    before = portrayed(prev, portray) if prev is not None else None
    theme = now.theme
    season = theme.season if theme.season in backdrop.GROUND else "summer"
    background = theme.background if theme.background in backdrop.BACKGROUNDS else "plain"
    img = backdrop.painted(background, season, w, h, BAR, h - TICKER).copy()
    d = ImageDraw.Draw(img)
    if space.placed(now):
        shown, at, r = _board(img, d, turn, now, prev, before, t)
    else:
        shown, at, r = _ring(img, d, turn, now, prev, before, t)
        if theme.centre:
            _centre(d, turn, theme.centre, w, h)
    if theme.weather == "snow":
        _snow(d, w, h, turn.turn, t)
    _bubbles(d, shown, at, r, turn.turn, w, h)
    _top_bar(d, turn, now, w)
    _ticker(d, turn, prev, theme.ticker, theme.colours, w, h)
    return img


def _ring(img: Image.Image, d: ImageDraw.ImageDraw, turn: Turn, now: Portrait, prev: Turn | None,
          before: Portrait | None, t: float) -> tuple[list[Figure], dict, float]:
    """The default: agents on rings round the middle (groups of them when there are many)."""
    w, h = img.size
    shown = figures(turn, now)
    if prev is not None:
        _ease(shown, figures(prev, before), t)
    pos = _layout(len(shown), w, h)
    r = _radius(shown)
    moving = flows(now, shown)
    movers = {f.source for f in moving} | {f.target for f in moving}
    cx, cy = w / 2, BAR + (h - BAR - TICKER) / 2
    lean = 0.18 * math.sin(math.pi * t)  # agents an arrow joins step towards the middle and back
    at = {}
    for f, (x, y) in zip(shown, pos):
        if f.key in movers:
            x, y = x + lean * (cx - x), y + lean * (cy - y)
        at[f.key] = (x, y)
    _arrows(img, d, moving, at, t, r, now.theme.colours)
    for f in shown:
        _figure(d, f, *at[f.key], r, now.theme.colours)
    return shown, at, r


def _board(img: Image.Image, d: ImageDraw.ImageDraw, turn: Turn, now: Portrait, prev: Turn | None,
           before: Portrait | None, t: float) -> tuple[list[Figure], dict, float]:
    """Agents where they stand (Glyph.at) over the ground: each walks from where it stood the turn before,
    one that arrived fades in, one that left fades out where it last stood (and is gone at t = 1). A crowd
    (more than MAX_FIGURES) is drawn as dots in its roles' colours, each where it stands."""
    w, h = img.size
    board = board_of(now, img.size)
    if now.ground is not None:
        space.paint_ground(img, board, now.ground, before.ground if before is not None else None, t)
    if space.keyed(now):
        space.paint_key(d, now, turn.metrics, (w - space.KEY_W, BAR, w, h - TICKER))
    each = creatures(turn, now, {name for name, g in now.glyphs.items() if g.at is not None})
    crowd = len(each) > MAX_FIGURES
    if crowd:
        r = max(1.5, min(0.38 * board.unit, 6.0))
    else:
        r = min(_radius(each), 0.36 * board.unit) if board.cells else _radius(each)  # names fit a cell
    # agents on one spot stand round it, a body apart (inside the cell on a grid)
    spread = min(space.SHARED, 1.1 * r / board.unit) if board.cells else 1.1 * r / board.unit
    here, there = space.spots(now, spread), space.spots(before, spread) if before is not None else {}
    # a crowd's numbers are not drawn: of the turn before it needs only those who left
    old = creatures(prev, before, there.keys() - here.keys() if crowd else there) if prev is not None else []
    if not crowd and old:
        _ease(each, old, t)
    at, arriving, staying = {}, [], []
    for f in each:
        x1, y1 = here[f.key]
        x0, y0 = there.get(f.key, (x1, y1))
        at[f.key] = board.point((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
        (arriving if prev is not None and f.key not in there else staying).append(f)
    leaving = [f for f in old if f.key not in here]
    for f in leaving:
        at[f.key] = board.point(there[f.key])
    paint = _dot if crowd else _figure
    colours = now.theme.colours
    moving = flows(now, each)
    if crowd:  # hundreds of lines across a crowd are a smear: the largest few tell what moved
        moving = sorted(moving, key=lambda f: -f.amount)[:MAX_FIGURES]
    _arrows(img, d, moving, at, t, r, colours)
    for f in staying:
        paint(d, f, *at[f.key], r, colours)
    _faded(img, paint, arriving, at, r, colours, t)
    _faded(img, paint, leaving, at, r, colours, 1 - t)
    return each, at, r


def board_of(p: Portrait, size: tuple[int, int]) -> space.Board:
    """Where a portrait that places its agents lays its space in a scene of `size`: between the bars, left
    of the key strip when it has one."""
    w, h = size
    return space.Board.of(p, (6, BAR + 6, w - (space.KEY_W if space.keyed(p) else 0) - 6, h - TICKER - 6))


def _faded(img: Image.Image, paint, shown: list[Figure], at: dict, r: float, colours: dict, alpha: float) -> None:
    """Figures drawn `alpha` opaque (0: not at all), on one see-through layer."""
    if not shown or alpha <= 0:
        return
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    ld = ImageDraw.Draw(layer)
    for f in shown:
        paint(ld, f, *at[f.key], r, colours)
    if alpha < 1:
        layer.putalpha(layer.getchannel("A").point(lambda a: round(a * alpha)))
    img.paste(layer, (0, 0), layer)


def _arrows(img: Image.Image, d: ImageDraw.ImageDraw, moving: list[Flow], at: dict, t: float, r: float,
            colours: dict) -> None:
    if len(moving) > 12:  # a busy turn: lines on a see-through layer so the agents stay readable
        layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
        _flows(ImageDraw.Draw(layer), moving, at, t, r, colours, alpha=110)
        img.paste(layer, (0, 0), layer)
    else:
        _flows(d, moving, at, t, r, colours)


# --- layout ------------------------------------------------------------------------------------------
def _layout(n: int, w: int, h: int) -> list[tuple[float, float]]:
    """Rings around the centre: one ring up to 14 figures, two beyond (outer one longer)."""
    cx, cy = w / 2, BAR + 10 + (h - BAR - TICKER) / 2  # a little low: the rumour strip hangs under the bar
    rings = [(0.38, 0.30, n)] if n <= 14 else [(0.42, 0.37, n - n * 2 // 5), (0.24, 0.19, n * 2 // 5)]
    out = []
    for fx, fy, k in rings:
        for i in range(k):
            a = 2 * math.pi * i / max(k, 1) - math.pi / 2 + (0.3 if fx < 0.3 else 0)
            out.append((cx + fx * w * math.cos(a), cy + fy * (h - BAR - TICKER) * 1.15 * math.sin(a)))
    return out


def _radius(shown: list[Figure]) -> float:
    n = len(shown)
    if any(f.count > 1 for f in shown):
        return 30.0
    return 30.0 if n <= 6 else 22.0 if n <= 14 else 14.0 if n <= 30 else 11.0


def _ease(shown: list[Figure], before: list[Figure], t: float) -> None:
    """Moods and numbers slide from the previous turn's values; a number whole in both turns (a count)
    stays whole on the way."""
    old = {f.key: f for f in before}
    for f in shown:
        o = old.get(f.key)
        if o is None:
            continue
        if f.mood is not None and o.mood is not None:
            f.mood = o.mood + t * (f.mood - o.mood)
        for k, v in f.numbers.items():
            u = o.numbers.get(k)
            if u is not None and v is not None:
                f.numbers[k] = eased(u, v, t)


def eased(old: float, new: float, t: float) -> float:
    """`t` of the way from `old` to `new`, rounded to a whole number when both ends are whole."""
    mid = old + t * (new - old)
    return float(math.floor(mid + 0.5)) if float(old).is_integer() and float(new).is_integer() else mid


def _centre(d, turn: Turn, key: str, w: int, h: int) -> None:
    """The metric the world names in Theme.centre (a lake's fish stock, say), large in the middle."""
    value = turn.metrics.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    cx, cy = w / 2, BAR + (h - BAR - TICKER) / 2
    text = f"{value:.3g}" if isinstance(value, float) else str(value)
    look.text_box(d, (cx, cy - 8), text, 34, fill=(250, 250, 245), bold=True)
    look.text_box(d, (cx, cy + 22), key, 14, fill=(240, 240, 230))


def _snow(d, w, h, turn, t):
    rng = random.Random(turn)
    for _ in range(int(w * h / 4000)):
        x = rng.uniform(0, w)
        y = BAR + (rng.uniform(0, h) + 30 * t) % (h - BAR - TICKER)
        s = rng.uniform(1.2, 2.8)
        d.ellipse((x - s, y - s, x + s, y + s), fill=(255, 255, 255))


# --- figures, flows, bubbles -------------------------------------------------------------------------
def _figure(d: ImageDraw.ImageDraw, f: Figure, x: float, y: float, r: float, colours: dict) -> None:
    role_colour = f.colour or look.colour_of(f.role, colours)
    small = max(9, int(r * 0.62))
    look.creature(d, x, y, r, f.shape, role_colour, f.mood, f.role)
    d.rounded_rectangle((x - 0.8 * r, y + 0.75 * r, x + 0.8 * r, y + 1.0 * r), radius=3, fill=role_colour)
    label = f.label if f.count == 1 else f"{f.label} ×{f.count}"
    look.text_box(d, (x, y + 1.0 * r + small * 0.75), label, small, bold=f.count > 1)
    if f.mood is not None:  # mood bar
        by = y + 1.0 * r + small * 1.6
        d.rectangle((x - r, by, x + r, by + 3), fill=(60, 60, 60))
        d.rectangle((x - r, by, x - r + 2 * r * f.mood, by + 3), fill=look.mood_colour(f.mood))
    if f.numbers:  # its first number by its head, the next under its name
        items = list(f.numbers.items())
        k, v = items[0]
        look.text_box(d, (x + 1.05 * r, y - 0.95 * r), f"{v:.3g}", small, anchor="lm")
        if len(items) > 1:
            look.text_box(d, (x, y + 1.0 * r + small * 2.5), f"{items[1][0]} {items[1][1]:.3g}", small)
    if f.held:  # what it holds: one small bar per kind, left of the body
        bw = max(3.0, r * 0.3)
        x0 = x - 1.15 * r - len(f.held) * (bw + 1)
        scale = 1.6 * r / max(10.0, max(f.held.values()))
        for k, (g, u) in enumerate(f.held.items()):
            if u:
                bx = x0 + k * (bw + 1)
                c = look.colour_of(g, colours)
                d.rectangle((bx, y + 0.8 * r - max(2, u * scale), bx + bw, y + 0.8 * r), fill=c,
                            outline=look.shade(c, -0.5))
    if f.status:  # how its reply fared: a dot (one agent) or counts (a group)
        worst = next(s for s in ("noop", "repaired", "valid") if f.status.get(s) or s == "valid")
        sd = max(3, r * 0.18)
        d.ellipse((x - r - sd, y - r - sd, x - r + sd, y - r + sd), fill=look.STATUS_COLOURS[worst],
                  outline=look.INK)
        if f.count > 1 and (f.status.get("noop") or f.status.get("repaired")):
            look.text_box(d, (x - r + sd + 2, y - r), f"{f.status.get('noop', 0)} no-op", small,
                          fill=look.STATUS_COLOURS["noop"], anchor="lm")
    if f.badge:
        look.text_box(d, (x + 1.05 * r, y + 0.4 * r), f.badge, int(small * 1.3), fill=(40, 110, 220), anchor="lm")


def _dot(d: ImageDraw.ImageDraw, f: Figure, x: float, y: float, r: float, colours: dict) -> None:
    """One agent of a crowd: a disc in its role's colour."""
    c = tuple(f.colour or look.colour_of(f.role, colours))
    d.ellipse((x - r, y - r, x + r, y + r), fill=c, outline=_dark(c) if r >= 3 else None)


@lru_cache(maxsize=64)
def _dark(c: tuple[int, int, int]) -> tuple[int, int, int]:
    """A dot's outline: worked out once per colour, not once per dot of a crowd."""
    return look.shade(c, -0.5)


def _flows(d: ImageDraw.ImageDraw, moving: list[Flow], at: dict, t: float, r: float, colours: dict,
           alpha: int = 255) -> None:
    if not moving:
        return
    most = max(f.amount for f in moving) or 1.0
    for f in moving:
        (x0, y0), (x1, y1) = at[f.source], at[f.target]
        c = look.colour_of(f.label, colours)
        width = 1 + int(4 * f.amount / most)
        d.line((x0, y0, x1, y1), fill=(*(c if alpha < 255 else look.shade(c, 0.35)), alpha), width=width)
        # what moves travels source -> target and arrives at t = 1
        gx, gy = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        s = max(4.0, r * 0.32)
        d.ellipse((gx - s, gy - s, gx + s, gy + s), fill=c, outline=look.INK, width=1)
        if t >= 1:  # at rest the line gets an arrow head at the target
            ang = math.atan2(y1 - y0, x1 - x0)
            tip = (x1 - 1.2 * r * math.cos(ang), y1 - 1.2 * r * math.sin(ang))
            d.polygon([tip, *[(tip[0] - 9 * math.cos(ang + s2), tip[1] - 9 * math.sin(ang + s2))
                              for s2 in (0.45, -0.45)]], fill=(*look.shade(c, -0.2), alpha))


def _bubbles(d, shown: list[Figure], at: dict, r: float, turn: int, w: int, h: int) -> None:
    """This turn's speech; with many speakers a different few get a bubble each turn."""
    speakers = [f for f in shown if f.say]
    room = len(speakers) if len(shown) <= 8 else 6 if len(shown) <= 14 else 4
    if not speakers:
        return
    # spread round the ring (neighbours' bubbles would overlap), a different few each turn
    step = max(1, len(speakers) // room)
    chosen = [speakers[(turn * 7 + k * step) % len(speakers)] for k in range(min(room, len(speakers)))]
    size = 12 if r >= 20 else 10
    for f in chosen:
        x, y = at[f.key]
        look.bubble(d, x, y - 1.1 * r, f.say, size, (0, BAR + 22, w, h - TICKER))


# --- bars --------------------------------------------------------------------------------------------
def _top_bar(d: ImageDraw.ImageDraw, turn: Turn, now: Portrait, w: int) -> None:
    d.rectangle((0, 0, w, BAR), fill=(28, 36, 30))
    head = f"Turn {turn.turn}" + (f" · {now.theme.title}" if now.theme.title else "")
    look.text_box(d, (10, BAR / 2), head, 15, fill=(240, 240, 230), anchor="lm", bold=True)
    n = len(turn.decisions)
    counts = "  ".join(f"{k} {turn.metrics.get(k, 0)}" for k in ("valid", "repaired", "noop"))
    look.text_box(d, (w - 10, BAR / 2), f"{n} agents · {counts}", 12, fill=(200, 210, 200), anchor="rm")
    title, text = now.banner
    if title:
        fresh = bool(turn.legends)
        bw = min(w * 0.5, 40 + look.font(14, True).getlength(title))
        x0 = w / 2 - bw / 2
        d.polygon([(x0 - 12, 2), (x0 + bw + 12, 2), (x0 + bw, BAR / 2), (x0 + bw + 12, BAR - 2),
                   (x0 - 12, BAR - 2), (x0, BAR / 2)], fill=(200, 30, 40) if fresh else (150, 30, 40))
        look.text_box(d, (w / 2, BAR / 2), "⚑ " + title, 14, fill=(255, 220, 90), bold=True)
        if text:  # the rumour the agents heard, just under the bar
            text = text if len(text) <= 110 else text[:109] + "…"
            tw = look.font(11).getlength(text) + 16
            d.rounded_rectangle((w / 2 - tw / 2, BAR + 2, w / 2 + tw / 2, BAR + 20), radius=5, fill=(255, 240, 200))
            look.text_box(d, (w / 2, BAR + 11), text, 11, fill=(90, 30, 30))


def _ticker(d: ImageDraw.ImageDraw, turn: Turn, prev: Turn | None, keys: list[str] | None, colours: dict,
            w: int, h: int) -> None:
    """The world's numbers along the bottom: each dict metric (prices, say) as its entries with a trend
    against the turn before, then plain numbers while they fit."""
    y0 = h - TICKER
    d.rectangle((0, y0, w, h), fill=(24, 24, 28))
    shown = [k for k in (keys if keys is not None else turn.metrics) if k in turn.metrics
             and k not in ENGINE_METRICS]
    x = 10
    for key in shown:
        value = turn.metrics[key]
        if not isinstance(value, dict):
            continue
        before = (prev.metrics.get(key) or {}) if prev else {}
        look.text_box(d, (x, y0 + TICKER / 2), key.upper(), 12, fill=(160, 160, 160), anchor="lm", bold=True)
        x += look.font(12, True).getlength(key.upper()) + 10
        for g, p in value.items():
            if not isinstance(p, (int, float)):
                continue
            d.ellipse((x, y0 + 10, x + 10, y0 + 20), fill=look.colour_of(g, colours))
            old = before.get(g, p) if isinstance(before, dict) else p
            arrow, ac = ("▲", (90, 210, 90)) if p > old + 0.05 else ("▼", (240, 90, 80)) if p < old - 0.05 \
                else ("•", (150, 150, 150))
            label = f"{g} {p:.1f}"
            look.text_box(d, (x + 14, y0 + TICKER / 2), label, 13, fill=(235, 235, 235), anchor="lm")
            x += 14 + look.font(13).getlength(label) + 4
            look.text_box(d, (x, y0 + TICKER / 2), arrow, 12, fill=ac, anchor="lm")
            x += 24
    for key in shown:
        v = turn.metrics[key]
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        label = f"{key} {v:.3g}" if isinstance(v, float) else f"{key} {v}"
        width = look.font(12).getlength(label) + 18
        if x + width > w - 10:
            break
        look.text_box(d, (x, y0 + TICKER / 2), label, 12, fill=(200, 200, 170), anchor="lm")
        x += width
