"""The scripted creature: a sensible heuristic trader, the baseline the models are measured against.

It values each good at the market price times its sentiment (rumours move minds), sells its surplus before
it rots, buys the foods it lacks, stocks firewood ahead of winter, bids up when it went hungry or cold, and
dumps goods it has lost faith in.
"""
from __future__ import annotations

import numpy as np

from worlds.wood import legends
from worlds.wood.actions import MAX_ORDERS, MAX_PRICE, MAX_QTY
from worlds.wood.state import FIREWOOD, FOODS, GOODS, WoodState
from worlds.wood.text import turns_to_winter

CUSTOMARY = [4.0, 10.0, 5.0, 6.0, 4.0]  # the prices the wood is used to, per good
SCARCITY_PREMIUM = 1.8  # most a creature pays over the customary price when it is short
MARKUP = {"greedy": 1.25, "generous": 0.85, "cautious": 1.05, "bold": 1.1, "chatty": 1.0}
LINES = {
    "sell": "{good} for sale, {price} pebbles!",
    "buy": "Who has {good}? I pay well.",
    "panic": "Get rid of your {good} while you can!",
    "mania": "Everyone wants {good}, buy now!",
    "quiet": "A fine day in the wood.",
}


def decide(state: WoodState, i: int, rng: np.random.Generator, season_turns: int) -> dict:
    own = int(state.trade[i])
    stock = state.stock[i]
    mood_sent = legends.sentiment(state.effects, state.turn)
    value = np.maximum(state.prices * (1.0 + np.asarray(mood_sent)), 0.5)
    markup = MARKUP.get(state.personality[i], 1.0)
    urgency = 1.3 if state.ate[i] < 2 or state.cold[i] else 1.1
    sells, buys, say = [], [], None

    # sell: panic-dump goods under a bad rumour, else the surplus of what it makes
    for k in range(len(GOODS)):
        if stock[k] > 0 and mood_sent[k] < 0 and k != FIREWOOD:
            sells.append(_order("sell", k, stock[k], value[k] * 0.6))
            say = say or LINES["panic"].format(good=GOODS[k])
    keep = _fuel_need(state, i, season_turns) if own == FIREWOOD else 1
    if mood_sent[own] < 0:
        keep = 0
    surplus = int(stock[own]) - keep
    if surplus > 0 and not any(o["good"] == GOODS[own] for o in sells):
        # perishable surplus goes cheaper; a jitter keeps every seller from asking the same
        rot_hurry = 0.9 if GOODS[own] in ("berries", "mushrooms") else 1.0
        price = value[own] * markup * rot_hurry * rng.uniform(0.9, 1.1)
        sells.append(_order("sell", own, surplus, price))
        say = say or LINES["sell"].format(good=GOODS[own].capitalize(), price=max(1, round(price)))

    # buy: firewood for the winter first, then foods it lacks, then speculation on a craze
    budget = int(state.pebbles[i])
    wood_short = _fuel_need(state, i, season_turns) - int(stock[FIREWOOD]) if own != FIREWOOD else 0
    wants = []
    if wood_short > 0:
        wants.append((FIREWOOD, wood_short, 1.4 if state.season == "winter" else 1.2))
    for k in rng.permutation(len(FOODS)):
        if k != own and stock[k] == 0 and mood_sent[k] >= 0:
            wants.append((int(k), 1, urgency))
    for k in range(len(GOODS)):
        if k != own and mood_sent[k] > 0:
            wants.append((k, 2, 1.0))
    # what a unit is worth to a creature is capped by the wood's customary price (stretched by rumours)
    # and by its purse, so bids chase the market without a runaway spiral
    worth = np.asarray(CUSTOMARY) * (1.0 + np.asarray(mood_sent)) * SCARCITY_PREMIUM
    for k, qty, push in wants:
        bid = min(value[k] * push * rng.uniform(0.95, 1.1), worth[k], budget / 2)
        price = max(1, min(MAX_PRICE, round(bid)))
        qty = min(qty, budget // price)
        if qty <= 0 or any(o["good"] == GOODS[k] for o in buys + sells):
            continue
        buys.append({"side": "buy", "good": GOODS[k], "qty": int(qty), "price": int(price)})
        budget -= qty * price
        if mood_sent[k] > 0:
            say = say or LINES["mania"].format(good=GOODS[k])
    say = say or (LINES["buy"].format(good=buys[0]["good"]) if buys else LINES["quiet"])
    return {"orders": (sells + buys)[:MAX_ORDERS], "say": say}


def _fuel_need(state: WoodState, i: int, season_turns: int) -> int:
    """Firewood a creature wants in hand: through the rest of winter, or enough to start it."""
    if state.season == "winter":
        return 2
    return 3 if turns_to_winter(state, season_turns) <= season_turns else 0


def _order(side: str, k: int, qty, price: float) -> dict:
    return {"side": side, "good": GOODS[k], "qty": int(min(qty, MAX_QTY)), "price": int(max(1, min(MAX_PRICE, round(price))))}
