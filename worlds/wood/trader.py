"""The scripted creature: a sensible heuristic trader, the baseline the models are measured against.

It values each good at the market price times its sentiment (rumours move minds), sells its surplus before
it rots, buys the foods it lacks, stocks firewood ahead of winter, bids up when it went hungry or cold, and
dumps goods it has lost faith in. In the living economy it also remembers last turn's orders: an ask that
did not sell is cut, one that sold out is raised, a bid that went unmet is raised (never past what the good
is worth to it), and it lays in firewood a little at a time from spring on.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    # the state's columns as Python lists: indexing numpy arrays one scalar at a time is slow
    trade: list[int]
    stock: list[list[int]]
    pebbles: list[int]
    hungry: list[bool]  # ate fewer than two foods or went cold last turn
    adaptive: bool  # traders remember last turn's orders (the living economy)
    asked: list[list[int]]
    unsold: list[list[int]]
    bid: list[list[int]]
    unfilled: list[list[int]]


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
        ((state.ate < 2) | (state.cold > 0)).tolist(),
        adaptive,
        state.asked.tolist() if adaptive else [],
        state.unsold.tolist() if adaptive else [],
        state.bid.tolist() if adaptive else [],
        state.unfilled.tolist() if adaptive else [],
    )


def choose(state: WoodState, i: int, jitter: list[float], view: Outlook) -> dict:
    """Creature i's orders and line, given its DRAWS random numbers in [0, 1) (spread over its orders)."""
    own = view.trade[i]
    stock = view.stock[i]
    sent, value = view.sentiment, view.value
    markup = MARKUP.get(state.personality[i], 1.0)
    urgency = 1.3 if view.hungry[i] else 1.1
    sells, buys, say = [], [], None

    # sell: panic-dump goods under a bad rumour, else the surplus of what it makes
    for k, held in enumerate(stock):
        if held > 0 and sent[k] < 0 and k != FIREWOOD:
            sells.append(_order("sell", k, held, value[k] * 0.6))
            say = say or LINES["panic"].format(good=GOODS[k])
    keep = 0 if sent[own] < 0 else view.wood_keep if own == FIREWOOD else 1
    surplus = stock[own] - keep
    if surplus > 0 and not any(o["good"] == GOODS[own] for o in sells):
        # perishable surplus goes cheaper; a jitter keeps every seller from asking the same
        hurry = 0.9 if own in PERISHABLE else 1.0
        price = value[own] * markup * hurry * (0.9 + 0.2 * jitter[-1])
        if view.adaptive and sent[own] == 0 and view.asked[i][own]:
            # cut, but not below what habit says buyers will pay: a seller waits for them rather than give it away
            price = max(_revised_ask(view.asked[i][own], view.unsold[i][own], view.worth[own], state.best_bid[own]),
                        0.9 * ANCHOR * CUSTOMARY[own])
            if not view.unsold[i][own]:  # it sold out: ask at least what the keenest buyer offered
                price = max(price, state.best_bid[own])
            # and never more than the good is worth to anyone: last turn's ask may have been a model's 83 pebbles
            price = min(price, max(view.worth[own], state.best_bid[own]))
        if view.adaptive and own == FIREWOOD and state.season == "winter":
            price = max(price, 0.5 * view.worth[own])  # a woodcutter knows what fire is worth in the snow
        sells.append(_order("sell", own, surplus, price))
        say = say or LINES["sell"].format(good=GOODS[own].capitalize(), price=max(1, round(price)))

    # buy: firewood for the winter first, then foods it lacks, then speculation on a craze
    budget = view.pebbles[i]
    wants = []
    if own != FIREWOOD and view.fuel_need > stock[FIREWOOD]:
        wants.append((FIREWOOD, view.fuel_need - stock[FIREWOOD], 1.4 if state.season == "winter" else 1.2))
    start = int(jitter[0] * len(FOODS))  # which lacking food to try first varies by creature and turn
    for k in FOODS_ORDER[start]:
        if k != own and stock[k] == 0 and (sent[k] >= 0 or view.adaptive):  # scared, it still eats, cheaply
            wants.append((k, 1, urgency))
    wants.extend((k, 2, 1.0) for k in range(len(GOODS)) if k != own and sent[k] > 0)
    for k, qty, push in wants:
        # bids chase the market but are capped by custom and by the purse, so prices cannot spiral
        bid = value[k] * push * (0.95 + 0.15 * jitter[k])
        if view.adaptive:  # a full purse bids more: prices answer to the pebbles in the wood, not only habit
            bid = max(bid, SPEND * view.pebbles[i] / len(wants) * min(1.0, 1.0 + sent[k]))
        if view.adaptive and k == FIREWOOD and state.season == "winter" and stock[k] == 0:
            bid = max(bid, 0.8 * view.worth[k])  # no fire tonight: it outbids the others for warmth
        if view.adaptive and view.unfilled[i][k]:
            bid = max(bid, view.bid[i][k] * RAISE, view.bid[i][k] + 1)  # last turn's bid was not enough
        bid = min(bid, view.worth[k], budget / 2)
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


def _revised_ask(last: int, unsold: int, worth: float, best_bid: int) -> float:
    """Last turn's ask, cut when some of it did not sell (halfway to the best bid, if that is further),
    raised (at least a pebble) when it all sold."""
    if unsold:
        return min(last * CUT, last - 1, (last + best_bid) / 2 if best_bid else last)
    return min(max(last * RAISE, last + 1), max(worth, last))


FOODS_ORDER = [[(start + j) % len(FOODS) for j in range(len(FOODS))] for start in range(len(FOODS))]


def _order(side: str, k: int, qty: int, price: float) -> dict:
    return {"side": side, "good": GOODS[k], "qty": int(min(qty, MAX_QTY)), "price": int(max(1, min(MAX_PRICE, round(price))))}
