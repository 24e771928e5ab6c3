"""check_world's part on one agent's decision in one state: its observation, role and schema (decodable, each
branch of a variant answerable), its no-op, garbage replies, the worked example, and the world's own answers
(`heuristics`, and the batch path `own_actions` that reads them without parsing)."""
from __future__ import annotations

import json
from typing import Any

import jsonschema
import numpy as np
from pydantic import BaseModel

from sim.check_report import Report, dumps
from sim.parse import parse, parse_all
from sim.policy import Ask, Reply
from sim.schemas import decoding_problems, example
from sim.variants import branches, explain, name, tag
from sim.world import World

EXAMPLES_PER_ASK = 4
GARBAGE = [None, "", "   ", "not json at all", "[1, 2, 3]", "null", "42", '"just a string"', "{" * 200,
           "\x00\x01\x02\xff", '{"a": ' * 50]


def check_ask(world: World, state: Any, agent: str, rng: np.random.Generator, report: Report, decided: Any,
               garbage: bool):
    """One agent's hooks in one state; `decided`: what heuristics answered for it (None: nothing to check)."""
    at = f"for {agent} at turn {getattr(state, 'turn', '?')}"
    with report.guard(f"observe {at}", "return a short str for every live agent"):
        if not isinstance(world.observe(state, agent), str):
            report.add("observe must return text (str)")
    with report.guard(f"role {at}", "return a str (\"\" when the world has no groups)"):
        if not isinstance(world.role(state, agent), str):
            report.add("role must return a str")
    schema = None
    with report.guard(f"action_schema {at}", "return a valid JSON schema (Draft 2020-12) for every live agent"):
        candidate = world.action_schema(state, agent)
        jsonschema.Draft202012Validator.check_schema(candidate)
        schema = candidate
    if schema is None:
        return
    for problem in decoding_problems(schema):
        report.add(f"action_schema {problem}")
    validator = jsonschema.Draft202012Validator(schema)
    _check_branches(world, state, agent, schema, validator, rng, report, at)

    with report.guard(f"noop {at}", "return an instance of the world's Action"):
        noop = world.noop(agent)
        if not isinstance(noop, world.Action):
            report.add(f"noop must return a {world.Action.__name__}, got {type(noop).__name__}")
        else:
            dumped = noop.model_dump(mode="json")
            if not validator.is_valid(dumped):
                report.add(f"the no-op {dumped} is outside the action schema {at}: let the schema admit "
                           "doing nothing, so a model can choose it")
            if world.check(state, agent, noop):
                report.add(f"World.check rejects the no-op {at}: doing nothing must always be feasible")

    for _ in range(EXAMPLES_PER_ASK):
        with report.guard(f"generating an example from the action schema {at}",
                          "keep to the keywords listed in sim.schemas.DECODABLE"):
            reply = example(schema, rng)
            if not validator.is_valid(reply):
                continue  # a constraint our generator does not model; nothing to learn from this draw
            decision, _ = parse(Reply(json.dumps(reply)), world, state, agent)
            if decision.status == "noop" and not decision.reason.startswith("infeasible"):
                report.add(f"the action schema admits {json.dumps(reply)} {at} but parsing gives a no-op "
                           f"({decision.reason}): make the Action model accept everything the schema admits")

    if decided is not None:
        with report.guard(f"heuristics {at}", "answer a JSON-able action dict for every agent"):
            _sent_as_reply(world, state, agent, decided, validator, report, f"heuristics {at} answers",
                           "the scripted baseline must obey the schema models obey",
                           "return exactly the Action's fields, feasible now")

    with report.guard(f"suggestion {at}", "return None or the action dict this agent's prompt shows as its example"):
        shown = world.suggestion(state, agent)
        if shown is not None:
            decision = _sent_as_reply(world, state, agent, shown, validator, report, f"suggestion {at} is",
                                      "a model that copies the example must be able to send it",
                                      "show an example the agent can do now")
            if decision.status == "valid" and not isinstance(world.parts(decision.action), dict):
                report.add(f"parts {at} returned a {type(world.parts(decision.action)).__name__}: return "
                           "{name: value} of the action's parts")

    if garbage:
        expected = world.noop(agent).model_dump(mode="json")
        for text in GARBAGE:
            decision, action = parse(Reply(text), world, state, agent)
            if action.model_dump(mode="json") != expected:  # a junk object may be "repaired" into the no-op
                report.add(f"garbage reply {text!r:.40} became {decision.status} {decision.action}, not the "
                           "no-op: give Action fields no defaults that make junk a valid action")


def _check_branches(world: World, state: Any, agent: str, schema: dict, validator, rng: np.random.Generator,
                    report: Report, at: str) -> None:
    """Each branch of a root union (a variant action) admits some reply that the whole schema admits and that
    parses: a branch that admits none is an action no model can take."""
    defs = schema.get("$defs", {})
    options = branches(schema, defs) or []
    for k, option in enumerate(options):
        label = name(options, k, tag(options, defs), defs)
        with report.guard(f"generating a reply of branch {label!r} {at}", "keep to the keywords in sim.schemas.DECODABLE"):
            drawn = [example({**option, "$defs": defs}, rng) for _ in range(EXAMPLES_PER_ASK)]
            inside = [d for d in drawn if validator.is_valid(d)]
            if not inside:
                report.add(f"branch {label!r} of the action schema {at} admits no reply ({json.dumps(drawn[0])[:80]}: "
                           f"{explain(schema, drawn[0])}): give every key a branch requires a property, and close "
                           "each branch with additionalProperties: false inside it, not beside the union",
                           key=("no reply", label))
                continue
            decision, _ = parse(Reply(json.dumps(inside[0])), world, state, agent)
            if decision.status == "noop" and not decision.reason.startswith("infeasible"):
                report.add(f"branch {label!r} of the action schema {at} admits {json.dumps(inside[0])[:80]} but "
                           f"parsing gives a no-op ({decision.reason}): make the Action's union accept each branch",
                           key=("branch refused", label))


def _sent_as_reply(world: World, state: Any, agent: str, action: dict, validator, report: Report, what: str,
                   outside: str, refused: str):
    """An action dict the world itself wrote (heuristics' answers, its worked example), checked as a model's reply
    would be: inside the agent's schema, and valid through the parse path. Returns the parse's Decision."""
    if not validator.is_valid(action):
        error = jsonschema.exceptions.best_match(validator.iter_errors(action))
        report.add(f"{what} {json.dumps(action)[:160]}, outside its action schema ({error.message[:120]}): {outside}")
    decision, _ = parse(Reply(json.dumps(action)), world, state, agent)
    if decision.status != "valid":
        report.add(f"{what} {json.dumps(action)[:80]}, which became {decision.status} ({decision.reason}): {refused}")
    return decision


def check_heuristics(world: World, state: Any, seed: int, report: Report) -> dict:
    """heuristics answers for exactly the agents it is given (all of them, or one alone, as a council that
    seats some agents elsewhere asks), and the same rng gives the same answers. Returns its answers for all
    the agents ({} when it failed)."""
    agents = list(world.agents(state))
    with report.guard("heuristics", "heuristics(state, agents, rng) must return {agent: action dict} for every "
                      "agent given"):
        decided = world.heuristics(state, list(agents), np.random.default_rng(seed))
        alone = world.heuristics(state, agents[-1:], np.random.default_rng(seed))
        for asked, answered in ((agents, decided), (agents[-1:], alone)):
            if not isinstance(answered, dict) or set(answered) != set(asked):
                got = sorted(map(str, answered))[:4] if isinstance(answered, dict) else type(answered).__name__
                report.add(f"heuristics asked for {asked[:4]}{'...' if len(asked) > 4 else ''} answered for {got}: "
                           "return {agent: action dict} for exactly the agents given")
                return {}
        if dumps(world.heuristics(state, list(agents), np.random.default_rng(seed))) != dumps(decided):
            report.add("heuristics(state, agents, rng) answered differently given an rng seeded alike: draw chance "
                       "only from rng, in a fixed order (no sets, no id(), no clock)")
        _check_own(world, state, agents, [decided[a] for a in agents], report)
        return decided
    return {}


def _check_own(world: World, state: Any, agents: list[str], decided: list, report: Report) -> None:
    """Each of the world's own decisions read by the batch path (own_actions) gives the decision and the action
    parsing its text gives."""
    asks = [Ask(world, state, a, getattr(state, "turn", 0)) for a in agents]
    replies = [Reply(json.dumps(d), own=d) for d in decided]
    with report.guard("own_actions", "own_actions(state, agents, decided) must return one (Action, dump) or None "
                      "per agent"):
        read = world.own_actions(state, list(agents), decided)
        if len(read) != len(agents):
            report.add(f"own_actions answered for {len(read)} of {len(agents)} agents: answer for each, None "
                       "where unsure")
            return
        for k, (reply, agent, ask) in enumerate(zip(replies, agents, asks)):
            if read[k] is None:
                continue
            fast = parse_all([reply], world, state, [agent], [ask])[0]
            slow = parse(Reply(reply.text), world, state, agent, ask)
            if _same_reading(fast, slow):
                continue
            report.add(f"own_actions reads {agent}'s {reply.text[:120]} at turn {ask.turn} as {fast[0].status} "
                       f"{json.dumps(fast[0].action)[:120]}, parsing its text gives {slow[0].status} "
                       f"{json.dumps(slow[0].action)[:120]} ({slow[0].reason}): return None where the text "
                       "would not parse as valid as is, and the action exactly as validation builds it",
                       key="own_actions differs")
            return


def _same_reading(fast: tuple, slow: tuple) -> bool:
    (d1, a1), (d2, a2) = fast, slow
    return (dumps(vars(d1)) == dumps(vars(d2)) and type(a1) is type(a2) and a1 == a2
            and a1.model_fields_set == a2.model_fields_set
            and dumps(a1.model_dump(mode="json")) == dumps(a2.model_dump(mode="json")))


def heuristic_action(world: World, state: Any, agent: str, decided: dict) -> BaseModel:
    """heuristics' action through the parse path, or the no-op (heuristics' failures are reported elsewhere)."""
    try:
        reply = Reply(json.dumps(decided[agent]))
    except Exception:
        return world.noop(agent)
    return parse(reply, world, state, agent)[1]
