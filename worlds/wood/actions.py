"""What a creature may say each turn, as one pydantic model (validation) and a per-creature JSON schema
(constrained decoding) that only admits orders this creature can sensibly place now."""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Annotated, Literal

from better_profanity import Profanity
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from worlds.wood.credit import DUE, MAX_LOAN, TERM
from worlds.wood.state import GOODS, WoodState

LEVERS = ("bands", "budget", "book", "crossing")  # market aids a world may give models, measured one by one
BAND = (0.5, 2.0)  # with "bands", a limit price lies within these multiples of the market price
MAX_ORDERS = 3
MAX_QTY = 10
MAX_PRICE = 99
SAY_CHARS = 40  # a speech bubble's line; every character may cost a decode step
NAME_CHARS = 40

Good = Literal["acorns", "honey", "berries", "mushrooms", "firewood"]
# words that name each good in speech (stems, so "acorn" and "berry" count)
GOOD_WORDS = {"acorns": ("acorn",), "honey": ("honey",), "berries": ("berr",), "mushrooms": ("mushroom", "glowcap"),
              "firewood": ("firewood", "log")}
# fragments of the prompt a small model parrots instead of speaking
ECHOES = ("short line", "characters", "json", "reply with", "for example", "orders", "limit price")


FIELDS = ("side", "good", "qty", "price")  # an order's positions when a model writes it as a list
Side = Literal["buy", "sell"]
Qty = Annotated[int, Field(ge=1, le=MAX_QTY)]
Price = Annotated[int, Field(ge=1, le=MAX_PRICE)]  # limit: most a buyer pays, least a seller takes


class Order(BaseModel):
    """One limit order. A model writes it as a list, ["sell", "honey", 2, 9] (9 tokens where the same order as
    an object takes 19, and every token is a decode step), and it is recorded so; code uses the named fields.
    The object form earlier traces hold reads the same."""

    # frozen: the batch path (own.py) shares one instance among the actions that place the same order (the
    # docstring is the schema's description: notes on the code go here)
    model_config = ConfigDict(extra="ignore", frozen=True)
    side: Side
    good: Good
    qty: Qty
    price: Price

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: object) -> object:
        if isinstance(value, (list, tuple)) and len(value) == len(FIELDS):
            return dict(zip(FIELDS, value))
        return value

    @model_serializer
    def _as_list(self) -> tuple[Side, Good, Qty, Price]:
        return (self.side, self.good, self.qty, self.price)


class FirstAction(BaseModel):
    # the first version's action, what creatures may do with the second act off (no docstring: it would
    # become a description and change the first version's JSON schema)
    model_config = ConfigDict(extra="ignore", title="WoodAction")
    orders: list[Order] = Field(default_factory=list, max_length=MAX_ORDERS)
    say: str = Field("", json_schema_extra={"maxLength": SAY_CHARS})  # longer gossip is cut, not refused

    @field_validator("say", mode="before")
    @classmethod
    def _one_short_line(cls, value: object) -> str:
        return one_short_line(value)

    @model_validator(mode="after")
    def _worth_hearing(self) -> "WoodAction":
        # what a creature says is shown to people and heard by the others: a line that is empty, profane,
        # parrots the prompt or talks of goods its orders are not about becomes what its orders say
        if not fit_to_hear(self.say, self._goods_named()):
            given = "say" in self.model_fields_set
            self.say = orders_line(self.orders)
            if not given:  # a line the world wrote is not a field the reply set
                self.model_fields_set.discard("say")
        return self

    def _goods_named(self) -> frozenset[str]:
        return frozenset(o.good for o in self.orders)


class Offer(BaseModel):
    """Goods offered to one named creature: for `price` pebbles (a sale) or for `wqty` of `want` (a swap)."""

    model_config = ConfigDict(extra="ignore")
    to: str = Field(max_length=NAME_CHARS)
    good: Good
    qty: int = Field(ge=1, le=MAX_QTY)
    price: int | None = Field(None, ge=1, le=MAX_PRICE)
    want: Good | None = None
    wqty: int | None = Field(None, ge=1, le=MAX_QTY)

    @model_serializer(mode="wrap")
    def _only_given(self, handler):
        # a sale has no want, a swap no price: the dump matches the schema variant it came from
        return {k: v for k, v in handler(self).items() if v is not None}


class Lend(BaseModel):
    """Pebbles offered as a loan to one named creature, repaid with interest `due` turns after it is taken."""

    model_config = ConfigDict(extra="ignore")
    to: str = Field(max_length=NAME_CHARS)
    pebbles: int = Field(ge=1, le=MAX_LOAN)
    due: int = Field(DUE, ge=TERM[0], le=TERM[1])


DEALS = ("offer", "lend", "accept")


class WoodAction(FirstAction):
    """The second act's action: the first version's, plus at most one offer, one loan and one acceptance,
    each optional (left out, it costs a model no tokens)."""

    offer: Offer | None = None
    lend: Lend | None = None
    accept: str | None = Field(None, max_length=NAME_CHARS)  # the creature whose offers to it this one takes

    @model_serializer(mode="wrap")
    def _without_unused_deals(self, handler):
        # an action that makes no deal dumps exactly like the first version's, and matches a schema without them
        return {k: v for k, v in handler(self).items() if k not in DEALS or v is not None}

    def _goods_named(self) -> frozenset[str]:
        deal = [self.offer.good, self.offer.want] if self.offer else []
        return super()._goods_named() | {g for g in deal if g}


def one_short_line(value: object) -> str:
    """What a creature says as the Action keeps it: gossip reaches other creatures' prompts, so one printable
    line, short."""
    text = str(value or "")
    if text.isprintable() and len(text) <= SAY_CHARS and "  " not in text and text == text.strip():
        return text
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:SAY_CHARS]


@lru_cache(maxsize=8192)
def fit_to_hear(say: str, goods: frozenset[str]) -> bool:
    """Whether a creature's line may be shown and passed on as gossip, given the goods its orders are about."""
    if not say:
        return False
    lower = say.lower()
    if any(echo in lower for echo in ECHOES) or _stutters(lower):
        return False
    named = {g for g, stems in GOOD_WORDS.items() if any(re.search(rf"\b{stem}", lower) for stem in stems)}
    if not named <= goods:
        return False
    return not profane(say)


def _stutters(lower: str) -> bool:
    """A line that says one word or number three times or more ("no, no, no, ...", "1.25, 1.25, 1.25"): a small
    model running on until its length limit, not something a creature means."""
    words = re.findall(r"[a-z0-9.']+", lower)
    return any(words.count(w) >= 3 for w in set(words) if len(w) > 1 or w.isdigit())


@lru_cache(maxsize=8192)
def profane(say: str) -> bool:
    """better-profanity's check of a line against its word list and their leetspeak spellings (each distinct
    line is checked once)."""
    return _censor().contains_profanity(say)


@lru_cache(maxsize=1)
def _censor() -> Profanity:
    """better-profanity, its word list looked up by length and pattern: it keeps the list as ~900 objects and
    compares every word of a line with each in turn, 10-40 ms a line on our CPUs."""
    censor = Profanity()
    censor.CENSOR_WORDSET = Spellings([str(w) for w in censor.CENSOR_WORDSET], censor.CHARS_MAPPING)
    return censor


class Spellings:
    """Words and every spelling of them where a letter is written as one of its stand-ins (char_map: "a" may be
    "@", "*" or "4"), answering `text in spellings` as better-profanity's list of VaryingString does (a text
    equals one when it has its length and, at each position, the letter or a stand-in for it) with one regex
    per length instead of a comparison per word."""

    def __init__(self, words: list[str], char_map: dict[str, tuple[str, ...]]):
        if any(len(c) != 1 for options in char_map.values() for c in options):
            raise ValueError("every stand-in must be one character: then a spelling has its word's length")
        alike: dict[tuple[int, str], list[str]] = {}  # by length and first character
        for word in words:
            pattern = "".join("[" + "".join(re.escape(c) for c in char_map.get(ch, (ch,))) + "]" for ch in word)
            for first in char_map.get(word[:1], (word[:1],)):
                alike.setdefault((len(word), first), []).append(pattern)
        self.words = words
        self.patterns = {key: re.compile("|".join(alternatives)) for key, alternatives in alike.items()}

    def __contains__(self, text: object) -> bool:
        pattern = self.patterns.get((len(text), text[:1])) if isinstance(text, str) else None
        return pattern is not None and pattern.fullmatch(text) is not None

    def __len__(self) -> int:
        return len(self.words)


def orders_line(orders: list[Order]) -> str:
    """One short line that says what a creature's orders do: "Selling 2 honey at 9; buying berries at 6"."""
    parts = [f"selling {o.qty} {o.good} at {o.price}" if o.side == "sell" else f"buying {o.good} at {o.price}"
             for o in orders]
    line = "; ".join(parts)
    while len(line) > SAY_CHARS and parts:
        parts.pop()
        line = "; ".join(parts)
    return line[:1].upper() + line[1:]


def creature_schema(state: WoodState, i: int, levers: frozenset[str] = frozenset()) -> dict:
    """JSON schema for creature i now: it may buy any good but its own, sell only goods it holds, bid
    at most the pebbles it has. Levers narrow it further: "bands" keeps every limit price within BAND of the
    market price (one variant per good), "budget" splits the purse over the orders so that what all its bids
    could spend together never exceeds it (one variant per quantity)."""
    own = int(state.trade[i])
    pebbles = int(state.pebbles[i])
    stock = state.stock[i].tolist()  # one conversion, not a numpy scalar per good
    held = tuple(g for g, n in zip(GOODS, stock) if n > 0)
    most = min(MAX_QTY, max(stock))
    if levers & {"bands", "budget"}:
        buyable = [g for k, g in enumerate(GOODS) if k != own]
        orders = _orders(_buys(state, buyable, pebbles, levers) + _sells(state, list(held), most, levers))
    else:
        orders = _plain_orders(own, min(pebbles, MAX_PRICE), held, most)
    return {
        "type": "object",
        "properties": {"orders": orders, "say": SAY},
        "required": ["orders"],  # a creature with nothing to say spends no tokens on it: its orders speak
        "additionalProperties": False,
    }


SAY = {"type": "string", "maxLength": SAY_CHARS}


@lru_cache(maxsize=4096)
def _plain_orders(own: int, top: int, held: tuple[str, ...], most: int) -> dict:
    """The orders part of a schema without levers: buy any good but its own at up to `top` pebbles (none when
    top < 1), sell what it holds. Built once for every creature (and turn) it fits, as no-one changes a
    schema (World.action_schema): a wood of 1000 creatures has a few hundred of them."""
    variants = []
    if top > 0:
        variants.append(_order("buy", [g for k, g in enumerate(GOODS) if k != own], MAX_QTY, top))
    if held:
        variants.append(_order("sell", list(held), most, MAX_PRICE))
    return _orders(variants)


def _orders(variants: list[dict]) -> dict:
    items = variants[0] if len(variants) == 1 else {"anyOf": variants}
    return {"type": "array", "items": items, "maxItems": MAX_ORDERS if variants else 0}


def price_band(state: WoodState, good: str, levers: frozenset[str]) -> tuple[int, int]:
    if "bands" not in levers:
        return 1, MAX_PRICE
    price = float(state.prices[GOODS.index(good)])
    return max(1, int(price * BAND[0])), min(MAX_PRICE, max(1, math.ceil(price * BAND[1])))


def _buys(state: WoodState, goods: list[str], pebbles: int, levers: frozenset[str]) -> list[dict]:
    budget = pebbles // MAX_ORDERS if "budget" in levers else pebbles  # each order's share of the purse
    quantities = range(1, 4) if "budget" in levers else [MAX_QTY]
    out = []
    for good in goods:
        lo, hi = price_band(state, good, levers)
        for qty in quantities:
            top = min(hi, budget // qty if "budget" in levers else budget)
            if top >= lo:
                out.append(_order("buy", [good], qty, top, lo, exact_qty="budget" in levers))
    return out


def _sells(state: WoodState, goods: list[str], most: int, levers: frozenset[str]) -> list[dict]:
    if "bands" not in levers:
        return [_order("sell", goods, most, MAX_PRICE)] if goods else []
    return [_order("sell", [good], most, price_band(state, good, levers)[1], price_band(state, good, levers)[0]) for good in goods]


def _order(side: str, goods: list[str], max_qty: int, max_price: int, min_price: int = 1,
           exact_qty: bool = False) -> dict:
    """One order as the list a model writes: [side, good, qty, price] (see Order)."""
    qty = {"type": "integer", "minimum": max_qty, "maximum": max_qty} if exact_qty else {
        "type": "integer", "minimum": 1, "maximum": max(1, max_qty)}
    return {
        "type": "array",
        "prefixItems": [  # titled with the fields' names, for forms (a person's seat) and readers
            {"title": "side", "type": "string", "enum": [side]},
            {"title": "good", "type": "string", "enum": goods},
            {"title": "qty", **qty},
            {"title": "price", "type": "integer", "minimum": min_price, "maximum": max(min_price, max_price)},
        ],
        "items": False,
        "minItems": len(FIELDS),
        "maxItems": len(FIELDS),
    }
