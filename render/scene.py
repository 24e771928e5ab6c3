"""The scene: a pure function from a Turn record (and the turn before, and a progress t in [0, 1]) to a PIL
image. The web demo shows it, the pygame window blits it, the GIF exporter strings frames of it together.

    top bar   turn, season, legend banner, decision counts
    clearing  creatures on rings around the market stall; traders lean in while goods fly seller -> buyer
              and pebbles fly back; speech bubbles carry this turn's `say`
    ticker    prices and their trend (or, for a world without prices, its numbers)
"""
from __future__ import annotations

import math
import random
from functools import lru_cache
from typing import Mapping

from PIL import Image, ImageDraw

from render import look
from render.view import Figure, Flow, figures, flows, goods_of, is_wood
from sim.records import Turn

BAR, TICKER = 34, 30
GROUND = {"spring": ((150, 200, 110), (56, 120, 60)), "summer": ((112, 178, 80), (30, 100, 46)),
          "autumn": ((190, 168, 92), (150, 80, 30)), "winter": ((232, 238, 246), (92, 100, 112))}


def draw(turn: Turn, prev: Turn | None = None, t: float = 1.0, *, size: tuple[int, int] = (960, 600),
         roles: Mapping[str, str] | None = None) -> Image.Image:
    """Picture of `turn`, `t` of the way through its animation from `prev` (t=1: the turn as recorded)."""
    w, h = size
    season = str(turn.state.get("season", "summer"))
    wood = is_wood(turn.state)
    img = _background(season if season in GROUND else "summer", w, h, wood).copy()
    d = ImageDraw.Draw(img)
    shown = figures(turn, roles)
    if prev is not None:
        _ease(shown, figures(prev, roles), t)
    pos = _layout(len(shown), w, h)
    r = _radius(shown)
    moving = flows(turn, shown, roles)
    traders = {f.source for f in moving} | {f.target for f in moving}
    cx, cy = w / 2, BAR + (h - BAR - TICKER) / 2
    lean = 0.18 * math.sin(math.pi * t)  # traders step towards the stall and back
    at = {}
    for f, (x, y) in zip(shown, pos):
        if f.key in traders:
            x, y = x + lean * (cx - x), y + lean * (cy - y)
        at[f.key] = (x, y)
    if len(moving) > 12:  # a busy market: lines on a see-through layer so creatures stay readable
        layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
        _flows(ImageDraw.Draw(layer), moving, at, t, r, alpha=110)
        img.paste(layer, (0, 0), layer)
    else:
        _flows(d, moving, at, t, r)
    goods = goods_of(turn)
    for f in shown:
        _figure(d, f, *at[f.key], r, goods)
    if not wood:
        _centre(d, turn, w, h)
    if season == "winter":
        _snow(d, w, h, turn.turn, t)
    _bubbles(d, shown, at, r, turn.turn, w, h)
    _top_bar(d, turn, len(shown), w)
    _ticker(d, turn, prev, w, h)
    return img


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
    """Moods and pebbles slide from the previous turn's values."""
    old = {f.key: f for f in before}
    for f in shown:
        o = old.get(f.key)
        if o is None:
            continue
        if f.mood is not None and o.mood is not None:
            f.mood = o.mood + t * (f.mood - o.mood)
        if f.pebbles is not None and o.pebbles is not None:
            f.pebbles = o.pebbles + t * (f.pebbles - o.pebbles)


# --- background (cached: it only depends on season and size) -----------------------------------------
@lru_cache(maxsize=16)
def _background(season: str, w: int, h: int, stall: bool) -> Image.Image:
    grass, trees = GROUND[season]
    img = Image.new("RGB", (w, h), look.shade(trees, -0.45))
    d = ImageDraw.Draw(img)
    top, bottom = BAR, h - TICKER
    d.ellipse((-0.05 * w, top - 0.02 * h, 1.05 * w, bottom + 0.02 * h), fill=look.shade(grass, -0.12))
    d.ellipse((0.02 * w, top + 0.03 * h, 0.98 * w, bottom - 0.03 * h), fill=grass)
    rng = random.Random(season)  # same trees every frame; a different scatter per season
    for _ in range(int(w * h / 9000)):
        x, y = rng.uniform(0, w), rng.uniform(top, bottom)
        inside = ((x - w / 2) / (0.47 * w)) ** 2 + ((y - (top + bottom) / 2) / (0.46 * (bottom - top))) ** 2
        if inside < 1:
            if season != "winter" and rng.random() < 0.15:  # a few flowers or tufts in the grass
                c = (250, 250, 250) if season == "spring" else look.shade(grass, -0.25)
                d.ellipse((x - 2, y - 2, x + 2, y + 2), fill=c)
            continue
        s = rng.uniform(14, 30)
        leaf = trees if season != "autumn" else rng.choice([(180, 80, 30), (200, 130, 40), (150, 60, 30)])
        if season == "winter":  # bare crowns with snow on them
            d.ellipse((x - s, y - s, x + s, y + s), fill=(110, 96, 88))
            d.ellipse((x - s * 0.7, y - s, x + s * 0.5, y - s * 0.2), fill=(250, 252, 255))
        else:
            d.ellipse((x - s, y - s, x + s, y + s), fill=leaf, outline=look.shade(leaf, -0.3))
            d.ellipse((x - s * 0.5, y - s * 0.6, x + s * 0.1, y - s * 0.1), fill=look.shade(leaf, 0.15))
    if not stall:
        return img
    cx, cy = w / 2, (top + bottom) / 2  # the wood's market stall
    d.rectangle((cx - 34, cy - 6, cx + 34, cy + 18), fill=(150, 100, 60), outline=(80, 50, 30), width=2)
    for k in range(6):
        c = (200, 50, 50) if k % 2 else (250, 240, 220)
        d.polygon([(cx - 40 + k * 13.3, cy - 24), (cx - 40 + (k + 1) * 13.3, cy - 24),
                   (cx - 40 + (k + 1) * 13.3, cy - 10), (cx - 40 + k * 13.3, cy - 10)], fill=c)
    look.text_box(d, (cx, cy + 30), "market", 11, fill=look.shade(grass, -0.6))
    return img


def _centre(d, turn: Turn, w: int, h: int) -> None:
    """An unknown world's first number (the commons' fish stock, say), large, where the wood has its stall."""
    first = next(((k, v) for k, v in turn.metrics.items() if isinstance(v, (int, float))
                  and not isinstance(v, bool)), None)
    if first is None:
        return
    cx, cy = w / 2, BAR + (h - BAR - TICKER) / 2
    value = f"{first[1]:.3g}" if isinstance(first[1], float) else str(first[1])
    look.text_box(d, (cx, cy - 8), value, 34, fill=(250, 250, 245), bold=True)
    look.text_box(d, (cx, cy + 22), first[0], 14, fill=(240, 240, 230))


def _snow(d, w, h, turn, t):
    rng = random.Random(turn)
    for _ in range(int(w * h / 4000)):
        x = rng.uniform(0, w)
        y = BAR + (rng.uniform(0, h) + 30 * t) % (h - BAR - TICKER)
        s = rng.uniform(1.2, 2.8)
        d.ellipse((x - s, y - s, x + s, y + s), fill=(255, 255, 255))


# --- figures, flows, bubbles -------------------------------------------------------------------------
def _figure(d: ImageDraw.ImageDraw, f: Figure, x: float, y: float, r: float, goods: list[str]) -> None:
    role_colour = look.colour_of(f.role)
    small = max(9, int(r * 0.62))
    look.creature(d, x, y, r, f.kind, role_colour, f.mood, f.role)
    d.rounded_rectangle((x - 0.8 * r, y + 0.75 * r, x + 0.8 * r, y + 1.0 * r), radius=3, fill=role_colour)
    label = f.label if f.count == 1 else f"{f.label} ×{f.count}"
    look.text_box(d, (x, y + 1.0 * r + small * 0.75), label, small, bold=f.count > 1)
    if f.mood is not None:  # mood bar
        by = y + 1.0 * r + small * 1.6
        d.rectangle((x - r, by, x + r, by + 3), fill=(60, 60, 60))
        d.rectangle((x - r, by, x - r + 2 * r * f.mood, by + 3), fill=look.mood_colour(f.mood))
    if f.pebbles is not None:
        look.pebble(d, x + 1.05 * r, y - 0.95 * r, max(3, r * 0.2))
        look.text_box(d, (x + 1.05 * r + max(3, r * 0.2) + 2, y - 0.95 * r), f"{f.pebbles:.0f}", small,
                      anchor="lm")
    if goods and f.goods:  # what it holds: one small bar per good, left of the body
        bw = max(3.0, r * 0.3)
        x0 = x - 1.15 * r - len(goods) * (bw + 1)
        top = max(f.goods.values())
        scale = 1.6 * r / max(10.0, top)
        for k, g in enumerate(goods):
            u = f.goods.get(g, 0.0)
            if u:
                bx = x0 + k * (bw + 1)
                d.rectangle((bx, y + 0.8 * r - max(2, u * scale), bx + bw, y + 0.8 * r), fill=look.GOOD_COLOURS.get(
                    g, look.colour_of(g)), outline=look.shade(look.colour_of(g), -0.5))
    if f.status:  # how its reply fared: a dot (one creature) or counts (a group)
        worst = next(s for s in ("noop", "repaired", "valid") if f.status.get(s) or s == "valid")
        sd = max(3, r * 0.18)
        d.ellipse((x - r - sd, y - r - sd, x - r + sd, y - r + sd), fill=look.STATUS_COLOURS[worst],
                  outline=look.INK)
        if f.count > 1 and (f.status.get("noop") or f.status.get("repaired")):
            look.text_box(d, (x - r + sd + 2, y - r), f"{f.status.get('noop', 0)} no-op", small,
                          fill=look.STATUS_COLOURS["noop"], anchor="lm")
    if f.cold:
        look.text_box(d, (x + 1.05 * r, y + 0.4 * r), "❄", int(small * 1.3), fill=(40, 110, 220), anchor="lm")
    if f.numbers and not f.kind:  # an unknown world's per-agent numbers, two at most
        line = "  ".join(f"{k} {v:.3g}" for k, v in list(f.numbers.items())[:2])
        look.text_box(d, (x, y + 1.0 * r + small * 1.9), line, small)


def _flows(d: ImageDraw.ImageDraw, moving: list[Flow], at: dict, t: float, r: float, alpha: int = 255) -> None:
    if not moving:
        return
    most = max(f.units for f in moving)
    for f in moving:
        (x0, y0), (x1, y1) = at[f.source], at[f.target]
        c = look.GOOD_COLOURS.get(f.good, look.colour_of(f.good))
        width = 1 + int(4 * f.units / most)
        d.line((x0, y0, x1, y1), fill=(*(c if alpha < 255 else look.shade(c, 0.35)), alpha), width=width)
        # the good travels seller -> buyer, the pebbles buyer -> seller; both arrive at t = 1
        gx, gy = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        s = max(4.0, r * 0.32)
        d.ellipse((gx - s, gy - s, gx + s, gy + s), fill=c, outline=look.INK, width=1)
        if t < 1:
            look.pebble(d, x1 + t * (x0 - x1), y1 + t * (y0 - y1) - s, s * 0.7)
        else:  # at rest the line gets an arrow head at the buyer
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
def _top_bar(d: ImageDraw.ImageDraw, turn: Turn, shown: int, w: int) -> None:
    d.rectangle((0, 0, w, BAR), fill=(28, 36, 30))
    season = str(turn.state.get("season", "")).capitalize()
    head = f"Turn {turn.turn}" + (f" · {season}" if season else "")
    look.text_box(d, (10, BAR / 2), head, 15, fill=(240, 240, 230), anchor="lm", bold=True)
    n = len(turn.decisions)
    counts = "  ".join(f"{k} {turn.metrics.get(k, 0)}" for k in ("valid", "repaired", "noop"))
    look.text_box(d, (w - 10, BAR / 2), f"{n} agents · {counts}", 12, fill=(200, 210, 200), anchor="rm")
    title, text = legend_banner(turn)
    if title:
        fresh = bool(turn.legends)
        bw = min(w * 0.5, 40 + look.font(14, True).getlength(title))
        x0 = w / 2 - bw / 2
        d.polygon([(x0 - 12, 2), (x0 + bw + 12, 2), (x0 + bw, BAR / 2), (x0 + bw + 12, BAR - 2),
                   (x0 - 12, BAR - 2), (x0, BAR / 2)], fill=(200, 30, 40) if fresh else (150, 30, 40))
        look.text_box(d, (w / 2, BAR / 2), "⚑ " + title, 14, fill=(255, 220, 90), bold=True)
        if text:  # the rumour the creatures heard, just under the bar
            text = text if len(text) <= 110 else text[:109] + "…"
            tw = look.font(11).getlength(text) + 16
            d.rounded_rectangle((w / 2 - tw / 2, BAR + 2, w / 2 + tw / 2, BAR + 20), radius=5, fill=(255, 240, 200))
            look.text_box(d, (w / 2, BAR + 11), text, 11, fill=(90, 30, 30))


def legend_banner(turn: Turn) -> tuple[str, str]:
    """(title, rumour) of the legend in force: one that began this turn, else a still-active effect."""
    said = [e.get("text", "") for e in turn.events if e.get("kind") == "rumour"]
    rumours = turn.state.get("rumours") or []
    active = [e for e in turn.state.get("effects") or [] if isinstance(e, dict)
              and e.get("from", 0) <= turn.turn < e.get("until", 0)]
    if not (turn.legends or active):
        return "", ""
    line = (said or rumours or [""])[-1]
    title, sep, text = str(line).partition(": ")
    if not sep:
        name = (turn.legends or [active[-1].get("legend", "legend")])[-1]
        title, text = name.replace("_", " ").title(), str(line)
    return title, text.strip('"') if text.startswith('"') else text


def _ticker(d: ImageDraw.ImageDraw, turn: Turn, prev: Turn | None, w: int, h: int) -> None:
    y0 = h - TICKER
    d.rectangle((0, y0, w, h), fill=(24, 24, 28))
    prices = turn.metrics.get("prices")
    x = 10
    if isinstance(prices, dict):
        before = (dict(zip(goods_of(turn), turn.state.get("last_prices", []))) if is_wood(turn.state)
                  else (prev.metrics.get("prices") or {}) if prev else {})
        look.text_box(d, (x, y0 + TICKER / 2), "PRICES", 12, fill=(160, 160, 160), anchor="lm", bold=True)
        x += 62
        for g, p in prices.items():
            c = look.GOOD_COLOURS.get(g, look.colour_of(g))
            d.ellipse((x, y0 + 10, x + 10, y0 + 20), fill=c)
            old = before.get(g, p)
            arrow, ac = ("▲", (90, 210, 90)) if p > old + 0.05 else ("▼", (240, 90, 80)) if p < old - 0.05 \
                else ("•", (150, 150, 150))
            label = f"{g} {p:.1f}"
            look.text_box(d, (x + 14, y0 + TICKER / 2), label, 13, fill=(235, 235, 235), anchor="lm")
            x += 14 + look.font(13).getlength(label) + 4
            look.text_box(d, (x, y0 + TICKER / 2), arrow, 12, fill=ac, anchor="lm")
            x += 24
    scalars = [(k, v) for k, v in turn.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
               and k not in ("valid", "repaired", "noop", "llm_calls", "turn_seconds")]
    for k, v in scalars:
        label = f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
        width = look.font(12).getlength(label) + 18
        if x + width > w - 10:
            break
        look.text_box(d, (x, y0 + TICKER / 2), label, 12, fill=(200, 200, 170), anchor="lm")
        x += width
