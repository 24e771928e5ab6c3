"""The scripted fisher: the baseline the models are measured against.

A fisher knows only what it can see from its boat: the fish in the lake now, how many regrew and how many
were caught last turn. It never reads the lake's growth rate or capacity. It aims to take its share of what
regrew, scaled by temperament: a cautious fisher takes less, a greedy one more. Cautious and fair fishers
also watch the stock: when it fell last turn they hold back, when it nears the collapse level they stop.
Greedy fishers do neither. Whether the lake lasts is decided by the mix of temperaments, not by the rules.
"""
from __future__ import annotations

import numpy as np

from worlds.commons.state import CommonsState

GREED = {"cautious": 0.7, "fair": 1.0, "greedy": 1.6}
TEMPERAMENTS = ("cautious", "fair", "greedy")
RESTRAINT = 0.7  # what a careful fisher keeps of its share after the stock fell
REBUILD = 1.2  # what it allows itself when the stock rose
LINES = {
    "scarce": "The lake is nearly empty, fish less!",
    "greedy": "Plenty of fish for everyone.",
    "cautious": "Let's leave some to spawn.",
    "fair": "I'll keep to my share of {catch}.",
}


def temperaments(n: int, greedy: float) -> list[str]:
    """n fishers, a `greedy` share of them greedy (spread through the fleet), the rest cautious and fair in turn."""
    out, owed = [], 0.0
    calm = 0
    for _ in range(n):
        owed += greedy
        if owed >= 1 - 1e-9:
            owed -= 1
            out.append("greedy")
        else:
            out.append(("cautious", "fair")[calm % 2])
            calm += 1
    return out


def decide(state: CommonsState, i: int, rng: np.random.Generator, *, collapse: int, limit: int) -> dict:
    fishers = len(state.names)
    caught = int(state.last_catch.sum())
    before = state.stock - state.last_regrowth + caught + state.last_outsiders  # the lake a turn ago
    temperament = state.temperament[i]
    share = state.last_regrowth / fishers * GREED[temperament]
    scarce = state.stock < 2 * collapse
    if temperament != "greedy":
        if scarce:
            share = 0.0
        elif state.stock < before:
            share *= RESTRAINT
        elif state.stock > before:
            share *= REBUILD
    catch = int(np.clip(round(share * rng.uniform(0.85, 1.15)), 0, limit))
    if scarce:
        say = LINES["scarce"]
    elif rng.random() < 0.3:
        say = LINES[temperament].format(catch=catch)
    else:
        say = ""
    return {"catch": catch, "say": say}
