"""The scripted fisher: the baseline the models are measured against.

Fishers together aim to hold the lake at half its capacity, where it regrows fastest: they take the
expected regrowth, plus a little of any surplus above half (or minus a little of the shortfall), split
evenly and scaled by temperament. Greedy fishers overshoot, cautious ones undershoot.
"""
from __future__ import annotations

import numpy as np

from worlds.commons import legends
from worlds.commons.state import CommonsState

GREED = {"cautious": 0.7, "fair": 1.0, "greedy": 1.6}
TEMPERAMENTS = ("cautious", "fair", "greedy")
PULL = 0.25  # share of the gap to half capacity the fishers close each turn
LINES = {
    "scarce": "The lake is nearly empty, fish less!",
    "greedy": "Plenty of fish for everyone.",
    "cautious": "Let's leave some to spawn.",
    "fair": "I'll keep to my share of {catch}.",
}


def decide(state: CommonsState, i: int, rng: np.random.Generator, *, growth: float, capacity: int,
           collapse: int, limit: int) -> dict:
    stock = state.stock
    rate = growth * legends.regrowth_factor(state.effects, state.turn)
    outsiders = legends.outsider_share(state.effects, state.turn) * stock
    expected = rate * stock * (1 - stock / capacity)
    target = max(0.0, expected - outsiders + PULL * (stock - capacity / 2))
    temperament = state.temperament[i]
    share = target / len(state.names) * GREED[temperament] * rng.uniform(0.85, 1.15)
    catch = int(np.clip(round(share), 0, limit))
    if stock < 2 * collapse:
        say = LINES["scarce"]
    elif rng.random() < 0.3:
        say = LINES[temperament].format(catch=catch)
    else:
        say = ""
    return {"catch": catch, "say": say}
