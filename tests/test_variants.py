"""Variant actions: a root anyOf of closed objects, and a pydantic tagged union, through decoding, parsing,
chaos, forms and check_world (tests/variant_world.py)."""
from __future__ import annotations

import json
from collections import Counter

import jsonschema
import numpy as np
import pytest

from agents.backends.chaos import ChaosBackend, crossed
from render.paint import form
from sim import Engine
from sim.checks import WorldCheckError, check_world
from sim.parse import parse
from sim.policy import Ask, Reply
from sim.schemas import decoding_problems, example, valid
from sim.variants import explain, for_decoding
from tests.variant_world import Act, Forage, PlainForage, closed

WORLDS = [Forage, PlainForage]


def at_start(world_class=Forage):
    world = world_class(agents=3)
    return world, world.initial_state(np.random.default_rng(0))


def decide(text, world_class=Forage, agent="f0"):
    world, state = at_start(world_class)
    return parse(Reply(text), world, state, agent)[0]


# --- decoding ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("world_class", WORLDS)
def test_a_root_union_of_closed_objects_is_decodable(world_class):
    world, state = at_start(world_class)
    assert decoding_problems(world.action_schema(state, "f0")) == []


def test_closing_the_root_beside_a_union_is_named_as_refusing_every_reply():
    schema = {"type": "object", "additionalProperties": False,
              "anyOf": [closed("move", to={"enum": ["north"]}), closed("gather")]}
    (problem,) = decoding_problems(schema)
    assert problem.startswith('#: "additionalProperties": false beside anyOf/oneOf refuses the keys the branches '
                              "add (do, to), so no reply fits")


def test_the_decoder_gets_anyof_without_discriminator_and_an_unchanged_schema_is_not_copied():
    sent = for_decoding(Act.model_json_schema())
    assert "oneOf" not in json.dumps(sent) and "discriminator" not in sent and len(sent["anyOf"]) == 3
    assert sent["$defs"] == Act.model_json_schema()["$defs"]
    world, state = at_start()
    plain = world.action_schema(state, "f0")
    assert for_decoding(plain) is plain


# --- parsing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("world_class", WORLDS)
def test_each_branch_parses_as_itself(world_class):
    for text in ('{"do": "move", "to": "east"}', '{"do": "gather"}', '{"do": "share", "to": "f1", "amount": 1}'):
        d = decide(text, world_class)
        assert d.status == "valid" and d.action == json.loads(text)


def test_a_reason_names_the_branch_aimed_for_and_what_broke_inside_it():
    assert decide('{"do": "share", "to": "f1", "amount": 9}').reason == \
        "outside its schema: share.amount: 9 is greater than the maximum of 1"
    assert decide('{"do": "share", "to": "f0", "amount": 1}').reason == \
        "outside its schema: share.to: 'f0' is not one of ['f1', 'f2']"
    assert decide('{"do": "move"}').reason == "invalid: move: 'to' is a required property"
    assert decide('{"do": "gather", "to": "f1"}').reason == \
        "invalid: gather: Additional properties are not allowed ('to' was unexpected)"
    assert decide('{"do": "fly"}').reason == "invalid: do: 'fly' is not one of 'move', 'gather', 'share'"
    assert decide('{"do": "share", "to": "f1", "amount": "x"}').reason == \
        "invalid: share.amount: 'x' is not of type 'integer'"


def test_without_a_tag_the_branch_with_fewest_errors_is_named():
    schema = {"anyOf": [{"type": "object", "title": "Walk", "additionalProperties": False, "required": ["steps"],
                         "properties": {"steps": {"type": "integer", "minimum": 1, "maximum": 3}}},
                        {"type": "object", "title": "Say", "additionalProperties": False, "required": ["line"],
                         "properties": {"line": {"type": "string", "maxLength": 5}}}]}
    assert explain(schema, {"line": "far too long"}) == "Say.line: 'far too long' is too long"
    assert explain(schema, {"steps": 9}) == "Walk.steps: 9 is greater than the maximum of 3"
    nested = {"type": "object", "properties": {"act": schema}}
    assert explain(nested, {"act": {"steps": 0}}) == "act.Walk.steps: 0 is less than the minimum of 1"
    untitled = {"anyOf": [{k: v for k, v in branch.items() if k != "title"} for branch in schema["anyOf"]]}
    assert explain(untitled, {"line": "far too long"}) == "line.line: 'far too long' is too long"  # by its keys
    assert [f.choices for f in form.fields(untitled) if f.chooses] == [("steps", "line")]


def test_a_key_a_branch_requires_is_required_although_the_action_has_a_default():
    d = decide('{"do": "share", "to": "f1"}')  # Share.amount defaults to 1; this agent's schema requires it
    assert d.status == "noop" and d.reason == "outside its schema: share: 'amount' is a required property"
    d = decide("{}")
    assert d.status == "noop" and d.reason == \
        "invalid: reply: 'do' is a required property, one of 'move', 'gather', 'share'"
    assert decide('{"do": "share", "to": "f1"}', PlainForage).status == "valid"  # the Action's schema grants it


# --- check_world -------------------------------------------------------------------------------------
@pytest.mark.parametrize("world_class", WORLDS)
def test_a_variant_world_passes_check_world(world_class):
    check_world(world_class(agents=3), turns=8)


def test_a_branch_that_admits_no_reply_is_caught_with_its_fix():
    class Stuck(Forage):
        name = "stuck-test"

        def action_schema(self, state, agent):
            schema = super().action_schema(state, agent)
            move = schema["anyOf"][0]
            schema["anyOf"][0] = {**move, "required": [*move["required"], "speed"]}  # a key it has no property for
            return schema

    with pytest.raises(WorldCheckError) as caught:
        check_world(Stuck(agents=3), turns=3)
    assert any(p.startswith("branch 'move' of the action schema for f0 at turn ? admits no reply (")
               and "'speed' is a required property" in p and "give every key a branch requires a property" in p
               for p in caught.value.problems)


# --- chaos -------------------------------------------------------------------------------------------
def test_chaos_sends_near_misses_of_every_branch_and_each_ends_as_a_noop_inside_the_schema():
    world = Forage(agents=4)
    engine = Engine(world, ChaosPolicy(), seed=5)
    reasons, valid_kinds = Counter(), Counter()
    for _ in range(30):
        state = engine.state
        turn = engine.step()
        for d in turn.decisions:
            assert valid(world.action_schema(state, d.agent), d.action)  # what is applied is inside the schema
            if d.status == "noop" and d.reason.startswith(("invalid: ", "outside its schema: ")):
                reasons[d.reason.split(": ")[1].split(".")[0]] += 1
            elif d.status == "valid":
                valid_kinds[d.action["do"]] += 1
    assert {"move", "gather", "share"} <= set(reasons)  # a near miss of each branch, named by it
    assert set(valid_kinds) == {"move", "gather", "share"}


def test_crossed_puts_one_branchs_reply_under_anothers_tag():
    world, state = at_start()
    schema = world.action_schema(state, "f0")
    rng = np.random.default_rng(1)
    drawn = [crossed({"do": "move", "to": "east"}, schema, rng) for _ in range(20)]
    assert {d["do"] for d in drawn} == {"gather", "share"} and all(d["to"] == "east" for d in drawn)
    assert all(not valid(schema, d) for d in drawn)


class ChaosPolicy:
    """The chaos backend as a policy: every agent every turn."""

    def __init__(self):
        self.backend = ChaosBackend(seed=5)

    def decide(self, turn, asks):
        from sim.policy import Batch

        return Batch({a.agent: r for a, r in zip(asks, self.backend.generate(turn, asks))})

    def describe(self, asks):
        return {}


# --- forms -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("world_class", WORLDS)
def test_the_form_chooses_a_branch_then_shows_its_fields_and_reads_back_every_branch(world_class):
    world, state = at_start(world_class)
    schema = world.action_schema(state, "f0")
    fields = form.fields(schema)
    assert fields[0].path == ("do",) and fields[0].chooses and fields[0].choices == ("move", "gather", "share")
    shown = [f.path for f, h in zip(fields, form.hidden(fields, form.defaults(fields))) if not h]
    assert shown == [("do",), ("to",)]  # move, the first branch: its direction and nothing of share
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(30):
        want = example(schema, rng)
        seen.add(want["do"])
        values = form.filled(fields, want)
        assert form.reply(fields, values) == want
        d = parse(Reply(json.dumps(want)), world, state, "f0")[0]
        assert d.status == "valid" or d.reason.startswith("infeasible: there is no other forager")  # PlainForage
    assert seen == {"move", "gather", "share"}


def test_a_union_without_a_tag_is_chosen_by_name_and_the_choice_is_not_sent():
    schema = {"anyOf": [{"type": "object", "title": "Walk", "additionalProperties": False, "required": ["steps"],
                         "properties": {"steps": {"type": "integer", "minimum": 1, "maximum": 3}}},
                        {"type": "object", "title": "Say", "additionalProperties": False, "required": ["line"],
                         "properties": {"line": {"type": "string", "maxLength": 5}}}]}
    fields = form.fields(schema)
    assert [(f.label, f.choices, f.sent) for f in fields][0] == ("action", ("Walk", "Say"), False)
    assert form.reply(fields, ["Say", 2, "hi"]) == {"line": "hi"}
    assert form.reply(fields, ["Walk", 2, "hi"]) == {"steps": 2}
    assert form.filled(fields, {"line": "hi"})[0] == "Say"
    jsonschema.validate(form.reply(fields, form.filled(fields, {"line": "hi"})), schema)


def test_the_seats_ask_for_a_variant_is_a_form_of_branches():
    world, state = at_start()
    ask = Ask(world, state, "f1", 0)
    fields = form.fields(ask.schema)
    values = form.filled(fields, {"do": "share", "to": "f2", "amount": 1})
    assert [f.path for f, h in zip(fields, form.hidden(fields, values)) if not h] == [("do",), ("to",), ("amount",)]


def test_a_union_inside_the_action_is_explained_in_the_branch_aimed_for_not_the_first():
    """The issue's case: a plain (smart) union under a key, where pydantic's first error is the first branch's
    literal mismatch."""
    from typing import Literal, Union

    from pydantic import BaseModel, ConfigDict, Field, field_validator

    from sim.world import Outcome, World

    class Stay(BaseModel):
        model_config = ConfigDict(extra="forbid")
        do: Literal["stay"]

    class Give(BaseModel):
        model_config = ConfigDict(extra="forbid")
        do: Literal["share"]
        amount: int = Field(ge=1, le=3)

    class Turn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        act: Union[Stay, Give]

    class Plain(World):
        name = "plain-union-test"
        Action = Turn

        def noop(self, agent):
            return Turn(act=Stay(do="stay"))

        def apply(self, state, actions, rng):
            return Outcome(state, [])

    d = parse(Reply('{"act": {"do": "share", "amount": 9}}'), Plain(), None, "a")[0]
    assert d.status == "noop" and d.reason == "invalid: act.share.amount: 9 is greater than the maximum of 3"

    class Even(Give):  # a rule only a validator knows: the schema sees nothing wrong, pydantic does
        @field_validator("amount")
        @classmethod
        def even(cls, amount):
            if amount % 2:
                raise ValueError("share an even amount")
            return amount

    class EvenTurn(Turn):
        act: Union[Stay, Even]

    class Evens(Plain):
        Action = EvenTurn

    d = parse(Reply('{"act": {"do": "share", "amount": 3}}'), Evens(), None, "a")[0]
    assert d.reason == "invalid: act.Even.amount: Value error, share an even amount"
