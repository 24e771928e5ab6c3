"""The living economy's mechanics: prices move only on trades, traders revise unmet orders, gossip rotates,
speech is filtered and informative, wealth is valued at clearing prices, fishers see only their lake."""
import numpy as np
from better_profanity import profanity

from worlds.commons import CommonsWorld
from worlds.commons.fisher import temperaments
from worlds.wood import WoodWorld
from worlds.wood import trader
from worlds.wood.actions import SAY_CHARS, WoodAction, profane
from worlds.wood.state import GOODS
from worlds.wood.text import HEARD, heard_now, news
from worlds.wood.world import KEEP_GOSSIP, heard_next

HONEY = GOODS.index("honey")


def orders(world, state, **by_name):
    return {a: WoodAction.model_validate({"orders": by_name.get(a, []), "say": ""}) for a in world.agents(state)}


def honey_book(world, state, bid, ask):
    buyer, keeper = state.names[0], state.names[HONEY]
    state.stock[HONEY, HONEY] = 5
    return orders(world, state, **{buyer: [{"side": "buy", "good": "honey", "qty": 1, "price": bid}],
                                    keeper: [{"side": "sell", "good": "honey", "qty": 2, "price": ask}]})


def test_bids_and_asks_that_never_cross_leave_the_price_where_it_was(rng):
    living = WoodWorld(agents=5)
    s = living.initial_state(rng)
    out = living.apply(s, honey_book(living, s, bid=3, ask=30), rng)
    assert out.state.prices[HONEY] == s.prices[HONEY]
    assert not [e for e in out.events if e["kind"] == "trade"]
    assert (out.state.best_bid[HONEY], out.state.best_ask[HONEY]) == (3, 30)  # the book is remembered, not priced

    classic = WoodWorld(agents=5, economy="classic")  # the first version's phantom prices stay reachable
    s = classic.initial_state(rng)
    assert classic.apply(s, honey_book(classic, s, bid=3, ask=30), rng).state.prices[HONEY] != s.prices[HONEY]


def test_a_cross_moves_the_price_and_is_remembered_as_the_clearing_price(rng):
    world = WoodWorld(agents=5)
    s = world.initial_state(rng)
    out = world.apply(s, honey_book(world, s, bid=14, ask=12), rng).state
    assert out.cleared[HONEY] == 13 and out.prices[HONEY] != s.prices[HONEY]
    assert out.unsold[HONEY, HONEY] == 1 and out.asked[HONEY, HONEY] == 12  # one of two units went unsold
    assert out.unfilled[0, HONEY] == 0 and out.bid[0, HONEY] == 14


def test_an_unsold_ask_is_cut_and_one_that_sold_out_is_raised(rng):
    world = WoodWorld(agents=5)
    s = world.initial_state(rng)
    s.stock[HONEY, HONEY] = 6
    s.asked[HONEY, HONEY], s.unsold[HONEY, HONEY] = 12, 3

    def ask_now(state):
        view = trader.outlook(state, world.season_turns)
        action = trader.choose(state, HONEY, np.random.default_rng(0).random(trader.DRAWS).tolist(), view)
        return next(price for side, _, _, price in action["orders"] if side == "sell")

    assert ask_now(s) < 12
    s.unsold[HONEY, HONEY] = 0
    assert ask_now(s) > 12


def test_gossip_keeps_one_line_per_speaker_and_rotates_who_is_kept_and_heard(rng):
    said = [[f"c{i}", f"line {i}"] for i in range(30)]
    kept = [{who for who, _ in heard_next([], said, turn)} for turn in range(3)]
    assert all(len(k) == KEEP_GOSSIP for k in kept)
    assert len(set().union(*kept)) == 30  # over three turns every voice is kept once

    assert heard_next([["a", "old"]], [["a", "new"], ["b", "hi"]], 0) == [["a", "new"], ["b", "hi"]]

    world = WoodWorld(agents=8)
    s = world.initial_state(rng)
    s.gossip = [[name, f"I am {name}"] for name in s.names]
    heard = set()
    for turn in range(2):
        s.turn = turn
        lines = heard_now(s)
        assert len(lines) == HEARD
        heard |= {who for who, _ in lines}
    assert heard == set(s.names)  # over two turns every kept voice is in the news
    assert "Gossip" in news(s)


def test_speech_that_is_empty_profane_an_echo_or_about_unheld_goods_becomes_what_the_orders_say():
    sell = [{"side": "sell", "good": "acorns", "qty": 2, "price": 5}]
    for line in ["", "Mushrooms for sale!", "One short line, at most 60 characters", "Acorns, you shit",
                 "over, no, no, no, no, no, no, no, no, no", "1.25, 1.25, 1.25, 2.5, 2.5"]:
        assert WoodAction.model_validate({"orders": sell, "say": line}).say == "Selling 2 acorns at 5"
    for line in ["Fresh acorns!", "A bag of acorns for a bag of acorns", "No, no, acorns are dear"]:
        assert WoodAction.model_validate({"orders": sell, "say": line}).say == line
    assert WoodAction.model_validate({"orders": [], "say": "Mushrooms!"}).say == ""
    many = [{"side": "buy", "good": g, "qty": 1, "price": 99} for g in ("honey", "berries", "mushrooms")]
    assert len(WoodAction.model_validate({"orders": many, "say": ""}).say) <= SAY_CHARS


def test_the_fast_profanity_check_finds_what_better_profanity_finds():
    words = sorted(str(w) for w in profanity.CENSOR_WORDSET)
    leet = str.maketrans({"a": "@", "i": "1", "o": "0", "e": "3", "s": "$", "t": "7"})
    lines = ([line.format(good=g, price=9) for line in trader.LINES.values() for g in GOODS]
             + words[::5] + [w.translate(leet) for w in words[1::9]] + [f"Acorns, you {w}!" for w in words[2::9]]
             + [f"{w[:2]}-{w[2:]} and honey" for w in words[3::17]]
             + ["Glass of honey", "classic acorns", "a fine d@y", "sh1t", "  two  spaces ", "x", ""])
    assert [profane(line) for line in lines] == [profanity.contains_profanity(line) for line in lines]
    assert sum(profane(line) for line in lines) > len(lines) // 3


def test_wealth_is_valued_at_clearing_prices_and_pebbles_have_their_own_gini(rng):
    world = WoodWorld(agents=5)
    s = world.initial_state(rng)
    s.stock[HONEY, HONEY] = 50
    before = s.wealth()
    s.prices[HONEY] = 99  # a quote nobody paid does not make the honey keeper rich
    assert (s.wealth() == before).all()
    m = world.metrics(s, [])
    assert m["gini"] > m["pebble_gini"] >= 0


def test_the_scripted_fisher_reads_the_lake_not_the_rules(rng):
    slow, fast = CommonsWorld(growth=0.05), CommonsWorld(growth=0.9)
    s = slow.initial_state(rng)
    s.last_regrowth = 40
    decisions = [d for w in (slow, fast) for d in w.heuristics(s, s.names, np.random.default_rng(1)).values()]
    assert decisions[:5] == decisions[5:]  # same lake seen, same catches, whatever the hidden growth
    assert temperaments(6, 0.5).count("greedy") == 3 and "greedy" not in temperaments(4, 0.0)
    assert temperaments(3, 1 / 3) == ["cautious", "fair", "greedy"]


def test_market_levers_narrow_the_schema_and_show_the_book(rng):
    import jsonschema

    from worlds.wood.actions import BAND, MAX_ORDERS

    world = WoodWorld(agents=5, levers="bands,budget,book,crossing")
    s = world.initial_state(rng)
    s.best_bid[HONEY], s.best_ask[0] = 8, 5
    clover = s.names[HONEY]
    schema = world.action_schema(s, clover)
    buys = [v["prefixItems"] for v in schema["properties"]["orders"]["items"]["anyOf"]
            if v["prefixItems"][0]["enum"] == ["buy"]]
    purse = int(s.pebbles[HONEY])
    for v in buys:
        k = GOODS.index(v[1]["enum"][0])
        qty, price = v[2]["maximum"], v[3]
        assert qty * price["maximum"] <= purse // MAX_ORDERS  # three such orders never outspend the purse
        assert BAND[0] * s.prices[k] - 1 <= price["minimum"] and price["maximum"] <= BAND[1] * s.prices[k] + 1
    example = world.suggestion(s, clover)
    # meets last turn's book: asks at the best bid, bids at least the best ask
    assert [o[3] for o in example["orders"] if o[0] == "sell"] == [8]
    assert all(o[3] >= s.best_ask[GOODS.index(o[1])] for o in example["orders"] if o[0] == "buy")
    jsonschema.validate(example, schema)
    assert "best bid/ask: acorns -/5, honey 8/-" in world.news(s)
    assert "best bid/ask" not in WoodWorld(agents=5).news(s)
