"""Legends: historical market episodes retold as woodland folklore.

A legend starts effects that last a few turns. An effect may change how fast a good rots or grows
(`rot`, `grow` multipliers), force winter, or shift sentiment: how much more (or less) than the market
price creatures believe a good is worth. Sentiment is what a rumour does to minds; the scripted traders act
on it and the model reads it as the rumour text in its observation.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from worlds.wood.state import GOODS


@dataclass(frozen=True)
class Legend:
    title: str
    rumour: str  # what the creatures hear
    effects: list[dict] = field(default_factory=list)  # each: start (turns from now), turns, and changes


LEGENDS: dict[str, Legend] = {
    "bank_run": Legend(
        "The Run on the Honey Hollow",
        "Word spreads that the honey keeper's hollow is empty and the honey in it is souring. Everyone "
        "rushes to get rid of honey before it is worthless.",
        [
            {"start": 0, "turns": 6, "good": "honey", "sentiment": -0.8, "rot": 6.0},
        ],
    ),
    "tulip_mania": Legend(
        "The Glowcap Craze",
        "Glowing mushrooms are the fashion of the season: every creature wants a basket, whatever the price.",
        [
            {"start": 0, "turns": 5, "good": "mushrooms", "sentiment": 1.5},
            {"start": 5, "turns": 4, "good": "mushrooms", "sentiment": -0.6},
        ],
    ),
    "south_sea": Legend(
        "The Far Meadow Company",
        "A traveller sells shares in a Far Meadow where acorns will buy anything; hold acorns and grow rich.",
        [
            {"start": 0, "turns": 5, "good": "acorns", "sentiment": 1.0},
            {"start": 5, "turns": 4, "good": "acorns", "sentiment": -0.5},
        ],
    ),
    "drought": Legend(
        "The Dry Moon",
        "No rain for a moon: the berry bushes wither and the mushroom beds crack.",
        [
            {"start": 0, "turns": 6, "good": "berries", "grow": 0.25},
            {"start": 0, "turns": 6, "good": "mushrooms", "grow": 0.25},
            {"start": 0, "turns": 6, "good": "acorns", "grow": 0.6},
        ],
    ),
    "early_frost": Legend(
        "The Early Frost",
        "Frost on the ferns weeks too soon: winter has come early, and the stoves must burn.",
        [{"start": 0, "turns": 5, "winter": True}],
    ),
    "rumour": Legend("A Rumour", "", []),  # a player's own words; only the text, no mechanics
}


def start(name: str, turn: int, text: str | None) -> tuple[list[dict], str]:
    """The effects a legend starts at `turn`, and the rumour line creatures hear."""
    legend = LEGENDS[name]
    effects = [
        {"legend": name, "from": turn + e["start"], "until": turn + e["start"] + e["turns"],
         **{k: v for k, v in e.items() if k not in ("start", "turns")}}
        for e in legend.effects
    ]
    said = json.dumps(text) if text else legend.rumour  # a player's words stay one quoted JSON string
    return effects, f"{legend.title}: {said}" if said else legend.title


def active(effects: list[dict], turn: int) -> list[dict]:
    return [e for e in effects if e["from"] <= turn < e["until"]]


def multiplier(effects: list[dict], turn: int, key: str) -> list[float]:
    """Per-good product of one multiplier over the active effects (1.0 where none applies)."""
    out = [1.0] * len(GOODS)
    for e in active(effects, turn):
        if key in e and "good" in e:
            out[GOODS.index(e["good"])] *= e[key]
    return out


def sentiment(effects: list[dict], turn: int) -> list[float]:
    out = [0.0] * len(GOODS)
    for e in active(effects, turn):
        if "sentiment" in e:
            out[GOODS.index(e["good"])] += e["sentiment"]
    return out


def forced_winter(effects: list[dict], turn: int) -> bool:
    return any(e.get("winter") for e in active(effects, turn))
