"""The wood's own decisions read without their JSON text (World.own_actions, the engine's batch path).

Each scripted creature's action dict is checked with plain Python over the state's columns against what
parsing its text would require for status "valid": the Action's fields and bounds, the creature's schema
(actions.creature_schema, offers.schema_properties) and World.check. One that passes is built into the
Action directly, with its JSON dump written as the Action dumps it. Whatever this check is unsure of (a key
it does not know, a type, a bound, schema levers that reshape the schema) is left to the full parse path, so
reading here can only ever give what parsing gives; check_world compares the two.

Why: parsing a reply costs ~40-60 µs a creature (pydantic validation with the Action's validators, a dump,
the creature's schema built and checked), where a 1000-creature turn has ~20 µs a creature for everything.
"""
from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from worlds.wood import credit, offers
from worlds.wood.actions import (MAX_ORDERS, MAX_PRICE, MAX_QTY, NAME_CHARS, FirstAction, Lend, Offer, Order,
                                 WoodAction, fit_to_hear, one_short_line, orders_line)
from worlds.wood.state import GOOD_AT, WoodState

SIDES = ("buy", "sell")
SALE = ("to", "good", "qty", "price")  # an offer's keys, as the schema's two variants require them
SWAP = ("to", "good", "qty", "want", "wqty")
RESHAPING = frozenset({"bands", "budget"})  # levers that give a creature another schema than the one read here
FIELDS = ("side", "good", "qty", "price")  # an order's fields, all set when it is read from a list


def actions(world, s: WoodState, agents: list[str], decided: list[dict]) -> list[tuple[BaseModel, dict] | None]:
    """(Action, dump) for each decision valid as it stands, None for the rest (see the module docstring)."""
    if world.params.schema_ != "creature" or world.levers & RESHAPING:
        return [None] * len(agents)
    view = world.outlook(s)
    desk = world.desk(s) if world.second_act else None
    keys = frozenset(WoodAction.model_fields if desk is not None else FirstAction.model_fields)
    at = s.position
    rows = [at[agent] for agent in agents]
    # Desk.free of every creature, read at once (the check of a loan or an acceptance needs it)
    spendable = np.maximum(s.pebbles[rows] - desk.due[rows], 0).tolist() if desk is not None else [0] * len(rows)
    return [_read(s, i, d, view, desk, keys, free) if type(d) is dict else None
            for i, d, free in zip(rows, decided, spendable)]


def _read(s: WoodState, i: int, d: dict, view, desk, keys: frozenset[str], free: int):
    """Creature i's decision d as (Action, dump), or None (`keys`: the Action's fields, `free`: Desk.free)."""
    if not keys.issuperset(d) or type(d.get("orders")) is not list:
        return None
    own, stock, pebbles = view.trade[i], view.stock[i], view.pebbles[i]
    top = min(pebbles, MAX_PRICE)
    most = min(MAX_QTY, max(stock))
    orders, dumped, sides = [], [], {}
    if len(d["orders"]) > MAX_ORDERS:
        return None
    for o in d["orders"]:
        if type(o) is not list or len(o) != 4:
            return None
        side, good, qty, price = o
        if type(side) is not str or type(good) is not str or type(qty) is not int or type(price) is not int:
            return None
        known = _ORDERS.get((side, good, qty, price)) or _order(side, good, qty, price)
        if known is None:
            return None
        order, k = known
        if side == "buy":  # the schema's buy variant: not its own good, within its purse
            if k == own or price > top:
                return None
        elif stock[k] <= 0 or qty > most:  # the sell variant: only what it holds
            return None
        if sides.setdefault(good, side) != side:  # World.check: both buys and sells one good
            return None
        orders.append(order)
        dumped.append(o)  # [side, good, qty, price] of exact JSON types: as the Action dumps it
    deals, named = {}, {o[1] for o in dumped}
    for key, read in (("offer", _offer), ("lend", _lend), ("accept", _accept)):
        if key in d:
            got = read(s, i, d[key], view, desk, free)
            if got is None:
                return None
            deals[key] = got
            if key == "offer":
                named |= {g for g in (d[key]["good"], d[key].get("want")) if g}
    given = "say" in d
    if given and type(d["say"]) is not str:
        return None
    say = one_short_line(d["say"]) if given else ""
    if not fit_to_hear(say, frozenset(named)):  # the Action speaks for a creature whose line is not fit to hear
        say = orders_line(orders)
    values = {"orders": orders, "say": say}
    dump = {"orders": dumped, "say": say}
    if desk is not None:
        for key in ("offer", "lend", "accept"):
            value = deals.get(key)
            values[key] = value[0] if value is not None else None
            if value is not None:
                dump[key] = value[1]
    cls = WoodAction if desk is not None else FirstAction
    return _built(cls, values, keys.intersection(d)), dump


_ORDERS: dict[tuple[str, str, int, int], tuple[Order, int]] = {}  # every order read so far that fits the Order


def _order(side: str, good: str, qty: int, price: int) -> tuple[Order, int] | None:
    """The Order [side, good, qty, price] is, and its good's index, when it is one whatever the creature (a side,
    a good, bounds); None when it is not. Kept, so a turn builds each distinct order once: an Order is frozen, so
    one instance serves every action that places it (at most 2 * 5 * 10 * 99 of them)."""
    k = GOOD_AT.get(good)
    if side not in SIDES or k is None or not 1 <= qty <= MAX_QTY or not 1 <= price <= MAX_PRICE:
        return None
    _ORDERS[side, good, qty, price] = known = (_built(Order, {"side": side, "good": good, "qty": qty, "price": price},
                                                      set(FIELDS)), k)
    return known


def _offer(s: WoodState, i: int, p, view, desk, free: int):
    if type(p) is not dict:
        return None
    shape = tuple(p)
    if shape not in (SALE, SWAP) or not _near(s, i, p["to"]) or type(p["qty"]) is not int:
        return None
    k, stock = _good(p["good"]), view.stock[i]
    if k is None or stock[k] <= offers.KEEP or not 1 <= p["qty"] <= min(max(stock), MAX_QTY):
        return None
    if shape == SALE:
        if type(p["price"]) is not int or not 1 <= p["price"] <= MAX_PRICE:
            return None
        values = {"to": p["to"], "good": p["good"], "qty": p["qty"], "price": p["price"], "want": None, "wqty": None}
    else:
        want = _good(p["want"])
        if want is None or want == view.trade[i] or type(p["wqty"]) is not int or not 1 <= p["wqty"] <= MAX_QTY:
            return None
        values = {"to": p["to"], "good": p["good"], "qty": p["qty"], "price": None, "want": p["want"],
                  "wqty": p["wqty"]}
    return _built(Offer, values, set(shape)), p  # its keys in the order the Offer dumps them


def _lend(s: WoodState, i: int, p, view, desk, free: int):
    if type(p) is not dict or tuple(p) not in (("to", "pebbles"), ("to", "pebbles", "due")) or not _near(s, i, p["to"]):
        return None
    due = p.get("due", credit.DUE)
    spare = free - credit.RESERVE
    if type(p["pebbles"]) is not int or type(due) is not int:
        return None
    if not 1 <= p["pebbles"] <= min(spare, credit.MAX_LOAN) or not credit.TERM[0] <= due <= credit.TERM[1]:
        return None
    values = {"to": p["to"], "pebbles": p["pebbles"], "due": due}
    return _built(Lend, values, set(p)), dict(values)


def _accept(s: WoodState, i: int, name, view, desk, free: int):
    """The maker named, when an offer of its to creature i is open and usable (offers.takers, read from the
    outlook's columns)."""
    if not _name(name):
        return None
    own, stock = view.trade[i], view.stock[i]
    if any(s.names[p["from"]] == name and offers.usable(own, stock, p, free) for p in desk.incoming.get(i, ())):
        return name, name
    return None


def _near(s: WoodState, i: int, name) -> bool:
    """Whether `name` names one of creature i's neighbours (and fits the Action's name field)."""
    return _name(name) and s.position.get(name, -1) in offers.neighbours(len(s.names), i)


def _good(value) -> int | None:
    return GOOD_AT.get(value) if type(value) is str else None


def _name(value) -> bool:
    return type(value) is str and len(value) <= NAME_CHARS


def _built(cls: type[BaseModel], values: dict, given: set[str]) -> BaseModel:
    """An instance of `cls` holding `values` (every field, each already what validation would make it), as
    validation builds it, with `given` as the fields the reply set. pydantic's model_construct does the same
    but walks every field's default and alias, ~5 µs a model here, and a turn of 10 000 creatures builds
    ~30 000 of them; check_world compares what this builds with what validation builds."""
    obj = cls.__new__(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", given)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


_set = object.__setattr__  # past BaseModel.__setattr__, as pydantic itself sets these
