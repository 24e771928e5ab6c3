"""Self-defeating orders: what a weak reasoner gets wrong, counted from what it SAID (before the parse path
turned it into a no-op), so benchmarks can show what prompts and per-creature schemas prevent."""
from __future__ import annotations

from worlds.wood import offers
from worlds.wood.actions import FIELDS
from worlds.wood.state import FIREWOOD, GOODS, WoodState

MISTAKES = ("buys_own_good", "sells_unheld", "sells_winter_fuel", "bids_over_purse")


def mistakes(state: WoodState, i: int, orders: list) -> list[str]:
    """The self-defeating parts of creature i's orders (as the model wrote them: lists or dicts), one label each."""
    found = []
    own = int(state.trade[i])
    spend = 0
    for order in orders:
        if isinstance(order, list) and len(order) == len(FIELDS):
            order = dict(zip(FIELDS, order))
        if not isinstance(order, dict) or order.get("good") not in GOODS:
            continue
        k = GOODS.index(order["good"])
        qty, price = _number(order.get("qty")), _number(order.get("price"))
        if order.get("side") == "buy":
            if k == own:
                found.append("buys_own_good")
            spend += qty * price
        elif order.get("side") == "sell":
            if state.stock[i, k] == 0:
                found.append("sells_unheld")
            elif k == FIREWOOD and own != FIREWOOD and state.season in ("autumn", "winter") and state.stock[i, k] <= 2:
                found.append("sells_winter_fuel")
    if spend > state.pebbles[i]:
        found.append("bids_over_purse")
    return found


def _number(value) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0


DEALS = ("offers", "accepts", "loans")  # the second act's moves, counted when a reply makes them
DEAL_MISTAKES = ("offers_unheld", "offers_to_stranger", "lends_over_purse", "lends_to_stranger",
                 "lends_to_defaulter", "accepts_unoffered")


def deals(state: WoodState, i: int, said: dict) -> tuple[list[str], list[str]]:
    """The deals creature i's reply (a dict as the model wrote it) makes, and their self-defeating parts:
    goods it does not hold, a counterpart that is itself or no neighbour, more pebbles than it can spare,
    a loan to a known defaulter, an acceptance of an offer nobody made it (or that it cannot take)."""
    used, found = [], []
    near = {state.names[j] for j in offers.neighbours(len(state.names), i)}
    desk = offers.desk(state)
    offer, lend, accept = said.get("offer"), said.get("lend"), said.get("accept")
    if isinstance(offer, dict):
        used.append("offers")
        good = offer.get("good")
        if offer.get("to") not in near:
            found.append("offers_to_stranger")
        if good not in GOODS or state.stock[i, GOODS.index(good)] < _number(offer.get("qty")):
            found.append("offers_unheld")
    if isinstance(lend, dict):
        used.append("loans")
        to = lend.get("to")
        if to not in near:
            found.append("lends_to_stranger")
        elif state.defaulted[state.position[to]] > 0:
            found.append("lends_to_defaulter")
        if _number(lend.get("pebbles")) > desk.free(state, i):
            found.append("lends_over_purse")
    if accept is not None:
        used.append("accepts")
        if accept not in offers.takers(state, i, desk):
            found.append("accepts_unoffered")
    return used, found
