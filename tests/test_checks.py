"""check_world: every registered world passes it, and each kind of broken world is caught with a message
that names the fix."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import jsonschema
import numpy as np
import pytest
from pydantic import BaseModel
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.checks import WorldCheckError, check_world
from sim.portrayal import portrait
from sim.registry import get_world, world_names
from sim.schemas import decoding_problems, example, valid
from sim.world import World
from worlds.template import Guess, GuessState, GuessWorld


@pytest.mark.parametrize("name", world_names())
def test_every_registered_world_passes(name):
    check_world(get_world(name)(), seed=0, turns=20)


def test_worlds_pass_with_other_sizes_and_seeds():
    check_world(get_world("wood")(agents=12), seed=3, turns=12)
    check_world(get_world("commons")(agents=2, growth=1.0), seed=5, turns=25)


# --- broken worlds: one defect each, built from the template ---------------------------------------------
class MutatingApply(GuessWorld):
    def apply(self, state, actions, rng):
        outcome = super().apply(state, actions, rng)
        state.scores[next(iter(state.scores))] += 1  # the bug: writes into the state it was given
        return outcome


class SchemaTooWide(GuessWorld):
    def action_schema(self, state, agent):
        # admits guesses up to 1000, but the Action only takes 0..100: decoded replies would be thrown away
        return {"type": "object", "properties": {"guess": {"type": "integer", "minimum": 0, "maximum": 1000}},
                "required": ["guess"], "additionalProperties": False}


class UnboundedSchema(GuessWorld):
    def action_schema(self, state, agent):
        return {"type": "object", "properties": {"guess": {"type": "integer", "minimum": 0, "maximum": 100},
                                                 "note": {"type": "string", "pattern": "^[a-z]*$"}},
                "required": ["guess"]}


class InvalidSchema(GuessWorld):
    def action_schema(self, state, agent):
        return {"type": "object", "properties": {"guess": {"type": "integr"}}}


class Forgetful(GuessWorld):
    def heuristics(self, state, agents, rng):
        return {a: {"guess": int(time.perf_counter_ns() % 101)} for a in agents}  # the bug: chance not from rng


class AnswersForAll(GuessWorld):
    def heuristics(self, state, agents, rng):
        return {a: {"guess": 1} for a in self.agents(state)}  # the bug: answers for agents nobody asked about


class OutsideTheSchema(GuessWorld):
    def heuristics(self, state, agents, rng):
        return {a: {"guess": 101} for a in agents}  # the bug: a guess the schema refuses


class StillSingular(GuessWorld):
    heuristics = World.heuristics  # as a world written before the one hook: its own `heuristic`, never called

    def heuristic(self, state, agent, rng):
        return {"guess": 33}


class OwnReadWrong(GuessWorld):
    def own_actions(self, state, agents, decided):
        # the bug: the batch path reads every guess one higher than parsing its text does
        return [(Guess(guess=min(d["guess"] + 1, 100)), {"guess": min(d["guess"] + 1, 100)}) for d in decided]


class NoopOutsideSchema(GuessWorld):
    def noop(self, agent):
        return Guess.model_construct(guess=500)


class Cheating(GuessWorld):
    def apply(self, state, actions, rng):
        outcome = super().apply(state, actions, rng)
        scores = {a: s + 2 for a, s in outcome.state.scores.items()}  # points from nowhere
        return replace(outcome, state=replace(outcome.state, scores=scores))


class NumpyMetrics(GuessWorld):
    def metrics(self, state, events):
        return {"best": np.int64(max(state.scores.values())), "label": "text is not a number"}


class Amnesiac(GuessWorld):
    def from_json(self, data):
        state = super().from_json(data)
        return replace(state, scores=dict.fromkeys(state.scores, 0))  # the bug: a resumed run loses the scores


@dataclass
class SeenState(GuessState):
    seen: set = field(default_factory=set)  # sets have no JSON form


class SetInState(GuessWorld):
    def initial_state(self, rng) -> SeenState:
        return SeenState(turn=0, scores={"a": 0, "b": 0}, seen={"a"})


class ImpossibleExample(GuessWorld):
    def suggestion(self, state, agent):
        return {"guess": 500}  # the bug: a model that copies the example is refused


class LooseParams(BaseModel):  # no extra="forbid", no description
    points: int = 1


class LooseParamsWorld(GuessWorld):
    Params = LooseParams


class RenamesParams(GuessWorld):
    def __init__(self, agents=None, score=1):
        super().__init__(agents, points=score)  # the bug: a header records "points", which this cannot take


@pytest.mark.parametrize("world, fix", [
    (LooseParamsWorld(), "model_config = ConfigDict(extra='forbid')"),
    (LooseParamsWorld(), "parameter 'points' has no description"),
    (RenamesParams(), "__init__ must take every parameter of Params under its own name"),
    (MutatingApply(), "apply mutated its input state: start apply with a copy"),
    (SchemaTooWide(), "make the Action model accept everything the schema admits"),
    (UnboundedSchema(), "strings need maxLength"),
    (UnboundedSchema(), "do not support ['pattern']"),
    (UnboundedSchema(), '"additionalProperties": false'),
    (InvalidSchema(), "action_schema for player0 at turn 0 raised SchemaError: 'integr' is not valid"),
    (Forgetful(), "draw randomness only from the rng"),
    (ImpossibleExample(), "a model that copies the example must be able to send it"),
    (Forgetful(), "answered differently given an rng seeded alike"),
    (AnswersForAll(), "answered for ['player0', 'player1', 'player2']: return {agent: action dict} for exactly"),
    (OutsideTheSchema(), "heuristics for player0 at turn 0 answers {\"guess\": 101}, outside its action schema"),
    (StillSingular(), "rename it to heuristics(state, agents, rng)"),
    (OwnReadWrong(), "own_actions must give exactly what parsing gives, or None where unsure"),
    (OwnReadWrong(), "return None where the text would not parse as valid as is"),
    (NoopOutsideSchema(), "let the schema admit doing nothing"),
    (Cheating(), "invariant broken at turn 0 (scripted run): points appeared from nowhere"),
    (NumpyMetrics(), "metrics must be numbers or dicts of numbers"),
    (NumpyMetrics(), "convert numpy values with int(), float() or .tolist()"),
    (Amnesiac(), "from_json(to_json(state)) differs from state"),
    (SetInState(), "to_json(state) is not plain JSON (Object of type set is not JSON serializable)"),
])
def test_broken_worlds_are_caught_with_their_fix(world, fix):
    with pytest.raises(WorldCheckError) as caught:
        check_world(world, turns=5)
    assert any(fix in problem for problem in caught.value.problems), str(caught.value)


def test_every_problem_is_listed_at_once():
    class TwoBugs(MutatingApply, SchemaTooWide):
        pass

    with pytest.raises(WorldCheckError) as caught:
        check_world(TwoBugs(), turns=3)
    message = str(caught.value)
    assert "apply mutated" in message and "accept everything the schema admits" in message
    assert message.startswith("world 'template' failed")


class CrashingApply(GuessWorld):
    def apply(self, state, actions, rng):
        if state.turn >= 2:
            return self._settle_round(state)
        return super().apply(state, actions, rng)

    def _settle_round(self, state):
        scores = {}
        return scores["player0"]  # the bug, two calls deep inside the world


def test_a_hook_that_crashes_shows_its_own_traceback():
    """Not "see the traceback" with none to see: the problem carries the frames where the world failed."""
    with pytest.raises(WorldCheckError) as caught:
        check_world(CrashingApply(), turns=4)
    (crash,) = [p for p in caught.value.problems if p.startswith("the scripted run raised KeyError")]
    assert "Traceback (most recent call last)" in crash and "in _settle_round" in crash
    assert 'return scores["player0"]  # the bug' in crash and __file__ in crash
    assert "traceback below" in crash.splitlines()[0]
    assert "\n    Traceback" in str(caught.value)  # indented under its problem in the message


def test_a_world_without_an_action_model_stops_early():
    class Nothing(GuessWorld):
        Action = dict

    with pytest.raises(WorldCheckError, match="set the class attribute `Action`"):
        check_world(Nothing())


# --- the schema tools check_world is built on -----------------------------------------------------------
RICH = {
    "type": "object",
    "$defs": {"Order": {"type": "object", "additionalProperties": False, "required": ["side", "qty"],
                        "properties": {"side": {"enum": ["buy", "sell"]},
                                       "qty": {"type": "integer", "minimum": 1, "maximum": 9}}}},
    "properties": {
        "orders": {"type": "array", "maxItems": 3, "items": {"$ref": "#/$defs/Order"}},
        "say": {"type": "string", "maxLength": 12},
        "mood": {"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}]},
        "sure": {"type": "boolean"},
    },
    "required": ["orders"],
    "additionalProperties": False,
}


def test_a_decodable_schema_has_no_problems():
    assert decoding_problems(RICH) == []
    assert decoding_problems(Guess.model_json_schema()) == []


def test_decoding_problems_name_the_place_and_the_fix():
    problems = decoding_problems({"type": "object", "additionalProperties": False,
                                  "properties": {"n": {"type": "integer"}, "xs": {"type": "array", "items": {}}}})
    assert any(p.startswith("#/properties/n: numbers need minimum and maximum") for p in problems)
    assert any(p.startswith("#/properties/xs: arrays need maxItems") for p in problems)
    (root,) = decoding_problems({"type": "array"})
    assert root.startswith('the root must be {"type": "object", ...}, or a union of such objects')


SCHEMAS = [RICH, Guess.model_json_schema(), get_world("commons")().action_schema(
    get_world("commons")().initial_state(np.random.default_rng(0)), "Marta")]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_examples_are_valid_under_their_schema(seed):
    rng = np.random.default_rng(seed)
    for schema in SCHEMAS:
        jsonschema.validate(example(schema, rng), schema)


def _mutations(value, rng):
    """Near misses of a valid value: each leaf pushed past its bounds or to another type, keys removed and added."""
    if isinstance(value, dict):
        for k in value:
            yield {key: v for key, v in value.items() if key != k}
            for bad in _mutations(value[k], rng):
                yield {**value, k: bad}
        yield {**value, "extra": 1}
    elif isinstance(value, list):
        yield value + value[:1] * 5
        for i, item in enumerate(value):
            for bad in _mutations(item, rng):
                yield value[:i] + [bad] + value[i + 1:]
    elif isinstance(value, bool):
        yield int(value)
    elif isinstance(value, (int, float)):
        yield from (value + 1, value - 1, value + 1000, value - 1000, float(value), float(value) + 0.5, str(value), True)
    elif isinstance(value, str):
        yield from (value + "x" * 100, 3, None)
    else:
        yield from (0, "", False)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_the_fast_check_agrees_with_jsonschema_on_world_schemas(seed):
    rng = np.random.default_rng(seed)
    wood = get_world("wood")(agents=6)
    state = wood.initial_state(rng)
    schemas = SCHEMAS + [wood.action_schema(state, a) for a in wood.agents(state)[:3]]
    for schema in schemas:
        validator = jsonschema.Draft202012Validator(schema)
        good = example(schema, rng)
        assert valid(schema, good) is True and validator.is_valid(good)
        for bad in _mutations(good, rng):
            assert valid(schema, bad) == validator.is_valid(bad), (schema, bad)


# generated schemas over every keyword in DECODABLE, and JSON values near their edges
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-4, 4) | st.sampled_from([0.0, 1.0, 1.5, -2.5, 3.0])
    | st.text("ab", max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("abcd"), inner, max_size=3),
    max_leaves=8)
BOUND = st.integers(-3, 3) | st.sampled_from([0.5, 1.0, 2.5])
LENGTH = st.integers(0, 3)
KINDS = ["object", "array", "string", "integer", "number", "boolean", "null"]
LEAF_SCHEMAS = st.one_of(
    st.fixed_dictionaries({"type": st.just("integer")}, optional={"minimum": BOUND, "maximum": BOUND,
                                                                   "title": st.just("n")}),
    st.fixed_dictionaries({"type": st.just("number")}, optional={
        "minimum": BOUND, "maximum": BOUND, "exclusiveMinimum": BOUND, "exclusiveMaximum": BOUND}),
    st.fixed_dictionaries({"type": st.just("string")}, optional={
        "minLength": LENGTH, "maxLength": LENGTH, "enum": st.lists(st.text("ab", max_size=2), min_size=1, max_size=3),
        "description": st.just("d")}),
    st.fixed_dictionaries({"enum": st.lists(JSON_VALUES, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"const": JSON_VALUES}),
    st.fixed_dictionaries({"type": st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True)},
                          optional={"minimum": BOUND, "maxLength": LENGTH, "maxItems": LENGTH}),
    st.fixed_dictionaries({"type": st.sampled_from(KINDS)}),
    st.booleans(),
    st.just({}),
)


def _nested(inner):
    names = st.sampled_from("abcd")
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("object")}, optional={
            "properties": st.dictionaries(names, inner, max_size=3), "required": st.lists(names, max_size=2, unique=True),
            "additionalProperties": st.booleans() | inner, "title": st.just("t")}),
        st.fixed_dictionaries({}, optional={"properties": st.dictionaries(names, inner, max_size=2),
                                            "additionalProperties": st.booleans() | inner,
                                            "required": st.lists(names, max_size=2, unique=True)}),
        st.fixed_dictionaries({"type": st.just("array")}, optional={
            "prefixItems": st.lists(inner, max_size=3), "items": inner, "minItems": LENGTH, "maxItems": LENGTH}),
        st.fixed_dictionaries({}, optional={"prefixItems": st.lists(inner, max_size=2), "items": inner,
                                            "minItems": LENGTH}),
        *(st.fixed_dictionaries({key: st.lists(inner, min_size=1, max_size=3)}, optional={"type": st.sampled_from(KINDS)})
          for key in ("anyOf", "oneOf", "allOf")),
    )


GENERATED_SCHEMAS = st.recursive(LEAF_SCHEMAS, _nested, max_leaves=10)
ROOTS = GENERATED_SCHEMAS | st.builds(  # $ref into the root's $defs, beside other keywords
    lambda d, other: {"$defs": {"d": d}, "anyOf": [{"$ref": "#/$defs/d"}, other]}, GENERATED_SCHEMAS, GENERATED_SCHEMAS)


@settings(max_examples=200, deadline=None)
@given(ROOTS, st.lists(JSON_VALUES, max_size=4), st.integers(0, 2**32 - 1))
def test_the_fast_check_agrees_with_jsonschema_on_generated_schemas(schema, values, seed):
    validator = jsonschema.Draft202012Validator(schema)
    rng = np.random.default_rng(seed)
    try:
        values = values + [example(schema, rng)] if isinstance(schema, dict) else values
    except (ValueError, TypeError, KeyError):
        pass  # a schema example() cannot draw from (e.g. allOf of several): the generated values remain
    for value in values:
        near = [value] + list(_mutations(value, rng))
        for v in near:
            assert valid(schema, v) == validator.is_valid(v), (schema, v)


def test_schemas_with_other_keywords_are_left_to_jsonschema():
    assert valid({"type": "object", "patternProperties": {"^a": {"type": "string"}}}, {"a": 1}) is None
    assert valid({"type": "string", "pattern": "^a"}, "b") is None
    assert valid({"type": "object", "properties": {"a": {"type": "string", "pattern": "^a"}}}, {}) is True  # not reached


def test_the_template_state_round_trips():
    world = GuessWorld()
    state = GuessState(turn=3, scores={"a": 1, "b": 0}, target=12.5)
    assert world.from_json(world.to_json(state)) == state


class Blinking(GuessWorld):
    """player0 sits out every odd turn: it leaves, then comes back under the same name."""

    def agents(self, state):
        return [a for a in state.scores if not (a == "player0" and state.turn % 2)]


class Forgetful(GuessWorld):
    """player0 leaves for good after turn 2 (its score is struck off), and a reward that looks it up raises."""

    def agents(self, state):
        return list(state.scores)

    def apply(self, state, actions, rng):
        outcome = super().apply(state, actions, rng)
        if outcome.state.turn == 3:
            scores = {a: s for a, s in outcome.state.scores.items() if a != "player0"}
            outcome.state = replace(outcome.state, scores={**scores, "player3": 0})
        return outcome

    def invariants(self, state, previous, events):
        return []

    def reward(self, state, previous, agent):
        return float(state.scores[agent] - previous.scores[agent])

    def portray(self, turn):  # every agent that decided, without asking the world who is still here
        return portrait(turn)


def test_agents_that_come_and_go_are_checked_only_where_they_do():
    with pytest.raises(WorldCheckError) as caught:
        check_world(Blinking(), turns=6)
    assert "player0 left at turn 0 and came back at turn 1: give a newcomer a name never used before" in \
        str(caught.value)
    with pytest.raises(WorldCheckError) as caught:
        check_world(Forgetful(), turns=6)
    problems = caught.value.problems
    assert any(p.startswith("reward for player0, who left at turn 2, raised KeyError: 'player0' (fix: reward("
                            "state, previous, agent) is called for every agent that acted in `previous`, also one "
                            "that left") for p in problems), problems
    assert any("portray still draws player0 after they left at turn 2" in p for p in problems)
    check_world(GuessWorld(), turns=6)  # nobody comes or goes: only its rewards are asked for
