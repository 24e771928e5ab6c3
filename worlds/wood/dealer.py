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

import numpy as np

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
    return deal_all(s, [i], [decided], view, desk)[0]


def deal_all(s: WoodState, rows: list[int], chosen: list[dict], view: Outlook, desk: offers.Desk) -> list[dict]:
    """`deal` for the creatures in `rows` (their trader's decisions `chosen`), their offers found at once."""
    spendable = np.maximum(s.pebbles[rows] - desk.due[rows], 0).tolist()  # Desk.free of each, read at once
    return [_deal(s, i, decided, view, desk, offer, free)
            for i, decided, offer, free in zip(rows, chosen, offers_for(s, rows, view), spendable)]


def _deal(s: WoodState, i: int, decided: dict, view: Outlook, desk: offers.Desk, offer: dict | None,
          free: int) -> dict:
    orders = decided["orders"]  # never changed in place: each step below makes a new list
    out: dict = {}
    taken = _take(s, i, view, desk, free)
    if taken:
        out["accept"] = s.names[taken["from"]]
        orders = [o for o in orders if not (o[0] == "buy" and o[1] == taken.get("good"))]
    if offer:
        out["offer"] = offer
        orders = _hold_back(orders, offer)
    lend = _lend(s, i, view, desk, free)
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


def offers_for(s: WoodState, rows: list[int], view: Outlook) -> list[dict | None]:
    """Each creature's offer, or None: a unit or two of its surplus for the first neighbour (in an order that
    turns with the turn) who makes another good, lacks this one, never broke its word to it and never
    defaulted; a swap when that neighbour makes a food it lacks, else a sale at its asking price if the
    neighbour can pay (if not, the next neighbour). Worked out for all creatures at once over numpy columns, a
    neighbour's place at a time; prices are rounded as Python rounds them (halves to even)."""
    rows = np.asarray(rows, dtype=np.int64)
    out: list[dict | None] = [None] * rows.size
    own = s.trade[rows]
    surplus = s.stock[rows, own] - np.where(own == FIREWOOD, view.wood_keep, 1)
    value = np.asarray(view.value)
    some = np.flatnonzero((surplus >= 2) & (np.asarray(view.sentiment)[own] >= 0))
    if not some.size:
        return out
    i, own, surplus = rows[some], own[some], surplus[some]
    ring = offers.ring_array(len(s.names))[i]  # (c, 4) neighbours, -1 past the last
    other = (ring >= 0) & (s.trade[ring] != own[:, None])
    near = np.take_along_axis(ring, np.argsort(~other, axis=1, kind="stable"), 1)  # the others first, in order
    count = other.sum(1)
    qty = np.where(surplus >= 4, 2, 1)  # never past MAX_QTY
    markup = np.array([MARKUP.get(s.personality[k], 1.0) for k in i.tolist()])
    price = np.maximum(np.rint(qty * value[own] * markup), 1)
    shunned: dict[int, set[str]] = {}  # who broke a promise to it, as it remembers (most remember none)
    for c, k in enumerate(i.tolist()):
        for e in s.memory[k]:
            if e[memory.BROKE]:
                shunned.setdefault(c, set()).add(e[0])
    to, swap = np.full(i.size, -1), np.zeros(i.size, dtype=bool)
    at = np.arange(i.size)
    for step in range(near.shape[1]):
        j = near[at, (s.turn + step) % np.maximum(count, 1)]
        theirs = s.trade[j]
        fits = (to < 0) & (step < count) & (s.stock[j, own] <= 0) & (s.defaulted[j] <= 0)
        for c in [c for c in shunned if fits[c] and s.names[j[c]] in shunned[c]]:
            fits[c] = False
        swapping = fits & (theirs < len(FOODS)) & (s.stock[i, np.minimum(theirs, len(FOODS) - 1)] == 0)
        taken = swapping | (fits & (price <= s.pebbles[j]))
        to = np.where(taken, j, to)
        swap |= swapping
    theirs = s.trade[np.maximum(to, 0)]
    wqty = np.clip(np.rint(FAIR_SWAP * qty * value[own] / value[theirs]), 1, MAX_QTY)
    names = s.names
    for c, j, good, n, swapped, want, w, p in zip(some[to >= 0].tolist(), *(x[to >= 0].tolist() for x in (
            to, own, qty, swap, theirs, wqty.astype(np.int64), np.minimum(price, 99).astype(np.int64)))):
        terms = {"to": names[j], "good": GOODS[good], "qty": n}
        out[c] = {**terms, "want": GOODS[want], "wqty": w} if swapped else {**terms, "price": p}
    return out


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


def _lend(s: WoodState, i: int, view: Outlook, desk: offers.Desk, free: int) -> dict | None:
    if free < LEND_ABOVE:
        return None
    lent_to = {loan["to"] for loan in desk.lent.get(i, [])}
    shunned = {e[0] for e in s.memory[i] if e[memory.BROKE]}  # who broke a promise to it, as it remembers
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
    if sum(o[2] * o[3] for o in orders if o[0] == "buy") <= max(room, 0):  # no bid (a sum of 0) fits too
        return orders
    buys = [o for o in orders if o[0] == "buy"]
    while buys and sum(o[2] * o[3] for o in buys) > max(room, 0):
        buys.pop()
    return [o for o in orders if o[0] == "sell" or o in buys]
