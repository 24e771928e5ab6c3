"""The market: a sealed-bid call auction per good, all orders cleared together at one price per good.

For each good, the clearing price is the middle of the price range that trades the most units; every bid at
or above it and every ask at or below it trades at that one price, best prices first. Buyers' pebbles are
escrowed at their limit prices and sellers can only offer what they hold, so nobody goes negative.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Fill:
    good: int
    price: int
    buyers: list[tuple[int, int]]  # (creature, units)
    sellers: list[tuple[int, int]]


@dataclass
class Book:
    """Orders for one good: parallel lists of creature index, units and limit price."""

    bid_who: list[int]
    bid_qty: list[int]
    bid_price: list[int]
    ask_who: list[int]
    ask_qty: list[int]
    ask_price: list[int]


def clear(good: int, book: Book, rng: np.random.Generator) -> Fill | None:
    if not book.bid_who or not book.ask_who:
        return None
    bid_p = np.asarray(book.bid_price)
    ask_p = np.asarray(book.ask_price)
    bid_q = np.asarray(book.bid_qty)
    ask_q = np.asarray(book.ask_qty)
    candidates = np.unique(np.concatenate([bid_p, ask_p]))
    demand = (bid_q[None, :] * (bid_p[None, :] >= candidates[:, None])).sum(1)
    supply = (ask_q[None, :] * (ask_p[None, :] <= candidates[:, None])).sum(1)
    volume = np.minimum(demand, supply)
    best = volume.max()
    if best <= 0:
        return None
    at_best = candidates[volume == best]
    price = int(round((at_best.min() + at_best.max()) / 2))
    # priority: better price first; random order among equal prices so no name always wins
    buyers = _allocate(book.bid_who, bid_q, -bid_p, bid_p >= price, best, rng)
    sellers = _allocate(book.ask_who, ask_q, ask_p, ask_p <= price, best, rng)
    return Fill(good, price, buyers, sellers)


def _allocate(who, qty, priority, eligible, units, rng) -> list[tuple[int, int]]:
    idx = np.flatnonzero(eligible)
    order = idx[np.lexsort((rng.random(idx.size), priority[idx]))]
    out, left = [], int(units)
    for i in order:
        if left == 0:
            break
        take = min(int(qty[i]), left)
        out.append((who[i], take))
        left -= take
    return out
