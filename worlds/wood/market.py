"""The market: a sealed-bid call auction per good, all orders cleared together at one price per good.

For each good, the clearing price is the middle of the price range that trades the most units; every bid at
or above it and every ask at or below it trades at that one price, best prices first. Buyers' pebbles are
escrowed at their limit prices and sellers can only offer what they hold, so nobody goes negative.

The book is kept as numpy columns: the orders of 10 000 creatures are taken, cleared and settled a column at
a time, never an order at a time in Python.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from worlds.wood.state import GOODS, WoodState

# the columns of the orders given to take_orders, one row an order
WHO, PLACE, GOOD, BIDS, QTY, PRICE = range(6)


@dataclass
class Fill:
    good: int
    price: int
    buyers: list[tuple[int, int]]  # (creature, units)
    sellers: list[tuple[int, int]]


@dataclass
class Book:
    """Orders for one good: parallel columns (lists or arrays) of creature index, units and limit price."""

    bid_who: np.ndarray
    bid_qty: np.ndarray
    bid_price: np.ndarray
    ask_who: np.ndarray
    ask_qty: np.ndarray
    ask_price: np.ndarray


def take_orders(s: WoodState, orders: np.ndarray) -> list[Book]:
    """One book per good from `orders`, (m, 6) ints in the order the creatures wrote them: creature, its
    order's place among its own (0, 1, ...), good, 1 for a bid (0 an ask), units, limit price. A bid is cut to
    what the creature's pebbles left after its earlier bids can pay at its limit (escrow), an ask to what it
    holds beyond its earlier asks of that good; a cut to nothing is not placed. Each placed order is written
    into the state's book columns (asked, unsold, bid, unfilled; zero for creatures that placed none)."""
    for column in (s.asked, s.unsold, s.bid, s.unfilled):
        column[:] = 0
    placed = np.zeros(len(orders), dtype=np.int64)
    budget, offered = s.pebbles.copy(), np.zeros_like(s.stock)
    who, good, price, qty = orders[:, WHO], orders[:, GOOD], orders[:, PRICE], orders[:, QTY]
    for place in range(int(orders[:, PLACE].max(initial=-1)) + 1):  # a creature's orders in the order written
        now = orders[:, PLACE] == place
        bids = np.flatnonzero(now & (orders[:, BIDS] == 1))  # one order a creature at each place: no repeats
        i, k = who[bids], good[bids]
        units = np.maximum(np.minimum(qty[bids], budget[i] // price[bids]), 0)
        placed[bids] = units
        budget[i] -= units * price[bids]
        got = units > 0
        s.bid[i[got], k[got]] = price[bids][got]
        s.unfilled[i, k] += units
        asks = np.flatnonzero(now & (orders[:, BIDS] == 0))
        i, k = who[asks], good[asks]
        units = np.maximum(np.minimum(qty[asks], s.stock[i, k] - offered[i, k]), 0)
        placed[asks] = units
        offered[i, k] += units
        got = units > 0
        s.asked[i[got], k[got]] = price[asks][got]
        s.unsold[i[got], k[got]] = offered[i[got], k[got]]
    books = []
    for k in range(len(GOODS)):
        bids = np.flatnonzero((good == k) & (placed > 0) & (orders[:, BIDS] == 1))
        asks = np.flatnonzero((good == k) & (placed > 0) & (orders[:, BIDS] == 0))
        books.append(Book(who[bids], placed[bids], price[bids], who[asks], placed[asks], price[asks]))
    return books


def clear(good: int, book: Book, rng: np.random.Generator) -> Fill | None:
    if not len(book.bid_who) or not len(book.ask_who):
        return None
    bid_p = np.asarray(book.bid_price, dtype=np.int64)
    ask_p = np.asarray(book.ask_price, dtype=np.int64)
    bid_q = np.asarray(book.bid_qty, dtype=np.int64)
    ask_q = np.asarray(book.ask_qty, dtype=np.int64)
    candidates = np.unique(np.concatenate([bid_p, ask_p]))
    # units bid at or above each candidate price and asked at or below it, from the books sorted by price
    by_bid, by_ask = np.argsort(bid_p, kind="stable"), np.argsort(ask_p, kind="stable")
    above = np.concatenate([np.cumsum(bid_q[by_bid][::-1])[::-1], [0]])
    below = np.concatenate([[0], np.cumsum(ask_q[by_ask])])
    demand = above[np.searchsorted(bid_p[by_bid], candidates, side="left")]
    supply = below[np.searchsorted(ask_p[by_ask], candidates, side="right")]
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
    """Up to `units` units to the eligible orders, best priority first, each taking all it asks for while
    units are left (the last one served takes what is left)."""
    idx = np.flatnonzero(eligible)
    order = idx[np.lexsort((rng.random(idx.size), priority[idx]))]
    wanted = qty[order]
    before = np.cumsum(wanted) - wanted  # units served before each order's turn
    took = np.minimum(wanted, np.maximum(int(units) - before, 0))
    served = took > 0
    return list(zip(np.asarray(who)[order[served]].tolist(), took[served].tolist()))


def settle(s: WoodState, k: int, fill: Fill) -> None:
    """The goods and pebbles of one good's fill change hands at its price; what was bought or sold comes off
    the creatures' unfilled bids and unsold asks."""
    buyers, sellers = np.asarray(fill.buyers, dtype=np.int64), np.asarray(fill.sellers, dtype=np.int64)
    s.cleared[k] = fill.price
    for rows, sign, left in ((buyers, 1, s.unfilled), (sellers, -1, s.unsold)):
        who, units = rows[:, 0], rows[:, 1]
        np.add.at(s.stock[:, k], who, sign * units)
        np.add.at(s.pebbles, who, -sign * units * fill.price)
        np.add.at(left[:, k], who, -units)
