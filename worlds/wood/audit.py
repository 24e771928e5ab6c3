"""Self-defeating orders: what a weak reasoner gets wrong, counted from what it SAID (before the parse path
turned it into a no-op), so benchmarks can show what prompts and per-creature schemas prevent."""
from __future__ import annotations

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
