"""The Thousand Token Wood: creatures who each make one good and must trade for the rest.

Scarcity is designed in: each food is made by a fifth of the creatures but every creature wants one of
each, food rots, and in winter everyone burns firewood that only woodcutters make.

One turn, in order: the market clears every order at once; creatures eat (one of each food they hold);
in winter they burn one firewood; goods rot; creatures make their goods; moods move; prices move.

Two economies (the `economy` parameter): "living" (the default) moves a good's price only when it changes
hands, remembers every creature's unsold asks and unmet bids so traders can cut or raise them, and cuts less
firewood than the wood burns in a year, so each winter one supplier meets rising demand. "classic" is the
first version: prices drift towards bids and asks that never crossed, and firewood is plentiful.

The second act (the `second_act` parameter, on by default) adds deals between neighbours (offers.py), loans
at interest (credit.py), a memory of who kept their word (memory.py) and a seat for a person, the patron
(patron.py). With it, a turn starts by collecting debts due and settling accepted offers, before the market.
Off, every rule, schema, prompt and trace line is the first version's.
"""
from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Iterator, Mapping

import numpy as np

from sim.metrics import gini
from sim.portrayal import Portrait
from sim.records import Turn
from sim.world import Outcome, World
from worlds.wood import credit, dealer, legends, look, market, memory, offers, own, text, trader
from worlds.wood import patron as patrons
from worlds.wood.actions import FirstAction, Order, WoodAction, creature_schema
from worlds.wood.params import WoodParams
from worlds.wood.state import FIREWOOD, FOODS, GOOD_AT, GOODS, SEASONS, WoodState

NAMES = ["Bramble", "Clover", "Juniper", "Moss", "Thorn", "Hazel", "Fern", "Rowan", "Sorrel", "Burdock",
         "Tansy", "Yarrow", "Alder", "Briar", "Nettle", "Sedge", "Willow", "Aspen", "Heather", "Linden"]
KINDS = ["squirrel", "badger", "hedgehog", "mole", "beaver"]  # by trade, in GOODS order
PERSONALITIES = ["cautious", "greedy", "generous", "chatty", "bold"]
MAKES = [3, 2, 3, 3, 2]  # units per turn of each good, per maker ("classic")
LIVING_MAKES = [3, 2, 3, 3, 1.25]  # "living": 22 logs a year where a woodcutter's 5 neighbours burn 25
ROT = [0.05, 0.02, 0.3, 0.2, 0.01]  # chance per unit per turn
WINTER_WOOD = 0.5  # woodcutters make half as much in the snow
MOOD_BY_FOODS = [0.15, 0.4, 0.6, 0.75, 0.9]  # mood a creature drifts towards, by kinds of food eaten
COLD = 0.35  # mood lost by a creature without fire in winter
MOOD_PULL = 0.35  # how far mood moves towards its target each turn (mean-reverting, never a spiral)
PRICE_PULL = 0.7  # weight of this turn's clearing price in the market price
KEEP_GOSSIP = 12  # lines kept, at most one per speaker
COLUMNS = ("trade", "pebbles", "stock", "mood", "ate", "cold", "asked", "unsold", "bid", "unfilled", "kinds",
           "personality")  # one row per creature
BY_GOOD = ("prices", "last_prices", "cleared", "best_bid", "best_ask")  # one entry per good
SECOND_ACT = ("offers", "loans", "memory", "defaulted", "purse", "whispers")  # state fields only it uses


class WoodWorld(World[WoodState, WoodAction]):
    name = "wood"
    headline = ("last.gini", "mean.trades", "mean.mood")  # the columns a sweep prints first
    Action = WoodAction
    Params = WoodParams  # --set, sweeps and trace headers go through it
    Patron = patrons.WoodPatron  # what a person in the patron's seat may do (see patron.py)
    briefing = text.BRIEFING + text.DEALS  # the second act's; the first version's without DEALS
    example = text.json.dumps(text.EXAMPLE, separators=(",", ":"))
    legends = {name: legend.title for name, legend in legends.LEGENDS.items()}

    agents_default = 5
    params: WoodParams
    # one news text, outlook, desk and list of worked examples per state, however many creatures read them
    _news: tuple[WoodState | None, str] = (None, "")
    _outlook: tuple[WoodState | None, trader.Outlook | None] = (None, None)
    _desk: tuple[WoodState | None, offers.Desk | None] = (None, None)
    _examples: tuple[WoodState | None, list[dict]] = (None, [])

    def __init__(self, agents: int | None = None, **params):
        """Parameters (WoodParams): `aids`, the prompt aids creatures get; `schema`, "creature" (each creature's
        schema narrowed to what it may do now) or "general" (the Action model's, to measure what narrowing
        buys); `economy`, "living" or "classic" (see the module docstring); `levers`, market aids for models
        (actions.LEVERS); `second_act`: deals, credit, memory and the patron (off: the first version exactly)."""
        super().__init__(agents, **params)
        if not self.second_act:  # the first version's rules, replies read by its model, no patron at its table
            self.briefing, self.Action, self.Patron = text.BRIEFING, FirstAction, None

    @property
    def second_act(self) -> bool:
        return self.params.second_act

    @property
    def season_turns(self) -> int:
        return self.params.season_turns

    @property
    def living(self) -> bool:
        return self.params.economy == "living"

    @property
    def makes(self) -> list[float]:
        return LIVING_MAKES if self.living else MAKES

    @cached_property  # read once an agent a turn: split once
    def aids(self) -> frozenset[str]:
        return names_in(self.params.aids)

    @cached_property
    def levers(self) -> frozenset[str]:
        return names_in(self.params.levers)

    # --- setup and views ---------------------------------------------------------------------------
    def initial_state(self, rng: np.random.Generator) -> WoodState:
        n = self.n_agents
        trade = np.arange(n) % len(GOODS)
        stock = np.zeros((n, len(GOODS)), dtype=np.int64)
        stock[np.arange(n), trade] = 3
        personality = [PERSONALITIES[(i + i // len(GOODS)) % len(PERSONALITIES)] for i in range(n)]
        pebbles = np.full(n, self.params.pebbles, dtype=np.int64) + rng.integers(-3, 4, n)
        prices = np.asarray(trader.CUSTOMARY)
        book = np.zeros((n, len(GOODS)), dtype=np.int64)
        top = np.zeros(len(GOODS), dtype=np.int64)
        state = WoodState(
            turn=0,
            names=[NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f"-{i // len(NAMES)}") for i in range(n)],
            kinds=[KINDS[k] for k in trade],
            personality=personality,
            trade=trade,
            pebbles=pebbles,
            stock=stock,
            mood=np.full(n, 0.5),
            prices=prices.copy(),
            last_prices=prices.copy(),
            ate=np.full(n, 1, dtype=np.int64),
            cold=np.zeros(n, dtype=np.int64),
            cleared=prices.copy(),
            asked=book.copy(),
            unsold=book.copy(),
            bid=book.copy(),
            unfilled=book.copy(),
            best_bid=top.copy(),
            best_ask=top.copy(),
            season=SEASONS[0],
        )
        if self.second_act:
            self._open_second_act(state)
        return state

    def _open_second_act(self, state: WoodState) -> None:
        """Give a state (a new one, or a first-version one read back) what the second act keeps."""
        state.memory = [[] for _ in state.names]
        state.defaulted = np.zeros(len(state.names), dtype=np.int64)
        state.purse = patrons.PURSE_PER_CREATURE * len(state.names)

    def desk(self, state: WoodState) -> offers.Desk:
        """The deals standing in this state (one per state, shared by every creature's schema and heuristic)."""
        if self._desk[0] is not state:
            self._desk = (state, offers.desk(state))
        return self._desk[1]

    def agents(self, state: WoodState) -> list[str]:
        return state.names

    def outlook(self, state: WoodState) -> trader.Outlook:
        """What every creature believes in this state (one per state, shared by the trader and the examples)."""
        if self._outlook[0] is not state:
            self._outlook = (state, trader.outlook(state, self.season_turns, adaptive=self.living))
        return self._outlook[1]

    def observe(self, state: WoodState, agent: str) -> str:
        i = state.position[agent]
        deals = offers.lines(state, i, self.desk(state)) if self.second_act else []
        return text.observe(state, i, self.season_turns, self.aids, deals, self.suggestion(state, agent))

    def suggestion(self, state: WoodState, agent: str) -> dict | None:
        """The scripted trader's orders for this creature, its draws held at their middle (text.example_for),
        shown as the worked example when the "example" aid is on."""
        if "example" not in self.aids:
            return None
        if self._examples[0] is not state:  # decided for every creature at once, as the scripted trader decides
            rows = range(len(state.names))
            self._examples = (state, text.examples_for(state, rows, self.outlook(state), self.levers))
        return self._examples[1][state.position[agent]]

    def parts(self, action: dict) -> dict:
        """Each order by its side and good ("buy firewood": [qty, price]) and each deal by its key; what a
        creature says is its own and left out."""
        out = {f"{o[0]} {o[1]}": o[2:] for o in action.get("orders") or [] if isinstance(o, list) and len(o) == 4}
        out.update((k, v) for k, v in action.items() if k not in ("orders", "say"))
        return out

    def news(self, state: WoodState) -> str:
        if self._news[0] is not state:  # one text per state, however many creatures read it
            self._news = (state, text.news(state, self.levers))
        return self._news[1]

    def action_schema(self, state: WoodState, agent: str) -> dict:
        if self.params.schema_ == "general":  # the Action model's schema, orders written as lists as it records them
            return self.Action.model_json_schema(mode="serialization")
        i = state.position[agent]
        schema = creature_schema(state, i, self.levers)
        if self.second_act:  # optional fields, offered only when usable now
            schema["properties"].update(offers.schema_properties(state, i, self.desk(state)))
        return schema

    def noop(self, agent: str) -> WoodAction:
        return self.Action()

    def role(self, state: WoodState, agent: str) -> str:
        return GOODS[int(state.trade[state.position[agent]])]

    def heuristics(self, state: WoodState, agents: list[str], rng: np.random.Generator) -> dict[str, dict]:
        """Every creature's draws in one call (the same numbers, in the same order, as one call a creature),
        the trader for all of them at once over numpy columns, then the dealer for each, over one outlook and one
        desk."""
        view = self.outlook(state)
        desk = self.desk(state) if self.second_act else None
        rows = [state.position[agent] for agent in agents]
        chosen = trader.choose_all(state, rows, rng.random((len(agents), trader.DRAWS)), view)
        if desk is not None:
            chosen = dealer.deal_all(state, rows, chosen, view, desk)
        return dict(zip(agents, chosen))  # orders as a model writes them: [side, good, qty, price]

    def own_actions(self, state: WoodState, agents: list[str],
                    decided: list[dict]) -> list[tuple[WoodAction, dict] | None]:
        """The scripted creatures' decisions read without their text, checked against their schemas and
        check with plain Python (own.py); those it is unsure of are parsed."""
        return own.actions(self, state, agents, decided)

    def check(self, state: WoodState, agent: str, action: WoodAction) -> str | None:
        problem = next((why for _, why in self._order_problems(state, agent, action.orders) if why), None)
        if problem is None and self.second_act and isinstance(action, WoodAction):
            return offers.problem(state, state.position[agent], action, self.desk(state))
        return problem

    def mend(self, state: WoodState, agent: str, action: WoodAction) -> tuple[WoodAction, str] | None:
        """Orders are independent: keep the ones the creature can place (for a good it both buys and sells,
        the first written) and leave out the rest, rather than lose the whole reply. A line the world wrote
        from the orders is written again from those kept."""
        judged = list(self._order_problems(state, agent, action.orders))
        left_out = [f"{o.side} {o.good} {o.qty} at {o.price} ({why})" for o, why in judged if why]
        if not left_out:
            return None  # the orders are fine: what check refused is a deal, which stands or falls whole
        data = action.model_dump(mode="json")
        data["orders"] = [data["orders"][n] for n, (_, why) in enumerate(judged) if not why]
        if "say" not in action.model_fields_set:
            del data["say"]
        return type(action).model_validate(data), "; ".join(left_out)

    def _order_problems(self, state: WoodState, agent: str, orders) -> Iterator[tuple[Order, str | None]]:
        """Each order with why the creature cannot place it beside the orders before it (None: it can)."""
        i = state.position[agent]
        own = GOODS[int(state.trade[i])]
        sides: dict[str, str] = {}
        for order in orders:
            if order.side == "buy" and order.good == own:
                yield order, f"buys {own}, which it makes"
            elif order.side == "sell" and state.stock[i, GOODS.index(order.good)] == 0:
                yield order, f"sells {order.good} but holds none"
            elif sides.setdefault(order.good, order.side) != order.side:
                yield order, f"both buys and sells {order.good}"
            else:
                yield order, None

    # --- the turn ----------------------------------------------------------------------------------
    def apply(self, state: WoodState, actions: Mapping[str, WoodAction], rng: np.random.Generator) -> Outcome[WoodState]:
        s = state.copy()
        events: list[dict] = []
        if self.second_act:  # debts first, then deals, and only then the market
            credit.collect(s, events)
            offers.settle(s, actions, events)
        fills = self._trade(s, actions, rng, events)
        fuel = fills[FIREWOOD][1]
        if self.second_act and s.season == "winter" and fuel is not None:
            memory.remember_fuel(s, fuel.buyers, fuel.sellers)
        self._eat_and_burn(s, events)
        self._rot(s, rng, events)
        self._make(s, rng, events)
        self._feel(s)
        self._move_prices(s, fills)
        s.turn += 1
        s.effects = [e for e in s.effects if e["until"] > s.turn]
        s.season = "winter" if legends.forced_winter(s.effects, s.turn) else self.season_of(s.turn)
        if self.second_act:
            patrons.forget_whispers(s)
        return Outcome(s, events)

    def season_of(self, turn: int) -> str:
        return SEASONS[(turn // self.season_turns) % len(SEASONS)]

    def _trade(self, s: WoodState, actions, rng, events) -> dict[int, tuple[market.Book, market.Fill | None]]:
        at = s.position
        rows = [(at[agent], place, GOOD_AT[o.good], o.side == "buy", o.qty, o.price)
                for agent, action in actions.items() for place, o in enumerate(action.orders)]
        said = [[agent, action.say] for agent, action in actions.items() if action.say]
        s.gossip = heard_next(s.gossip, said, s.turn)
        books = market.take_orders(s, np.array(rows, dtype=np.int64).reshape(-1, 6))
        fills = {}
        for k, book in enumerate(books):
            fill = market.clear(k, book, rng)
            fills[k] = (book, fill)
            s.best_bid[k] = book.bid_price.max(initial=0)
            s.best_ask[k] = book.ask_price.min() if book.ask_price.size else 0
            if fill is None:
                continue
            market.settle(s, k, fill)
            names = s.names
            events.append({
                "kind": "trade", "good": GOODS[k], "price": fill.price,
                "units": sum(u for _, u in fill.buyers),
                "buyers": [[names[i], u] for i, u in fill.buyers],
                "sellers": [[names[i], u] for i, u in fill.sellers],
            })
        return fills

    def _eat_and_burn(self, s: WoodState, events) -> None:
        foods = len(FOODS)
        eaten = (s.stock[:, :foods] > 0).astype(np.int64)
        s.stock[:, :foods] -= eaten
        s.ate = eaten.sum(1)
        events.extend({"kind": "eat", "good": FOODS[k], "units": int(u)} for k, u in enumerate(eaten.sum(0)) if u)
        if s.season == "winter":
            burned = (s.stock[:, FIREWOOD] > 0).astype(np.int64)
            s.stock[:, FIREWOOD] -= burned
            s.cold = 1 - burned
            if burned.any():
                events.append({"kind": "burn", "good": "firewood", "units": int(burned.sum())})
            if s.cold.any():
                events.append({"kind": "cold", "creatures": [s.names[i] for i in np.flatnonzero(s.cold)][:50],
                               "count": int(s.cold.sum())})
        else:
            s.cold = np.zeros_like(s.cold)

    def _rot(self, s: WoodState, rng, events) -> None:
        rate = np.minimum(np.asarray(ROT) * legends.multiplier(s.effects, s.turn, "rot"), 1.0)
        rotted = rng.binomial(s.stock, rate)
        s.stock -= rotted
        events.extend({"kind": "rot", "good": GOODS[k], "units": int(u)} for k, u in enumerate(rotted.sum(0)) if u)

    def _make(self, s: WoodState, rng, events) -> None:
        rate = np.asarray(self.makes, dtype=float) * legends.multiplier(s.effects, s.turn, "grow")
        if s.season == "winter":
            rate[FIREWOOD] *= WINTER_WOOD
        # stochastic rounding keeps fractional shocks (a drought's 0.6) fair on average
        base = rate[s.trade]
        made = np.floor(base + rng.random(base.size)).astype(np.int64)
        s.stock[np.arange(len(made)), s.trade] += made
        totals = np.bincount(s.trade, weights=made, minlength=len(GOODS))
        events.extend({"kind": "make", "good": GOODS[k], "units": int(u)} for k, u in enumerate(totals) if u)

    def _feel(self, s: WoodState) -> None:
        target = np.asarray(MOOD_BY_FOODS)[s.ate] - COLD * s.cold
        s.mood = np.clip(s.mood + MOOD_PULL * (target - s.mood), 0.0, 1.0)

    def _move_prices(self, s: WoodState, fills) -> None:
        s.last_prices = s.prices.copy()
        for k, (book, fill) in fills.items():
            price = s.prices[k]
            if fill is not None:
                price = (1 - PRICE_PULL) * price + PRICE_PULL * fill.price
            elif self.living:
                pass  # a bid and an ask that never met are not a price: the last one paid stands
            elif book.bid_price.size and book.ask_price.size:  # bids below asks: meet in the middle
                price += 0.3 * ((int(book.bid_price.max()) + int(book.ask_price.min())) / 2 - price)
            elif book.bid_price.size and book.bid_price.max() > price:  # unmet demand pulls the price up
                price += 0.3 * (int(book.bid_price.max()) - price)
            elif book.ask_price.size and book.ask_price.min() < price:  # unsold supply pulls it down
                price += 0.3 * (int(book.ask_price.min()) - price)
            s.prices[k] = max(round(float(price), 3), 0.5)

    # --- legends, metrics, rules -------------------------------------------------------------------
    def legend(self, state: WoodState, name: str, text: str | None = None) -> Outcome[WoodState]:
        s = state.copy()
        effects, line = legends.start(name, s.turn, text)
        s.effects.extend(effects)
        s.rumours = (s.rumours + [line])[-4:]
        if legends.forced_winter(s.effects, s.turn):
            s.season = "winter"
        return Outcome(s, [{"kind": "rumour", "text": line}])

    def patron(self, state: WoodState, act: patrons.WoodPatron) -> Outcome[WoodState]:
        """One act of the patron at the start of a turn (see patron.py); ValueError when it cannot be done."""
        if not self.second_act:
            raise ValueError("the patron sits only at the second act's table (second_act is off)")
        return Outcome(*patrons.act(state, act))

    def metrics(self, state: WoodState, events: list[dict]) -> dict:
        trades = [e for e in events if e["kind"] == "trade"]
        deals = {}
        if self.second_act:
            kinds = [e["kind"] for e in events]
            deals = {"offers_accepted": kinds.count("offer_accepted"), "loans": kinds.count("loan"),
                     "repaid": kinds.count("repaid"), "defaults": kinds.count("default"),
                     "debt": sum(loan["owed"] for loan in state.loans)}
        return {
            "gini": round(gini(state.wealth()), 4),
            "pebble_gini": round(gini(state.pebbles), 4),
            "trades": sum(len(e["buyers"]) for e in trades),
            "volume": sum(e["units"] for e in trades),
            "turnover": sum(e["units"] * e["price"] for e in trades),
            "prices": {g: float(state.prices[k]) for k, g in enumerate(GOODS)},
            "mood": round(float(state.mood.mean()), 4),
            "well_fed": int((state.ate >= 2).sum()),
            "cold": int(state.cold.sum()),
            **deals,
        }

    def portray(self, turn: Turn) -> Portrait:
        return look.portrait(turn, self.season_turns)

    def to_json(self, state: WoodState) -> dict:
        # the second act's entries are never changed in place (state.py), so the JSON form shares them as a
        # copied state does, rather than copying ~20 000 small lists and dicts a turn in a wood of 10 000
        data = super().to_json(replace(state, offers=[], loans=[], memory=[]))
        data.update(offers=list(state.offers), loans=list(state.loans), memory=[list(m) for m in state.memory])
        if not self.second_act:  # the first version's trace lines, byte for byte
            for key in SECOND_ACT:
                data.pop(key, None)
        return data

    def from_json(self, data: dict) -> WoodState:
        state = super().from_json(data)
        if self.second_act and "memory" not in data:  # a first-version state plays on under the second act
            self._open_second_act(state)
        return state

    def invariants(self, state: WoodState, previous: WoodState, events: list[dict]) -> list[str]:
        broken = []
        n, g = len(state.names), len(GOODS)
        shapes = {k: np.shape(getattr(state, k)) for k in (*COLUMNS, *BY_GOOD)}
        if any(shapes[k] not in ((n,), (n, g)) for k in COLUMNS) or any(shapes[k] != (g,) for k in BY_GOOD):
            return [f"columns of the wrong shape for {n} creatures and {g} goods: {shapes}"]  # the rest needs them
        if (state.pebbles < 0).any() or (state.stock < 0).any():
            broken.append("a creature holds negative pebbles or goods")
        # the patron's purse is pebbles too: lending and bribing move them, never make them
        before, after = previous.pebbles.sum() + previous.purse, state.pebbles.sum() + state.purse
        if before != after:
            broken.append(f"pebbles not conserved: {before} -> {after}")
        if self.second_act:
            broken += offers.broken(state)
        expected = previous.stock.sum(0).copy()
        sign = {"make": 1, "eat": -1, "burn": -1, "rot": -1}
        for e in events:
            if e["kind"] in sign:
                expected[GOODS.index(e["good"])] += sign[e["kind"]] * e["units"]
        if (expected != state.stock.sum(0)).any():
            broken.append(f"goods not conserved: expected {expected.tolist()}, found {state.stock.sum(0).tolist()}")
        if not np.isfinite(state.prices).all() or (state.prices <= 0).any():
            broken.append(f"prices must be positive and finite: {state.prices.tolist()}")
        if ((state.mood < 0) | (state.mood > 1)).any():
            broken.append("mood outside [0, 1]")
        return broken


def names_in(listed: str) -> frozenset[str]:
    """The names of a comma-separated parameter (WoodParams has checked each one)."""
    return frozenset(name for name in listed.split(",") if name)


def heard_next(gossip: list[list[str]], said: list[list[str]], turn: int) -> list[list[str]]:
    """The gossip kept after this turn: each speaker's latest line, newest last, at most KEEP_GOSSIP. When
    more creatures speak than are kept, which of them are kept rotates with the turn, so every voice is
    heard in time and not only the last names in the list."""
    if len(said) > KEEP_GOSSIP:
        start = turn * KEEP_GOSSIP % len(said)
        said = (said[start:] + said[:start])[:KEEP_GOSSIP]
    speakers = {who for who, _ in said}
    return ([g for g in gossip if g[0] not in speakers] + said)[-KEEP_GOSSIP:]
