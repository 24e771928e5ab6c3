"""Direct offers: a creature offers one named neighbour a sale or a swap, or a loan (credit.py).

Neighbours are the creatures up to two places either side of it in the wood's ring (in a wood of five,
everyone else; in a big wood, one maker of each other good), so a creature's choices and its prompt stay
short however many creatures there are. An offer made this turn is open for one turn: next turn the
neighbour takes it ("accept": the maker's name, which takes everything that maker offered it) or it lapses.
Accepted offers settle at the start of the turn, after debts due are collected and before the market
opens, each against what both sides hold then: a maker who no longer holds the goods, a buyer who can no
longer pay, a lender who no longer has the pebbles, and the deal lapses instead (`offer_lapsed`, saying
why), remembered as a promise broken. So nothing ever goes negative, and what settles is gone before the
market's escrow counts what each creature may bid and sell.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import numpy as np

from worlds.wood import credit, memory
from worlds.wood import patron as patrons
from worlds.wood.actions import MAX_PRICE, MAX_QTY, WoodAction
from worlds.wood.state import FIREWOOD, GOOD_AT, GOODS, WoodState

REACH = (1, 2, -1, -2)  # ring offsets of a creature's neighbours
SHOWN = 4  # open offers listed in one observation
KEEP = 1  # a creature offers only goods it holds more of than this: its last one it would eat or burn


def neighbours(n: int, i: int) -> tuple[int, ...]:
    return _ring(n)[i]


@lru_cache(maxsize=4)
def _ring(n: int) -> tuple[tuple[int, ...], ...]:
    """Every creature's neighbours in a wood of n, built once per size: a turn asks for them thousands of times."""
    return tuple(tuple(dict.fromkeys(j for j in ((i + d) % n for d in REACH) if j != i)) for i in range(n))


@lru_cache(maxsize=4)
def ring_array(n: int) -> np.ndarray:
    """_ring(n) as an (n, 4) array, -1 past a creature's last neighbour (a wood of fewer than five has fewer)."""
    ring = np.full((n, len(REACH)), -1, dtype=np.int64)
    for i, near in enumerate(_ring(n)):
        ring[i, :len(near)] = near
    return ring


@dataclass
class Desk:
    """The deals standing in one state, computed once and read by every creature's schema and heuristic."""

    due: np.ndarray  # (N,) pebbles each creature repays before the market this turn
    incoming: dict[int, list[dict]]  # creature -> the offers open to it
    owes: dict[int, list[dict]]  # creature -> the loans it has to repay
    lent: dict[int, list[dict]]  # creature -> the loans it is owed

    def free(self, s: WoodState, i: int) -> int:
        """Pebbles creature i can still spend this turn once its debts due are paid."""
        return max(0, int(s.pebbles[i]) - int(self.due[i]))


def desk(s: WoodState) -> Desk:
    incoming: dict[int, list[dict]] = {}
    owes: dict[int, list[dict]] = {}
    lent: dict[int, list[dict]] = {}
    for p in s.offers:
        incoming.setdefault(p["to"], []).append(p)
    for loan in s.loans:
        owes.setdefault(loan["to"], []).append(loan)
        lent.setdefault(loan["from"], []).append(loan)
    return Desk(credit.due_now(s), incoming, owes, lent)


def usable(own: int, stock: list[int], p: dict, free: int) -> bool:
    """Whether a creature that makes good `own`, holds `stock` and may spend `free` pebbles could take offer p
    now without defeating itself (a good it makes is never bought)."""
    if p["kind"] == "loan":
        return True
    if GOODS.index(p["good"]) == own:
        return False
    if p["kind"] == "sale":
        return free >= p["price"]
    return stock[GOODS.index(p["want"])] >= p["wqty"]


def takers(s: WoodState, i: int, d: Desk) -> list[str]:
    """The makers creature i may accept this turn: those with at least one usable offer to it."""
    mine = d.incoming.get(i)
    if not mine:
        return []
    own, stock, free = int(s.trade[i]), s.stock[i].tolist(), d.free(s, i)
    return list(dict.fromkeys(s.names[p["from"]] for p in mine if usable(own, stock, p, free)))


# --- what a creature may say ----------------------------------------------------------------------------
def schema_properties(s: WoodState, i: int, d: Desk) -> dict:
    """The deal fields creature i's schema offers now, each only when usable: `offer` (a sale or a swap of a
    good it holds more than KEEP of, to a neighbour), `lend` when it has pebbles beyond credit.RESERVE,
    `accept` when an offer to it is open. Every creature's schema names its own neighbours, so no two are
    alike: they are kept small (two offer variants, not one per good) because a constrained decoder compiles
    each one."""
    own = int(s.trade[i])
    near = tuple(s.names[j] for j in neighbours(len(s.names), i))
    props: dict = {}
    stock = s.stock[i].tolist()  # one conversion, not a numpy scalar per good
    held = tuple(g for g, n in zip(GOODS, stock) if n >= KEEP + 1)
    if near and held:
        props["offer"] = _offer_schema(own, near, held, min(max(stock), MAX_QTY))
    spare = d.free(s, i) - credit.RESERVE
    if near and spare > 0:
        props["lend"] = _object({"to": _enum(near), "pebbles": _int(1, min(spare, credit.MAX_LOAN)),
                                 "due": _int(*credit.TERM)}, required=("to", "pebbles"))
    open_to = takers(s, i, d)
    if open_to:
        props["accept"] = _enum(tuple(open_to))
    return props


@lru_cache(maxsize=8192)
def _offer_schema(own: int, near: tuple[str, ...], held: tuple[str, ...], most: int) -> dict:
    """The offer field: a sale or a swap of a good it holds to one of its neighbours. Built once for every turn
    a creature's neighbours and holdings are alike, as no-one changes a schema (World.action_schema)."""
    base = {"to": _enum(near), "good": _enum(held), "qty": _int(1, most)}
    wants = tuple(g for k, g in enumerate(GOODS) if k != own)  # never swap for the good it makes
    return {"anyOf": [_object({**base, "price": _int(1, MAX_PRICE)}),
                      _object({**base, "want": _enum(wants), "wqty": _int(1, MAX_QTY)})]}


def problem(s: WoodState, i: int, action: WoodAction, d: Desk) -> str | None:
    """Why creature i's deals cannot be done now (the per-creature schema already rules all of this out;
    the general schema does not)."""
    near = {s.names[j] for j in neighbours(len(s.names), i)}
    offer, loan = action.offer, action.lend
    if offer is not None:
        k = GOODS.index(offer.good)
        if offer.to not in near:
            return f"offers to {offer.to!r}, not one of its neighbours"
        if int(s.stock[i, k]) <= KEEP:
            return f"offers {offer.good} but holds only {int(s.stock[i, k])} (keeps {KEEP})"
        if (offer.price is None) == (offer.want is None):
            return "an offer names either a price (a sale) or a wanted good (a swap)"
        if offer.want is not None and GOODS.index(offer.want) == int(s.trade[i]):
            return f"swaps for {offer.want}, which it makes"
    if loan is not None:
        if loan.to not in near:
            return f"lends to {loan.to!r}, not one of its neighbours"
        spare = d.free(s, i) - credit.RESERVE
        if loan.pebbles > spare:
            if spare < 1:  # not "has -3 to spare"
                return f"lends {loan.pebbles} pebbles but has none to spare (it keeps {credit.RESERVE} for food)"
            return f"lends {loan.pebbles} pebbles but has {spare} to spare"
    if action.accept is not None and action.accept not in takers(s, i, d):
        return f"accepts an offer {action.accept!r} did not make it (or it cannot take)"
    return None


# --- the turn ---------------------------------------------------------------------------------------------
def settle(s: WoodState, actions: Mapping[str, WoodAction], events: list[dict]) -> None:
    """Last turn's offers settle (when accepted and still possible) or lapse; this turn's become open."""
    at = s.position
    taken = {(at[a], at.get(getattr(x, "accept", None) or "", -1)) for a, x in actions.items()}
    # one offer after another, each against what the ones before it left: scalar steps, done on Python lists
    # (a numpy scalar read or write costs several times a list's), written back as the columns they were
    pebbles, stock = s.pebbles, s.stock
    s.pebbles, s.stock = pebbles.tolist(), stock.tolist()
    try:
        for p in s.offers:
            i, j = p["from"], p["to"]
            if (j, i) not in taken:
                events.append(_event("offer_lapsed", s, p, why="not taken"))
                continue
            why = _shortfall(s, p)
            if why:
                events.append(_event("offer_lapsed", s, p, why=why))
                breaker, other = (j, i) if why.startswith("the taker") else (i, j)
                memory.remember(s, other, s.names[breaker], memory.BROKE)
                continue
            if p["kind"] == "loan":
                events.append(credit.lend(s, i, j, p["pebbles"], p["due"]))
            else:
                _exchange(s, p)
                events.append(_event("offer_accepted", s, p))
            memory.remember(s, j, s.names[i], memory.KEPT)
            memory.remember(s, i, s.names[j], memory.KEPT)
    finally:
        s.pebbles = np.array(s.pebbles, dtype=pebbles.dtype).reshape(pebbles.shape)
        s.stock = np.array(s.stock, dtype=stock.dtype).reshape(stock.shape)
    proposed = []
    for a, x in actions.items():
        if getattr(x, "offer", None) is not None or getattr(x, "lend", None) is not None:  # most make none
            proposed += _proposals(s, at[a], x)
    s.offers = proposed


def _shortfall(s: WoodState, p: dict) -> str | None:
    i, j = p["from"], p["to"]
    if p["kind"] == "loan":
        return None if int(s.pebbles[i]) >= p["pebbles"] else "the lender no longer has the pebbles"
    if int(s.stock[i][GOOD_AT[p["good"]]]) < p["qty"]:
        return "the maker no longer holds the goods"
    if p["kind"] == "sale" and int(s.pebbles[j]) < p["price"]:
        return "the taker cannot pay"
    if p["kind"] == "swap" and int(s.stock[j][GOOD_AT[p["want"]]]) < p["wqty"]:
        return "the taker no longer holds what was wanted"
    return None


def _exchange(s: WoodState, p: dict) -> None:
    i, j, k = p["from"], p["to"], GOOD_AT[p["good"]]
    s.stock[i][k] -= p["qty"]
    s.stock[j][k] += p["qty"]
    if p["kind"] == "sale":
        s.pebbles[j] -= p["price"]
        s.pebbles[i] += p["price"]
    else:
        w = GOOD_AT[p["want"]]
        s.stock[j][w] -= p["wqty"]
        s.stock[i][w] += p["wqty"]
    if s.season == "winter":  # fuel in the snow is remembered
        if k == FIREWOOD:
            memory.remember(s, j, s.names[i], memory.FUEL, p["qty"])
        if p.get("want") == GOODS[FIREWOOD]:
            memory.remember(s, i, s.names[j], memory.FUEL, p["wqty"])


def _proposals(s: WoodState, i: int, action) -> list[dict]:
    """The offers an action makes, as plain state entries; anything not addressed to a neighbour is dropped
    (apply may be called with actions that never went through a schema)."""
    offer, loan = getattr(action, "offer", None), getattr(action, "lend", None)
    near = neighbours(len(s.names), i)
    out = []
    if offer is not None and s.position.get(offer.to) in near:
        deal = {"price": offer.price} if offer.price is not None else (
            {"want": offer.want, "wqty": offer.wqty or 1} if offer.want is not None else None)
        if deal is not None:
            out.append({"kind": "sale" if "price" in deal else "swap", "from": i, "to": s.position[offer.to],
                        "good": offer.good, "qty": offer.qty, **deal})
    if loan is not None and s.position.get(loan.to) in near:
        out.append({"kind": "loan", "from": i, "to": s.position[loan.to], "pebbles": loan.pebbles, "due": loan.due})
    return out


def _event(kind: str, s: WoodState, p: dict, **extra) -> dict:
    """The event of offer p: its kind and parties by name first, then the offer's terms, then `extra`."""
    event = {"kind": kind, "deal": p["kind"], "from": None, "to": None}
    event.update(p)  # the offer's own kind, from and to land on the keys above, and are written over below
    event["kind"], event["from"], event["to"] = kind, s.names[p["from"]], s.names[p["to"]]
    event.update(extra)
    return event


# --- what a creature reads --------------------------------------------------------------------------------
def describe(s: WoodState, p: dict) -> str:
    who = s.names[p["from"]]
    if p["kind"] == "loan":
        return (f"{who} lends you {p['pebbles']} pebbles, you repay {credit.owed(p['pebbles'], p['due'])} "
                f"in {p['due']} turns")
    if p["kind"] == "sale":
        return f"{who} sells you {p['qty']} {p['good']} for {p['price']} pebbles"
    return f"{who} gives {p['qty']} {p['good']} for {p['wqty']} {p['want']}"


def lines(s: WoodState, i: int, d: Desk) -> list[str]:
    """The second act's lines of creature i's observation: its neighbours, the offers open to it, its debts,
    its memory and the patron's whisper (empty lines are dropped by the caller)."""
    near = neighbours(len(s.names), i)
    out = ["Neighbours: " + ", ".join(f"{s.names[j]} {GOODS[int(s.trade[j])]}" for j in near) + "."] if near else []
    mine = d.incoming.get(i, [])
    if mine:  # how to take one is in the briefing ("accept": name)
        out.append("Offers to you: " + "; ".join(describe(s, p) for p in mine[:SHOWN]) + ".")
    debts = credit.debts_line(s, d.owes.get(i, []), d.lent.get(i, []))
    return out + [debts, memory.digest(s, i, near), patrons.whisper_line(s, i)]


def broken(state: WoodState) -> list[str]:
    """Broken rules of the second act's bookkeeping."""
    broken = []
    if state.purse < 0:
        broken.append(f"the patron's purse is negative: {state.purse}")
    if any(loan["from"] == loan["to"] or loan["owed"] <= loan["pebbles"] or loan["pebbles"] < 1 for loan in state.loans):
        broken.append(f"a loan to its own lender, or without interest: {state.loans}")
    if any(p["from"] == p["to"] for p in state.offers):
        broken.append("an offer to its own maker")
    if any(len(m) > memory.MEMORY for m in state.memory) or len(state.memory) != len(state.names):
        broken.append("memory is not one bounded list per creature")
    n = len(state.names)
    if any(not (-1 <= x["from"] < n and 0 <= x["to"] < n) for x in [*state.loans, *state.offers]):
        broken.append("a loan or offer names a creature the wood does not have")  # -1: the patron lends too
    return broken


def _enum(values: tuple[str, ...]) -> dict:
    return {"type": "string", "enum": list(values)}


def _int(lo: int, hi: int) -> dict:
    return {"type": "integer", "minimum": lo, "maximum": max(lo, hi)}


def _object(props: dict, required=None) -> dict:
    return {"type": "object", "properties": props, "required": list(required or props), "additionalProperties": False}
