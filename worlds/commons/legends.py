"""Legends of the lake: shocks a player can start, each lasting a few turns.

An effect either scales regrowth (`regrowth`, a multiplier) or sends an outsider fleet that takes a share of
the fish left after the fishers' catch (`outsiders`, a fraction of the stock per turn).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Legend:
    title: str
    rumour: str  # what the fishers hear
    effects: list[dict] = field(default_factory=list)  # each: turns it lasts, and its changes


LEGENDS: dict[str, Legend] = {
    "dry_year": Legend("A Dry Year", "No rain this year: the spawning beds are dry and few fish are born.",
                       [{"turns": 4, "regrowth": 0.3}]),
    "outsider_fleet": Legend("The Outsider Fleet", "Strange boats have come to the lake and fish it hard.",
                             [{"turns": 3, "outsiders": 0.15}]),
    "rumour": Legend("A Rumour", ""),  # a player's own words; only the text, no mechanics
}


def start(name: str, turn: int, text: str | None) -> tuple[list[dict], str]:
    """The effects a legend starts at `turn`, and the rumour line the fishers hear."""
    legend = LEGENDS[name]
    effects = [{"legend": name, "from": turn, "until": turn + e["turns"],
                **{k: v for k, v in e.items() if k != "turns"}} for e in legend.effects]
    said = f'"{text}"' if text else legend.rumour
    return effects, f"{legend.title}: {said}" if said else legend.title


def regrowth_factor(effects: list[dict], turn: int) -> float:
    factor = 1.0
    for e in effects:
        if e["from"] <= turn < e["until"]:
            factor *= e.get("regrowth", 1.0)
    return factor


def outsider_share(effects: list[dict], turn: int) -> float:
    return min(1.0, sum(e.get("outsiders", 0.0) for e in effects if e["from"] <= turn < e["until"]))
