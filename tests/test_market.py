"""The call auction: one price per good, best prices first, nobody trades beyond their limit."""
import numpy as np

from worlds.wood.market import Book, clear


def book(bids, asks):
    return Book([b[0] for b in bids], [b[1] for b in bids], [b[2] for b in bids],
                [a[0] for a in asks], [a[1] for a in asks], [a[2] for a in asks])


def test_crossing_orders_trade_at_one_price_between_the_marginal_bid_and_ask(rng):
    fill = clear(0, book(bids=[(0, 2, 8), (1, 1, 5)], asks=[(2, 3, 4)]), rng)
    assert fill is not None
    assert 4 <= fill.price <= 8
    assert sum(u for _, u in fill.buyers) == sum(u for _, u in fill.sellers)


def test_volume_is_maximised_and_limits_respected(rng):
    # bids: 3 @ 10, 2 @ 6 ; asks: 2 @ 5, 4 @ 9 -> at 9 only 3 demanded and 6 supplied, at 6 5 demanded 2 supplied
    fill = clear(0, book(bids=[(0, 3, 10), (1, 2, 6)], asks=[(2, 2, 5), (3, 4, 9)]), rng)
    units = sum(u for _, u in fill.buyers)
    assert units == 3
    for who, _ in fill.buyers:
        assert {0: 10, 1: 6}[who] >= fill.price
    for who, _ in fill.sellers:
        assert {2: 5, 3: 9}[who] <= fill.price


def test_no_trade_when_every_bid_is_below_every_ask(rng):
    assert clear(0, book(bids=[(0, 1, 3)], asks=[(1, 1, 5)]), rng) is None


def test_one_sided_book_does_not_trade(rng):
    assert clear(0, book(bids=[(0, 1, 3)], asks=[]), rng) is None
    assert clear(0, book(bids=[], asks=[(0, 1, 3)]), rng) is None


def test_better_price_is_served_first():
    fill = clear(0, book(bids=[(0, 1, 9), (1, 1, 6)], asks=[(2, 1, 5)]), np.random.default_rng(1))
    assert fill.buyers == [(0, 1)]
