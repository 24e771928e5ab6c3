"""Every reply ends as an action or a no-op with a reason: valid, repaired, or noop. Nothing raises."""
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pydantic import BaseModel, ConfigDict, Field

from sim import Outcome, World
from sim.parse import parse
from sim.policy import Ask, Reply
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
    assert d.action["orders"][0][1] == "acorns"  # recorded as a model writes it: [side, good, qty, price]


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


def test_orders_the_creatures_schema_forbids_become_noops(wood):
    own = {"orders": [{"side": "buy", "good": "acorns", "qty": 1, "price": 3}], "say": ""}
    d = decide(wood, json.dumps(own))
    assert d.status == "noop" and d.reason.startswith("outside its schema: orders.0")
    unheld = {"orders": [{"side": "sell", "good": "honey", "qty": 1, "price": 3}], "say": ""}
    assert decide(wood, json.dumps(unheld)).reason.startswith("outside its schema: orders.0")


def test_what_no_schema_can_say_is_left_to_check_and_the_world_keeps_the_orders_it_can(wood):
    state = wood.initial_state(__import__("numpy").random.default_rng(0))
    state.stock[0, 1] = 2  # Bramble now holds honey, so the schema admits both selling and buying it
    both = {"orders": [["sell", "honey", 1, 9], ["buy", "berries", 2, 4], ["buy", "honey", 1, 3]]}
    d, action = parse(Reply(json.dumps(both)), wood, state, "Bramble")
    assert wood.check(state, "Bramble", wood.Action.model_validate(both)) == "both buys and sells honey"
    assert d.status == "repaired"
    assert d.reason == "repaired: left out buy honey 1 at 3 (both buys and sells honey)"
    assert d.action["orders"] == [["sell", "honey", 1, 9], ["buy", "berries", 2, 4]]
    assert wood.check(state, "Bramble", action) is None


def test_a_refused_deal_is_not_mended_into_something_else(wood):
    state = wood.initial_state(__import__("numpy").random.default_rng(0))
    stranger = {"orders": [["buy", "berries", 1, 4]], "offer": {"to": "Nobody", "good": "acorns", "qty": 1, "price": 2}}
    action = wood.Action.model_validate(stranger)
    assert wood.check(state, "Bramble", action) and wood.mend(state, "Bramble", action) is None
    d = parse(Reply(json.dumps(stranger)), wood, state, "Bramble")[0]
    assert d.status == "noop" and d.reason.startswith(("infeasible", "outside its schema"))


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


# --- the agent's own schema --------------------------------------------------------------------------
class Bid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bid: int = Field(default=0, ge=0, le=1000)
    to: str = Field(default="", max_length=10)


class Auction(World):
    """A bid of at most your budget, a note to someone else: bounds only the per-agent schema states."""

    name = "auction-test"
    Action = Bid

    def initial_state(self, rng) -> dict:
        return {"budget": {"ann": 100, "bob": 40}}

    def agents(self, state):
        return list(state["budget"])

    def observe(self, state, agent):
        return ""

    def noop(self, agent):
        return Bid()

    def action_schema(self, state, agent):
        others = [a for a in state["budget"] if a != agent]
        return {"type": "object", "additionalProperties": False, "required": ["bid", "to"],
                "properties": {"bid": {"type": "integer", "minimum": 0, "maximum": state["budget"][agent]},
                               "to": {"enum": ["", *others]}}}

    def apply(self, state, actions, rng):
        return Outcome(state, [])


def auction_decision(text, agent="ann", with_ask=False):
    world = Auction()
    state = world.initial_state(None)
    ask = Ask(world, state, agent, 0) if with_ask else None
    return parse(Reply(text), world, state, agent, ask)[0]


def test_a_reply_outside_the_agents_own_schema_is_a_noop_saying_where():
    d = auction_decision('{"bid": 999, "to": "bob"}')
    assert d.status == "noop" and d.action == {"bid": 0, "to": ""}
    assert d.reason == "outside its schema: bid: 999 is greater than the maximum of 100"
    d = auction_decision('{"bid": 5, "to": "ann"}')
    assert d.status == "noop" and d.reason.startswith("outside its schema: to: 'ann' is not one of")
    assert auction_decision('{"bid": 50, "to": "ann"}', agent="bob", with_ask=True).reason.startswith(
        "outside its schema: bid: 50 is greater")


def test_a_reply_inside_it_stays_valid_or_repaired():
    assert auction_decision('{"bid": 100, "to": "bob"}', with_ask=True).status == "valid"
    assert auction_decision("{'bid': 7, 'to': 'bob',}").status == "repaired"


def test_a_key_the_schema_requires_is_required_of_the_reply_whatever_the_actions_defaults():
    d = auction_decision('{"bid": 7}')  # Bid has a default for "to"; the schema requires it
    assert d.status == "noop" and d.reason == "outside its schema: reply: 'to' is a required property"
    d = auction_decision("{}", with_ask=True)
    assert d.status == "noop" and d.reason == "outside its schema: reply: 'bid' is a required property"

    class Lenient(Auction):  # a schema that does not require "to": leaving it out is the default, as before
        def action_schema(self, state, agent):
            return {**super().action_schema(state, agent), "required": ["bid"]}

    world = Lenient()
    d = parse(Reply('{"bid": 7}'), world, world.initial_state(None), "ann")[0]
    assert d.status == "valid" and d.action == {"bid": 7, "to": ""}


def test_a_schema_with_keywords_beyond_the_fast_check_is_still_enforced():
    class Patterned(Auction):
        def action_schema(self, state, agent):
            schema = super().action_schema(state, agent)
            schema["properties"]["to"] = {"type": "string", "pattern": "^b"}  # jsonschema decides this one
            return schema

    world = Patterned()
    state = world.initial_state(None)
    assert parse(Reply('{"bid": 3, "to": "bob"}'), world, state, "ann")[0].status == "valid"
    d = parse(Reply('{"bid": 3, "to": "ann"}'), world, state, "ann")[0]
    assert d.status == "noop" and d.reason == "outside its schema: to: 'ann' does not match '^b'"


def test_an_action_with_aliases_is_checked_by_its_aliases_and_recorded_by_its_names():
    class Aliased(BaseModel):
        model_config = ConfigDict(extra="forbid")
        bid: int = Field(default=0, ge=0, le=1000, alias="amount")

    class Auctioned(Auction):
        Action = Aliased

        def noop(self, agent):
            return Aliased()

        def action_schema(self, state, agent):
            return {"type": "object", "additionalProperties": False, "required": ["amount"],
                    "properties": {"amount": {"type": "integer", "minimum": 0, "maximum": state["budget"][agent]}}}

    world = Auctioned()
    state = world.initial_state(None)
    d = parse(Reply('{"amount": 30}'), world, state, "bob")[0]
    assert d.status == "valid" and d.action == {"bid": 30}
    d = parse(Reply('{"amount": 50}'), world, state, "bob")[0]
    assert d.status == "noop" and d.reason == "outside its schema: amount: 50 is greater than the maximum of 40"


def test_a_world_whose_schema_hook_raises_gets_noops_not_a_crash():
    class Broken(Auction):
        def action_schema(self, state, agent):
            raise RuntimeError("no schema today")

    d = parse(Reply('{"bid": 3}'), Broken(), {"budget": {"ann": 1}}, "ann")[0]
    assert d.status == "noop" and d.reason == "parse error: RuntimeError: no schema today"
