"""The wood's state: plain data, one numpy column per creature so 10 000 creatures stay cheap."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

GOODS = ("acorns", "honey", "berries", "mushrooms", "firewood")
FOODS = GOODS[:4]
GOOD_AT = {good: k for k, good in enumerate(GOODS)}  # a good's index, without a search of GOODS
FIREWOOD = GOODS.index("firewood")
SEASONS = ("spring", "summer", "autumn", "winter")


@dataclass
class WoodState:
    turn: int
    names: list[str]
    kinds: list[str]  # the animal each creature is (drawn by viewers)
    personality: list[str]
    trade: np.ndarray  # (N,) int: index into GOODS of what each creature makes
    pebbles: np.ndarray  # (N,) int
    stock: np.ndarray  # (N, G) int
    mood: np.ndarray  # (N,) float in [0, 1]
    prices: np.ndarray  # (G,) float: the market's current price per good
    last_prices: np.ndarray  # (G,) float: a turn earlier, for trends
    ate: np.ndarray  # (N,) int: distinct foods eaten last turn
    cold: np.ndarray  # (N,) int: 1 if the creature had no firewood to burn last winter turn
    cleared: np.ndarray  # (G,) float: the price each good last changed hands at (wealth is valued at it)
    asked: np.ndarray  # (N, G) int: limit of each creature's ask last turn per good, 0 if it asked none
    unsold: np.ndarray  # (N, G) int: units of that ask left unsold
    bid: np.ndarray  # (N, G) int: limit of each creature's bid last turn per good, 0 if it bid none
    unfilled: np.ndarray  # (N, G) int: units of that bid left unbought
    best_bid: np.ndarray  # (G,) int: the highest bid in last turn's book per good, 0 if none
    best_ask: np.ndarray  # (G,) int: the lowest ask in last turn's book per good, 0 if none
    season: str = "spring"
    effects: list[dict] = field(default_factory=list)  # legend effects, see legends.py
    gossip: list[list[str]] = field(default_factory=list)  # recent [speaker, line]
    rumours: list[str] = field(default_factory=list)  # recent legend and player rumours
    # the second act (offers.py, credit.py, memory.py, patron.py); empty when it is off. Entries of these
    # lists are never changed in place, only replaced, so a copy of the outer lists is a copy of the state.
    offers: list[dict] = field(default_factory=list)  # proposals made last turn, open for this turn
    loans: list[dict] = field(default_factory=list)  # outstanding loans
    memory: list[list[list]] = field(default_factory=list)  # per creature: [[name, kept, broke, fuel, gifts]]
    defaulted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (N,) public defaults
    purse: int = 0  # the patron's pebbles
    whispers: list[list] = field(default_factory=list)  # [creature, turn, text] heard by that creature only

    def copy(self) -> "WoodState":
        copied = replace(
            self,
            trade=self.trade.copy(),
            pebbles=self.pebbles.copy(),
            stock=self.stock.copy(),
            mood=self.mood.copy(),
            prices=self.prices.copy(),
            last_prices=self.last_prices.copy(),
            ate=self.ate.copy(),
            cold=self.cold.copy(),
            cleared=self.cleared.copy(),
            asked=self.asked.copy(),
            unsold=self.unsold.copy(),
            bid=self.bid.copy(),
            unfilled=self.unfilled.copy(),
            best_bid=self.best_bid.copy(),
            best_ask=self.best_ask.copy(),
            effects=[dict(e) for e in self.effects],
            gossip=[list(g) for g in self.gossip],
            rumours=list(self.rumours),
            offers=list(self.offers),
            loans=list(self.loans),
            memory=[list(m) for m in self.memory],
            defaulted=self.defaulted.copy(),
            whispers=list(self.whispers),
        )
        if "position" in vars(self):  # the same names (never changed in place): the same rows
            copied.position = self.position
        return copied

    @cached_property
    def position(self) -> dict[str, int]:
        """Creature name -> row in the columns (built once per state)."""
        return {name: i for i, name in enumerate(self.names)}

    def wealth(self) -> np.ndarray:
        """Pebbles plus goods valued at the price they last changed hands at (not at a quote nobody met)."""
        return self.pebbles + self.stock @ self.cleared


def turns_to_winter(season: str, turn: int, season_turns: int) -> int:
    """Turns from `turn` (played in `season`) to the next winter's first turn; 0 in winter."""
    if season == "winter":
        return 0
    year = 4 * season_turns
    return (3 * season_turns - turn % year) % year
