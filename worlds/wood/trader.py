"""The scripted creature: a sensible heuristic trader, the baseline the models are measured against.

It values each good at the market price times its sentiment (rumours move minds), sells its surplus before
it rots, buys the foods it lacks, stocks firewood ahead of winter, bids up when it went hungry or cold, and
dumps goods it has lost faith in.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from worlds.wood import legends
from worlds.wood.actions import MAX_ORDERS, MAX_PRICE, MAX_QTY
from worlds.wood.state import FIREWOOD, FOODS, GOODS, WoodState
from worlds.wood.text import turns_to_winter

CUSTOMARY = [4.0, 10.0, 5.0, 6.0, 4.0]  # the prices the wood is used to, per good
SCARCITY_PREMIUM = 1.8  # most a creature pays over the customary price when it is short
MARKUP = {"greedy": 1.25, "generous": 0.85, "cautious": 1.05, "bold": 1.1, "chatty": 1.0}
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
    # the state's columns as Python lists: indexing numpy arrays one scalar at a time is slow
    trade: list[int]
    stock: list[list[int]]
    pebbles: list[int]
    hungry: list[bool]  # ate fewer than two foods or went cold last turn


def outlook(state: WoodState, season_turns: int) -> Outlook:
    sentiment = legends.sentiment(state.effects, state.turn)
    prices = state.prices.tolist()
    if state.season == "winter":
        fuel = 2
    else:
        fuel = 3 if turns_to_winter(state, season_turns) <= season_turns else 0
    return Outlook(
        sentiment,
        [max(p * (1.0 + s), 0.5) for p, s in zip(prices, sentiment)],
        [c * (1.0 + s) * SCARCITY_PREMIUM for c, s in zip(CUSTOMARY, sentiment)],
        fuel,
        state.trade.tolist(),
        state.stock.tolist(),
        state.pebbles.tolist(),
        ((state.ate < 2) | (state.cold > 0)).tolist(),
    )


def decide(state: WoodState, i: int, rng: np.random.Generator, view: Outlook) -> dict:
    own = view.trade[i]
    stock = view.stock[i]
    sent, value = view.sentiment, view.value
    jitter = rng.random(len(GOODS) + 1).tolist()  # one draw per creature, spread over its orders
    markup = MARKUP.get(state.personality[i], 1.0)
    urgency = 1.3 if view.hungry[i] else 1.1
    sells, buys, say = [], [], None

    # sell: panic-dump goods under a bad rumour, else the surplus of what it makes
    for k, held in enumerate(stock):
        if held > 0 and sent[k] < 0 and k != FIREWOOD:
            sells.append(_order("sell", k, held, value[k] * 0.6))
            say = say or LINES["panic"].format(good=GOODS[k])
    keep = 0 if sent[own] < 0 else view.fuel_need if own == FIREWOOD else 1
    surplus = stock[own] - keep
    if surplus > 0 and not any(o["good"] == GOODS[own] for o in sells):
        # perishable surplus goes cheaper; a jitter keeps every seller from asking the same
        hurry = 0.9 if own in PERISHABLE else 1.0
        price = value[own] * markup * hurry * (0.9 + 0.2 * jitter[-1])
        sells.append(_order("sell", own, surplus, price))
        say = say or LINES["sell"].format(good=GOODS[own].capitalize(), price=max(1, round(price)))

    # buy: firewood for the winter first, then foods it lacks, then speculation on a craze
    budget = view.pebbles[i]
    wants = []
    if own != FIREWOOD and view.fuel_need > stock[FIREWOOD]:
        wants.append((FIREWOOD, view.fuel_need - stock[FIREWOOD], 1.4 if state.season == "winter" else 1.2))
    start = int(jitter[0] * len(FOODS))  # which lacking food to try first varies by creature and turn
    for k in FOODS_ORDER[start]:
        if k != own and stock[k] == 0 and sent[k] >= 0:
            wants.append((k, 1, urgency))
    wants.extend((k, 2, 1.0) for k in range(len(GOODS)) if k != own and sent[k] > 0)
    for k, qty, push in wants:
        # bids chase the market but are capped by custom and by the purse, so prices cannot spiral
        bid = min(value[k] * push * (0.95 + 0.15 * jitter[k]), view.worth[k], budget / 2)
        price = max(1, min(MAX_PRICE, round(bid)))
        qty = min(qty, budget // price)
        if qty <= 0 or any(o["good"] == GOODS[k] for o in buys + sells):
            continue
        buys.append({"side": "buy", "good": GOODS[k], "qty": int(qty), "price": int(price)})
        budget -= qty * price
        if sent[k] > 0:
            say = say or LINES["mania"].format(good=GOODS[k])
    say = say or (LINES["buy"].format(good=buys[0]["good"]) if buys else LINES["quiet"])
    return {"orders": (sells + buys)[:MAX_ORDERS], "say": say}


FOODS_ORDER = [[(start + j) % len(FOODS) for j in range(len(FOODS))] for start in range(len(FOODS))]


def _order(side: str, k: int, qty: int, price: float) -> dict:
    return {"side": side, "good": GOODS[k], "qty": int(min(qty, MAX_QTY)), "price": int(max(1, min(MAX_PRICE, round(price))))}
