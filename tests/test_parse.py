"""Every reply ends as an action or a no-op with a reason: valid, repaired, or noop. Nothing raises."""
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.parse import parse
from sim.policy import Reply
from worlds.wood import WoodWorld

GOOD = {"orders": [{"side": "sell", "good": "acorns", "qty": 2, "price": 5},
                   {"side": "buy", "good": "honey", "qty": 1, "price": 12}], "say": "Acorns!"}


def decide(wood, text, agent="Bramble", error=None):  # Bramble makes acorns and holds 3
    state = wood.initial_state(__import__("numpy").random.default_rng(0))
    decision, action = parse(Reply(text, error=error), wood, state, agent)
    assert decision.action == action.model_dump(mode="json")
    return decision


def test_clean_json_is_valid(wood):
    d = decide(wood, json.dumps(GOOD))
    assert d.status == "valid" and d.reason is None
    assert d.action["orders"][0]["good"] == "acorns"


def test_malformed_json_is_repaired(wood):
    text = json.dumps(GOOD)[:-2].replace('"say"', "'say'") + ","
    d = decide(wood, text)
    assert d.status == "repaired" and d.reason.startswith("repaired")
    assert len(d.action["orders"]) == 2


def test_chatter_around_json_is_repaired(wood):
    d = decide(wood, "Sure! Here you go:\n```json\n" + json.dumps(GOOD) + "\n```")
    assert d.status == "repaired"


def test_wrong_types_and_out_of_range_become_noops_with_reasons(wood):
    d = decide(wood, '{"orders": "lots", "say": 12}')
    assert d.status == "noop" and "orders" in d.reason
    d = decide(wood, '{"orders": [{"side": "buy", "good": "honey", "qty": 1e309, "price": -5}]}')
    assert d.status == "noop" and d.reason.startswith("invalid")


def test_infeasible_orders_become_noops(wood):
    own = {"orders": [{"side": "buy", "good": "acorns", "qty": 1, "price": 3}], "say": ""}
    d = decide(wood, json.dumps(own))
    assert d.status == "noop" and d.reason == "infeasible: buys acorns, which it makes"
    unheld = {"orders": [{"side": "sell", "good": "honey", "qty": 1, "price": 3}], "say": ""}
    assert "holds none" in decide(wood, json.dumps(unheld)).reason


def test_missing_reply_keeps_the_backend_error_as_reason(wood):
    d = decide(wood, None, error="server timed out")
    assert d.status == "noop" and d.reason == "server timed out"
    assert d.action == {"orders": [], "say": ""}


def test_gossip_is_cut_to_one_short_printable_line(wood):
    d = decide(wood, json.dumps({"orders": [], "say": "line one\nline two\x00" + "x" * 500}))
    assert d.status == "valid"
    assert "\n" not in d.action["say"] and "\x00" not in d.action["say"] and len(d.action["say"]) <= 60


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                              lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                              max_leaves=20).map(lambda v: json.dumps(v))))
def test_no_reply_can_raise(text):
    d = decide(WoodWorld(agents=5), text)
    assert d.status in ("valid", "repaired", "noop")
    assert (d.status == "noop") == (d.reason is not None and not d.reason.startswith("repaired"))


def test_an_object_with_none_of_the_actions_fields_is_a_noop_not_a_repair(wood):
    d = decide(wood, json.dumps({"reply": GOOD}))
    assert d.status == "noop" and d.reason == "no field of the action in the reply"
