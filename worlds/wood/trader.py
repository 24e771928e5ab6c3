"""The scripted creature: a sensible heuristic trader, the baseline the models are measured against.

It values each good at the market price times its sentiment (rumours move minds), sells its surplus before
it rots, buys the foods it lacks, stocks firewood ahead of winter, bids up when it went hungry or cold, and
dumps goods it has lost faith in. In the living economy it also remembers last turn's orders: an ask that
did not sell is cut, one that sold out is raised, a bid that went unmet is raised (never past what the good
is worth to it), and it lays in firewood a little at a time from spring on.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from worlds.wood import legends
from worlds.wood.actions import MAX_ORDERS, MAX_PRICE, MAX_QTY
from worlds.wood.state import FIREWOOD, FOODS, GOODS, WoodState, turns_to_winter

CUSTOMARY = [4.0, 10.0, 5.0, 6.0, 4.0]  # the prices the wood is used to, per good
SCARCITY_PREMIUM = 1.8  # most a creature pays over the customary price when it is short
CUT = 0.85  # an unsold ask is cut to this share of itself
RAISE = 1.1  # an ask that sold out, or a bid that went unmet, is raised by this factor
FUEL_TARGET = {"spring": 1, "summer": 2, "autumn": 4}  # logs a non-woodcutter wants in hand (in winter: the
# winter's remaining turns)
ANCHOR = 0.6  # in the living economy no creature values a good below this share of its customary price
SPEND = 0.3  # share of its purse a creature is ready to spend in one turn, spread over what it wants
WINTER_WORTH = 2.5  # in winter firewood is worth this much more to a creature than in autumn
HOARD = 3  # logs a woodcutter holds back in autumn, over its own winter's burning, to sell in the snow
MARKUP = {"greedy": 1.25, "generous": 0.85, "cautious": 1.05, "bold": 1.1, "chatty": 1.0}
DRAWS = len(GOODS) + 1  # random numbers a creature draws a turn: one per good, one for its ask
PERISHABLE = {GOODS.index("berries"), GOODS.index("mushrooms")}
LINES = {
    "sell": "{good} for sale, {price} pebbles!",
    "buy": "Who has {good}? I pay well.",
    "panic": "Get rid of your {good} while you can!",
    "mania": "Everyone wants {good}, buy now!",
    "quiet": "A fine day in the wood.",
}


@dataclass
class Outlook:
    """What every creature believes this turn, computed once per state (plain floats: this is a hot loop)."""

    sentiment: list[float]
    value: list[float]  # market price stretched by sentiment
    worth: list[float]  # most anyone pays: customary price stretched by sentiment and scarcity
    fuel_need: int  # firewood a non-woodcutter wants in hand now
    wood_keep: int  # firewood a woodcutter keeps back now
    # the state's columns the dealer and own_actions read a creature at a time, as Python lists: indexing
    # numpy arrays one scalar at a time is slow (choose_all reads the state's arrays whole)
    trade: list[int]
    stock: list[list[int]]
    pebbles: list[int]
    adaptive: bool  # traders remember last turn's orders (the living economy)
    defaulted: list[int]  # public defaults per creature (the second act; empty without it)


def outlook(state: WoodState, season_turns: int, adaptive: bool = True) -> Outlook:
    sentiment = legends.sentiment(state.effects, state.turn)
    prices = state.prices.tolist()
    left_in_winter = season_turns - state.turn % season_turns
    if adaptive:
        fuel = FUEL_TARGET.get(state.season, left_in_winter)
    elif state.season == "winter":
        fuel = 2
    else:
        fuel = 3 if turns_to_winter(state.season, state.turn, season_turns) <= season_turns else 0
    worth = [c * (1.0 + s) * SCARCITY_PREMIUM for c, s in zip(CUSTOMARY, sentiment)]
    keep = fuel
    if adaptive:  # firewood laid in early is bought only cheaply; in the snow it is worth far more
        worth[FIREWOOD] *= WINTER_WORTH if state.season == "winter" else 1 / SCARCITY_PREMIUM
        keep = {"autumn": season_turns + HOARD, "winter": min(2, left_in_winter)}.get(state.season, fuel)
    return Outlook(
        sentiment,
        # habit anchors value: a glut can make a good cheap, not worthless (unless a rumour says it is)
        [max((max(p, ANCHOR * c) if adaptive else p) * (1.0 + s), 0.5) for p, c, s in zip(prices, CUSTOMARY, sentiment)],
        worth,
        fuel,
        keep,
        state.trade.tolist(),
        state.stock.tolist(),
        state.pebbles.tolist(),
        adaptive,
        state.defaulted.tolist(),
    )


def choose(state: WoodState, i: int, jitter: list[float], view: Outlook) -> dict:
    """Creature i's orders (each as a model writes it: [side, good, qty, price]) and line, given its DRAWS random
    numbers in [0, 1) (spread over its orders)."""
    return choose_all(state, [i], [jitter], view)[0]


def choose_all(state: WoodState, rows: list[int], jitter, view: Outlook) -> list[dict]:
    """`choose` for the creatures in `rows` at once, each with its row of `jitter` ((len(rows), DRAWS) draws):
    the rules over numpy columns, one step for all creatures at a time. Every price is computed with the same
    float operations in the same order as a creature alone would (numpy and Python round halves alike), so the
    orders are those of the one-creature rules exactly."""
    rows = np.asarray(rows, dtype=np.int64)
    m = rows.size
    jitter = np.asarray(jitter, dtype=float).reshape(m, DRAWS)
    at = np.arange(m)
    own = state.trade[rows]
    stock = state.stock[rows]
    held_own = stock[at, own]
    sent, value, worth = np.asarray(view.sentiment), np.asarray(view.value), np.asarray(view.worth)
    winter = state.season == "winter"
    markup = np.array([MARKUP.get(state.personality[i], 1.0) for i in rows.tolist()])
    hungry = (state.ate[rows] < 2) | (state.cold[rows] > 0)
    orders: list[list[list]] = [[] for _ in range(m)]  # each order as a model writes it: [side, good, qty, price]
    says: list[str | None] = [None] * m
    first_buy: list[str | None] = [None] * m  # the good of each creature's first bid
    used = np.zeros((m, len(GOODS)), dtype=bool)  # goods a creature already has an order for

    # sell: panic-dump goods under a bad rumour, else the surplus of what it makes
    for k in range(len(GOODS)):
        if sent[k] < 0 and k != FIREWOOD:
            dumping = stock[:, k] > 0
            _place(orders, says, used, dumping, "sell", k, stock[:, k], _limit(np.full(m, value[k] * 0.6)),
                   LINES["panic"].format(good=GOODS[k]))
    keep = np.where(sent[own] < 0, 0, np.where(own == FIREWOOD, view.wood_keep, 1))
    surplus = held_own - keep
    selling = (surplus > 0) & ~used[at, own]
    # perishable surplus goes cheaper; a jitter keeps every seller from asking the same
    hurry = np.where(np.isin(own, list(PERISHABLE)), 0.9, 1.0)
    price = value[own] * markup * hurry * (0.9 + 0.2 * jitter[:, -1])
    if view.adaptive:
        price = _revised(state, rows, own, price, sent, worth)
        if winter:  # a woodcutter knows what fire is worth in the snow
            price = np.where(own == FIREWOOD, np.maximum(price, 0.5 * worth[own]), price)
    used[at, own] |= selling
    goods, units, asking = own.tolist(), np.minimum(surplus, MAX_QTY).tolist(), price.tolist()
    for c in np.flatnonzero(selling).tolist():
        good, ask = GOODS[goods[c]], round(asking[c])
        orders[c].append(["sell", good, units[c], max(1, min(MAX_PRICE, ask))])
        if says[c] is None:
            says[c] = _line("sell", good.capitalize(), max(1, ask))

    # buy: firewood for the winter first, then foods it lacks, then speculation on a craze
    pebbles = state.pebbles[rows]
    budget = pebbles.copy()
    wants = _wants(stock, own, sent, jitter, hungry, winter, view)
    count = np.maximum(sum(w[0] for w in wants), 1)
    for wanted, k, qty, push in wants:
        # bids chase the market but are capped by custom and by the purse, so prices cannot spiral
        bid = value[k] * push * (0.95 + 0.15 * jitter[at, k])
        if view.adaptive:  # a full purse bids more: prices answer to the pebbles in the wood, not only habit
            bid = np.maximum(bid, SPEND * pebbles / count * np.minimum(1.0, 1.0 + sent[k]))
            if winter:  # no fire tonight: it outbids the others for warmth
                cold = (k == FIREWOOD) & (stock[at, k] == 0)
                bid = np.where(cold, np.maximum(bid, 0.8 * worth[k]), bid)
            last = state.bid[rows, k]
            # last turn's bid was not enough
            bid = np.where(state.unfilled[rows, k] != 0, np.maximum(np.maximum(bid, last * RAISE), last + 1), bid)
        bid = np.minimum(np.minimum(bid, worth[k]), budget / 2)
        price = _limit(bid)
        qty = np.minimum(qty, budget // price)
        buying = wanted & (qty > 0) & ~used[at, k]
        goods, units, limits, craze = k.tolist(), qty.tolist(), price.tolist(), (sent[k] > 0).tolist()
        for c in np.flatnonzero(buying).tolist():
            good = GOODS[goods[c]]
            orders[c].append(["buy", good, units[c], limits[c]])
            first_buy[c] = first_buy[c] or good
            if craze[c] and says[c] is None:
                says[c] = _line("mania", good)
        used[at[buying], k[buying]] = True
        budget = np.where(buying, budget - qty * price, budget)
    return [{"orders": made if len(made) <= MAX_ORDERS else made[:MAX_ORDERS],
             "say": say or (_line("buy", buy) if buy else LINES["quiet"])}
            for made, say, buy in zip(orders, says, first_buy)]


def _revised(state: WoodState, rows: np.ndarray, own: np.ndarray, price: np.ndarray, sent: np.ndarray,
             worth: np.ndarray) -> np.ndarray:
    """The living economy's asks: last turn's ask cut when some of it did not sell (halfway to the best bid, if
    that is further), raised (at least a pebble) when it all sold; never below what habit says buyers will pay,
    at least the keenest bid when it sold out. Creatures that asked nothing last turn, or hear a rumour about
    their good,
    keep `price`."""
    last = state.asked[rows, own]
    unsold = state.unsold[rows, own]
    best = state.best_bid[own]
    worth_own = worth[own]
    cut = np.minimum(np.minimum(last * CUT, last - 1), np.where(best != 0, (last + best) / 2, last))
    raised = np.minimum(np.maximum(last * RAISE, last + 1), np.maximum(worth_own, last))
    revised = np.maximum(np.where(unsold != 0, cut, raised), 0.9 * ANCHOR * np.asarray(CUSTOMARY)[own])
    revised = np.where(unsold == 0, np.maximum(revised, best), revised)  # it sold out
    return np.where((sent[own] == 0) & (last != 0), revised, price)


def _wants(stock, own, sent, jitter, hungry, winter: bool, view: Outlook) -> list[tuple]:
    """What each creature wants to buy, in the order it bids: (wanted (m,) bool, good (m,), qty, push), one
    entry per place in that order: firewood, the four foods from a place that varies by creature and turn,
    then every good under a craze."""
    m = len(own)
    at = np.arange(m)
    wood = np.full(m, FIREWOOD)
    out = [((own != FIREWOOD) & (view.fuel_need > stock[:, FIREWOOD]), wood, view.fuel_need - stock[:, FIREWOOD],
            1.4 if winter else 1.2)]
    start = (jitter[:, 0] * len(FOODS)).astype(np.int64)  # which lacking food to try first varies
    urgency = np.where(hungry, 1.3, 1.1)
    for j in range(len(FOODS)):
        k = (start + j) % len(FOODS)
        lacking = (k != own) & (stock[at, k] == 0)
        if not view.adaptive:  # scared, a creature of the living wood still eats, cheaply
            lacking &= sent[k] >= 0
        out.append((lacking, k, 1, urgency))
    out.extend(((own != k) & (sent[k] > 0), np.full(m, k), 2, 1.0) for k in range(len(GOODS)))
    return out


@lru_cache(maxsize=4096)
def _line(kind: str, good: str, price: int = 0) -> str:
    """LINES[kind] said of a good (and a price): each line written once, however many creatures say it."""
    return LINES[kind].format(good=good, price=price)


def _limit(price: np.ndarray) -> np.ndarray:
    """Limit prices as orders carry them: whole pebbles (halves rounded to even, as Python's round), 1..99."""
    return np.clip(np.rint(price), 1, MAX_PRICE).astype(np.int64)


def _place(orders, says, used, placing, side: str, k: int, qty, price, line: str) -> None:
    """One order of good k for each creature where `placing`, and its line when it has none yet."""
    used[:, k] |= placing
    units, limits = np.minimum(qty, MAX_QTY).tolist(), price.tolist()
    for c in np.flatnonzero(placing).tolist():
        orders[c].append([side, GOODS[k], units[c], limits[c]])
        if says[c] is None:
            says[c] = line
