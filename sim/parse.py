"""Reply text -> action. Never raises: a reply that cannot be used becomes the agent's no-op, with a reason.

    reply -> strict JSON parse of the Action model          -> valid
          -> json-repair, then validation of the Action     -> repaired
          -> this agent's own schema (bounds for it, now)   -> outside its schema -> noop(reason)
          -> world.check (can this agent do this now?)      -> infeasible -> noop(reason)

The schema step matters for every backend that does not constrain decoding (HTTP servers that ignore
response_format, chaos, PettingZoo, scripted heuristics): the Action model is the same for all agents, while
action_schema narrows it per agent (a bid within this bidder's budget), and only the schema knows that.
"""
from __future__ import annotations

import json
from typing import Any

import json_repair
import jsonschema
from pydantic import BaseModel, ValidationError

from sim.policy import Ask, Reply
from sim.records import Decision
from sim.schemas import compile_check
from sim.world import World

MAX_REPLY_CHARS = 20_000  # longer replies are cut before repair: repair time grows with length
VALIDATORS = 4096  # distinct schemas kept compiled (the wood has one per trade x holding pattern)


def parse(reply: Reply, world: World, state: Any, agent: str, ask: Ask | None = None) -> tuple[Decision, BaseModel]:
    """The action a reply describes, or the agent's no-op with the reason it could not be used.
    `ask`: the agent's Ask this turn, whose schema (computed once) the backend may have used already;
    without it the world is asked for the schema. Returns the trace record and the Action instance to apply."""
    try:
        return _parse(reply, world, state, agent, ask)
    except Exception as exc:  # a world's check or validator misbehaving must not end the turn either
        return _noop(reply, world, agent, f"parse error: {type(exc).__name__}: {exc}")


def _parse(reply: Reply, world: World, state: Any, agent: str, ask: Ask | None) -> tuple[Decision, BaseModel]:
    text = reply.text
    if text is None:
        return _noop(reply, world, agent, reply.error or "no reply")
    if not text.strip():
        return _noop(reply, world, agent, "empty reply")
    status, reason = "valid", None
    try:
        action = world.Action.model_validate_json(text)
    except ValidationError as strict_error:
        data = _repair(text[:MAX_REPLY_CHARS])
        if not isinstance(data, dict):
            return _noop(reply, world, agent, "reply is not a JSON object")
        try:
            action = world.Action.model_validate(data)
        except ValidationError as exc:
            return _noop(reply, world, agent, "invalid: " + _first_error(exc))
        status, reason = "repaired", "repaired: " + _first_error(strict_error)
    if not action.model_fields_set and _repair(text[:MAX_REPLY_CHARS]):
        # keys, but none the Action knows (e.g. {"reply": {...}}): junk that merely validates as defaults
        return _noop(reply, world, agent, "no field of the action in the reply")
    outside = _outside_schema(world, state, agent, action, ask)
    if outside:
        return _noop(reply, world, agent, "outside its schema: " + outside)
    problem = world.check(state, agent, action)
    if problem:
        return _noop(reply, world, agent, "infeasible: " + problem)
    return _decision(reply, agent, action, status, reason)


def _repair(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return json_repair.loads(text)
    except Exception:
        return None


def _outside_schema(world: World, state: Any, agent: str, action: BaseModel, ask: Ask | None) -> str | None:
    """Where the action breaks this agent's schema, or None. The action is checked as it will be applied
    (defaults filled in, validators run), so a reply that leaves out a field with a default still counts."""
    if type(world).action_schema is World.action_schema:
        return None  # the schema IS the Action's: pydantic has just enforced every bound in it
    schema = ask.schema if ask is not None else world.action_schema(state, agent)
    data = action.model_dump(mode="json", by_alias=True)
    check = compiled(schema)
    if check.ok(data):
        return None
    return check.explain(data)


class _Compiled:
    """One schema, checked fast (sim.schemas.compile_check) and explained by jsonschema only when a reply
    fails it: jsonschema's messages are good, its speed (~80 µs a call) is not needed on the happy path."""

    def __init__(self, schema: dict):
        self.schema = schema
        self.fast = compile_check(schema)
        self.full: jsonschema.protocols.Validator | None = None

    def _validator(self) -> jsonschema.protocols.Validator:
        if self.full is None:
            cls = jsonschema.validators.validator_for(self.schema, default=jsonschema.Draft202012Validator)
            self.full = cls(self.schema)
        return self.full

    def ok(self, data: Any) -> bool:
        return self.fast(data) if self.fast is not None else self._validator().is_valid(data)

    def explain(self, data: Any) -> str | None:
        """Where `data` breaks the schema; None if jsonschema accepts it after all (it has the last word)."""
        error = jsonschema.exceptions.best_match(self._validator().iter_errors(data))
        if error is None:
            return None
        where = ".".join(str(p) for p in error.absolute_path) or "reply"
        return f"{where}: {error.message}"[:200]


_COMPILED: dict[str, _Compiled] = {}


def compiled(schema: dict) -> _Compiled:
    """The compiled check of a schema, built once per distinct schema: schemas are rebuilt every turn as new
    dicts, most of them equal to one seen before. The key is the schema's JSON text unsorted (json's C
    encoder: half the time of repr, a third of sorted keys); equal schemas built in another key order merely
    compile twice."""
    key = json.dumps(schema)
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= VALIDATORS:  # a world whose schemas never repeat: start over, stay bounded
            _COMPILED.clear()
        found = _COMPILED[key] = _Compiled(schema)
    return found


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "reply"
    return f"{where}: {err['msg']}"[:200]


def _noop(reply: Reply, world: World, agent: str, reason: str) -> tuple[Decision, BaseModel]:
    return _decision(reply, agent, world.noop(agent), "noop", reason[:300])


def _decision(reply: Reply, agent: str, action: BaseModel, status: str, reason: str | None):
    return Decision(
        agent=agent,
        action=action.model_dump(mode="json"),
        status=status,
        reason=reason,
        reply=reply.text,
        backend=reply.backend,
        model=reply.model,
        prompt=reply.prompt,
        prompt_tokens=reply.prompt_tokens,
        output_tokens=reply.output_tokens,
    ), action
