"""The scripted creature's deals (the second act), laid over the trader's market orders (trader.py).

- It takes the best offer open to it: goods it lacks at no more than they are worth to it, a swap of its
  surplus for a food it lacks, or a loan when its purse is nearly empty and it owes nothing.
- It offers one neighbour who lacks its good a unit or two of its surplus, held back from the market so it
  can deliver: a swap when that neighbour makes a food it lacks, else a sale at its asking price. It never
  deals again with a neighbour who broke a promise to it.
- A full purse lends to a poor neighbour, never to one who has defaulted on anyone or broken a promise to it.
- It keeps back what its debts due next turn, and what it has offered to lend, will take: bids that would
  spend those pebbles are dropped.
"""
from __future__ import annotations

from worlds.wood import credit, memory, offers
from worlds.wood.actions import MAX_QTY, fit_to_hear
from worlds.wood.state import FIREWOOD, FOODS, GOODS, WoodState
from worlds.wood.trader import LINES, MARKUP, Outlook

LEND_ABOVE = 30  # a purse this full lends
POOR = 8  # a purse this empty borrows, and is lent to
LOAN = 10  # most it lends at once
FAIR_SWAP = 0.7  # least share of what it gives, by value, a swap must bring back


def deal(s: WoodState, i: int, decided: dict, view: Outlook, desk: offers.Desk) -> dict:
    """The trader's decision with an accept, an offer and a loan added where they serve creature i."""
    orders = decided["orders"]  # never changed in place: each step below makes a new list
    out: dict = {}
    free = desk.free(s, i)  # read once: every step below needs it
    taken = _take(s, i, view, desk, free)
    if taken:
        out["accept"] = s.names[taken["from"]]
        orders = [o for o in orders if not (o[0] == "buy" and o[1] == taken.get("good"))]
    shunned = {e[0] for e in s.memory[i] if e[memory.BROKE]}  # who broke a promise to it, as it remembers
    offer = _offer(s, i, view, shunned)
    if offer:
        out["offer"] = offer
        orders = _hold_back(orders, offer)
    lend = _lend(s, i, view, desk, free, shunned)
    if lend:
        out["lend"] = lend
    orders = _keep_for_debts(s, i, orders, desk, free, lend["pebbles"] if lend else 0)
    say = decided["say"]
    goods = {o[1] for o in orders}
    if offer:
        goods.update(g for g in (offer["good"], offer.get("want")) if g)
    if not fit_to_hear(say, frozenset(goods)):
        say = LINES["quiet"]
    return {"orders": orders, "say": say, **out}


def _take(s: WoodState, i: int, view: Outlook, desk: offers.Desk, free: int) -> dict | None:
    """The first open offer worth taking (a loan only when nothing else is)."""
    own, stock = view.trade[i], view.stock[i]
    owes = bool(desk.owes.get(i))
    fallback = None
    mine = desk.incoming.get(i, [])
    held = s.stock[i].tolist() if mine else []
    for p in mine:
        if not offers.usable(own, held, p, free):
            continue
        if p["kind"] == "loan":
            if fallback is None and free < POOR and not owes:
                fallback = p
            continue
        k = GOODS.index(p["good"])
        needed = (k in range(len(FOODS)) and stock[k] == 0) or (k == FIREWOOD and stock[k] < view.fuel_need)
        if not needed:
            continue
        if p["kind"] == "sale" and p["price"] <= view.worth[k] * p["qty"]:
            return p
        if p["kind"] == "swap" and GOODS.index(p["want"]) == own and stock[own] - 1 >= p["wqty"]:
            return p
    return fallback


def _offer(s: WoodState, i: int, view: Outlook, shunned: set[str]) -> dict | None:
    """A unit or two of its surplus for the first neighbour (in an order that turns with the turn) who
    lacks it and never broke its word (`shunned`: the names that broke one to it)."""
    own, stock = view.trade[i], view.stock[i]
    keep = view.wood_keep if own == FIREWOOD else 1
    surplus = stock[own] - keep
    if surplus < 2 or view.sentiment[own] < 0:
        return None
    near = [j for j in offers.neighbours(len(s.names), i) if view.trade[j] != own]
    for step in range(len(near)):
        j = near[(s.turn + step) % len(near)]
        if view.stock[j][own] > 0 or s.names[j] in shunned or view.defaulted[j] > 0:
            continue
        qty = min(2 if surplus >= 4 else 1, MAX_QTY)
        theirs = view.trade[j]
        if theirs < len(FOODS) and stock[theirs] == 0:  # it makes a food this creature lacks: swap
            wqty = max(1, min(MAX_QTY, round(FAIR_SWAP * qty * view.value[own] / view.value[theirs])))
            return {"to": s.names[j], "good": GOODS[own], "qty": qty, "want": GOODS[theirs], "wqty": wqty}
        price = max(1, round(qty * view.value[own] * MARKUP.get(s.personality[i], 1.0)))
        if price <= view.pebbles[j]:
            return {"to": s.names[j], "good": GOODS[own], "qty": qty, "price": min(price, 99)}
    return None


def _hold_back(orders: list[list], offer: dict) -> list[list]:
    """The market orders with the offered units taken out of the sell order, so they are there to deliver."""
    kept = []
    for o in orders:
        if o[0] == "sell" and o[1] == offer["good"]:
            o = [o[0], o[1], o[2] - offer["qty"], o[3]]
            if o[2] <= 0:
                continue
        kept.append(o)
    return kept


def _lend(s: WoodState, i: int, view: Outlook, desk: offers.Desk, free: int, shunned: set[str]) -> dict | None:
    if free < LEND_ABOVE:
        return None
    lent_to = {loan["to"] for loan in desk.lent.get(i, [])}
    poor = [j for j in offers.neighbours(len(s.names), i)
            if view.pebbles[j] < POOR and j not in lent_to and view.defaulted[j] == 0
            and s.names[j] not in shunned]
    if not poor:
        return None
    j = min(poor, key=lambda j: (view.pebbles[j], j))
    return {"to": s.names[j], "pebbles": min(LOAN, free // 3, credit.MAX_LOAN), "due": credit.DUE}


def _keep_for_debts(s: WoodState, i: int, orders: list[list], desk: offers.Desk, free: int,
                    lending: int) -> list[list]:
    """Bids dropped, last first, until what they could spend leaves the debts due next turn and the loan it
    offers unspent."""
    owes = desk.owes.get(i)
    due_next = sum(loan["owed"] for loan in owes if loan["due"] == s.turn + 1) if owes else 0
    room = free - due_next - lending
    buys = [o for o in orders if o[0] == "buy"]
    if not buys or sum(o[2] * o[3] for o in buys) <= max(room, 0):
        return orders
    while buys and sum(o[2] * o[3] for o in buys) > max(room, 0):
        buys.pop()
    return [o for o in orders if o[0] == "sell" or o in buys]
