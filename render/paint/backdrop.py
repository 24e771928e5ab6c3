"""The theme's backdrop under every scene: a plain clearing, a forest, a market stall or a lake, tinted by the
season. Cached: it depends only on its kind, season and size, and a window draws it thirty times a second."""
from __future__ import annotations

import random
from functools import lru_cache

from PIL import Image, ImageDraw

from render.paint import look

GROUND = {"spring": ((150, 200, 110), (56, 120, 60)), "summer": ((112, 178, 80), (30, 100, 46)),
          "autumn": ((190, 168, 92), (150, 80, 30)), "winter": ((232, 238, 246), (92, 100, 112))}
BACKGROUNDS = ("plain", "forest", "market", "water")


@lru_cache(maxsize=16)
def painted(kind: str, season: str, w: int, h: int, top: int, bottom: int) -> Image.Image:
    """The ground of a `kind` background in `season`, `w` x `h`, its clearing between rows `top` and `bottom`
    (the bars go over the rest). Do not draw on it: copy it."""
    grass, trees = GROUND[season]
    if kind == "plain":
        img = Image.new("RGB", (w, h), look.shade(grass, -0.55))
        ImageDraw.Draw(img).ellipse((0.02 * w, top + 0.03 * h, 0.98 * w, bottom - 0.03 * h),
                                    fill=look.shade(grass, -0.25))
        return img
    img = Image.new("RGB", (w, h), look.shade(trees, -0.45))
    d = ImageDraw.Draw(img)
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
    cx, cy = w / 2, (top + bottom) / 2
    if kind == "water":  # a lake in the clearing
        water = (200, 220, 240) if season == "winter" else (70, 130, 190)
        d.ellipse((cx - 0.2 * w, cy - 0.16 * h, cx + 0.2 * w, cy + 0.16 * h), fill=water,
                  outline=look.shade(water, -0.3), width=3)
    elif kind == "market":  # a stall in the clearing
        d.rectangle((cx - 34, cy - 6, cx + 34, cy + 18), fill=(150, 100, 60), outline=(80, 50, 30), width=2)
        for k in range(6):
            c = (200, 50, 50) if k % 2 else (250, 240, 220)
            d.polygon([(cx - 40 + k * 13.3, cy - 24), (cx - 40 + (k + 1) * 13.3, cy - 24),
                       (cx - 40 + (k + 1) * 13.3, cy - 10), (cx - 40 + k * 13.3, cy - 10)], fill=c)
        look.text_box(d, (cx, cy + 30), "market", 11, fill=look.shade(grass, -0.6))
    return img
