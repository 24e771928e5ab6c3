"""Reply text -> action. Never raises: a reply that cannot be used becomes the agent's no-op, with a reason.

    reply -> strict JSON parse of the Action model          -> valid
          -> json-repair, then validation of the Action     -> repaired
          -> this agent's own schema (bounds for it, now)   -> outside its schema -> noop(reason)
          -> world.check (can this agent do this now?)      -> infeasible -> world.mend (keep what it can do)
                                                                                -> repaired, or noop(reason)

The schema step matters for every backend that does not constrain decoding (HTTP servers that ignore
response_format, chaos, PettingZoo, scripted heuristics): the Action model is the same for all agents, while
action_schema narrows it per agent (a bid within this bidder's budget), and only the schema knows that. A key
the schema requires must be in the reply, even where the Action has a default for it. A reason for a reply
to a variant action (a union) names the branch the reply aimed for and what broke inside it (sim.variants).
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import json_repair
from pydantic import BaseModel, ValidationError

from sim.policy import Ask, Reply
from sim.records import Decision
from sim.schemas import valid
from sim.variants import explain, has_variants
from sim.world import World

MAX_REPLY_CHARS = 20_000  # longer replies are cut before they are recorded and parsed (sim.engine.clean_reply)


def parse(reply: Reply, world: World, state: Any, agent: str, ask: Ask | None = None) -> tuple[Decision, BaseModel]:
    """The action a reply describes, or the agent's no-op with the reason it could not be used.
    `ask`: the agent's Ask this turn, whose schema (computed once) the backend may have used already;
    without it the world is asked for the schema. Returns the trace record and the Action instance to apply."""
    try:
        return _parse(reply, world, state, agent, ask)
    except Exception as exc:  # a world's check or validator misbehaving must not end the turn either
        return _noop(reply, world, agent, f"parse error: {type(exc).__name__}: {exc}")


def parse_all(replies: list[Reply], world: World, state: Any, agents: list[str],
              asks: list[Ask]) -> list[tuple[Decision, BaseModel]]:
    """`parse` for every agent's reply, in order. Replies the world's own heuristic wrote (Reply.own) are read
    together by World.own_actions, without their text; those it does not vouch for, and every other reply,
    are parsed one by one. Never raises."""
    own = [k for k, reply in enumerate(replies) if reply.own is not None and reply.text is not None]
    vouched = dict(zip(own, _own_actions(world, state, [agents[k] for k in own], [replies[k].own for k in own])))
    out = []
    for k, (reply, agent, ask) in enumerate(zip(replies, agents, asks)):
        read = vouched.get(k)
        if read is None:
            out.append(parse(reply, world, state, agent, ask))
        else:
            out.append((_decision(reply, agent, read[1], "valid", None), read[0]))
    return out


def _own_actions(world: World, state: Any, agents: list[str], decided: list[dict]) -> list:
    """World.own_actions, or nothing vouched for when it fails or answers out of shape (a count other than
    the agents', an entry that is not None or (Action, dict))."""
    if not agents:
        return []
    try:
        read = list(world.own_actions(state, agents, decided))
    except Exception:  # the full path then reads every reply, and says what is wrong with each
        return [None] * len(agents)
    fits = len(read) == len(agents) and all(
        r is None or (type(r) is tuple and len(r) == 2 and isinstance(r[0], world.Action) and type(r[1]) is dict)
        for r in read)
    return read if fits else [None] * len(agents)


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
            return _noop(reply, world, agent, "invalid: " + _first_error(exc, world.Action, data))
        status, reason = "repaired", "repaired: " + _first_error(strict_error, world.Action, data)
    if not action.model_fields_set and _repair(text[:MAX_REPLY_CHARS]):
        # keys, but none the Action knows (e.g. {"reply": {...}}): junk that merely validates as defaults
        return _noop(reply, world, agent, "no field of the action in the reply")
    data = action.model_dump(mode="json")  # as the trace records it: defaults filled in
    outside = _outside_schema(world, state, agent, action, ask)
    if outside:
        return _noop(reply, world, agent, "outside its schema: " + outside)
    problem = world.check(state, agent, action)
    if problem:
        mended = _mend(world, state, agent, action, ask)
        if mended is None:
            return _noop(reply, world, agent, "infeasible: " + problem)
        action, data, left_out = mended
        status, reason = "repaired", (f"{reason}; " if reason else "repaired: ") + f"left out {left_out}"
    return _decision(reply, agent, data, status, reason), action


def _mend(world: World, state: Any, agent: str, action: BaseModel,
          ask: Ask | None) -> tuple[BaseModel, dict, str] | None:
    """The world's mend of an infeasible action, if it offers one that passes the schema and the check: the
    action, its JSON dump and what was left out."""
    mended = world.mend(state, agent, action)
    if mended is None:
        return None
    action, left_out = mended
    if not isinstance(action, world.Action):
        return None
    data = action.model_dump(mode="json")
    if _outside_schema(world, state, agent, action, ask, sent=False) or world.check(state, agent, action):
        return None
    return action, data, str(left_out)[:200]


def _repair(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return json_repair.loads(text)
    except Exception:
        return None


def _outside_schema(world: World, state: Any, agent: str, action: BaseModel, ask: Ask | None,
                    sent: bool = True) -> str | None:
    """Where the action breaks this agent's schema, or None. `sent`: the action was read from a reply, and is
    checked with the values validation gave it but only the keys the reply set: a key the schema requires is
    required of the reply, even when the Action would fill in a default (False: built by the world's mend,
    checked whole). sim.schemas.valid decides fast; sim.variants.explain (jsonschema)
    says why a reply is refused (naming the branch of a union it aimed for) and decides schemas with keywords
    `valid` does not know."""
    if type(world).action_schema is World.action_schema:
        return None  # the schema IS the Action's: pydantic has just enforced every bound and required key in it
    schema = ask.schema if ask is not None else world.action_schema(state, agent)
    # by alias when the Action has any: a schema names fields by their aliases
    data = action.model_dump(mode="json", exclude_unset=sent, by_alias=_aliased(type(action)))
    if valid(schema, data):
        return None
    why = explain(schema, data)
    return None if why is None else why[:200]  # jsonschema has the last word


@lru_cache(maxsize=64)
def _aliased(cls: type[BaseModel]) -> bool:
    """Whether an Action class dumps differently by alias (its JSON schema by alias names other fields), so
    that checking it against a schema takes a dump of its own. Unsure (no JSON schema): it does."""
    try:
        return (cls.model_json_schema(mode="serialization", by_alias=True)
                != cls.model_json_schema(mode="serialization", by_alias=False))
    except Exception:
        return True


def _first_error(exc: ValidationError, action: type[BaseModel], data: Any) -> str:
    """Why `data` is not an `action`. For an Action with a union in it (a variant action), the reason inside
    the branch the reply aimed for, read from the Action's schema: pydantic lists every branch's errors and
    the first is most often the tag of a branch the reply never meant. Otherwise pydantic's first error."""
    schema = _union_schema(action)
    why = explain(schema, data) if schema is not None else None
    if why is not None:
        return why[:200]
    errors = exc.errors(include_url=False, include_input=False)
    err = errors[0]
    if schema is not None:  # what only a validator knows: in the branch whose tag the reply did not miss
        missed = {e["loc"][:-1] for e in errors if e["type"] == "literal_error"}
        err = next((e for e in errors if not any(e["loc"][:len(m)] == m for m in missed)), err)
    where = ".".join(str(p) for p in err["loc"]) or "reply"
    return f"{where}: {err['msg']}"[:200]


@lru_cache(maxsize=64)
def _union_schema(cls: type[BaseModel]) -> dict | None:
    """The Action's JSON schema (by alias: as replies spell it) when it holds a union of objects, else None
    (an optional value, anyOf [X, null], keeps pydantic's own reasons)."""
    try:
        schema = cls.model_json_schema(by_alias=True)
    except Exception:
        return None
    return schema if has_variants(schema) else None


def _noop(reply: Reply, world: World, agent: str, reason: str) -> tuple[Decision, BaseModel]:
    action = world.noop(agent)
    return _decision(reply, agent, action.model_dump(mode="json"), "noop", reason[:300]), action


def _decision(reply: Reply, agent: str, action: dict, status: str, reason: str | None) -> Decision:
    return Decision(
        agent=agent,
        action=action,
        status=status,
        reason=reason,
        reply=reply.text,
        backend=reply.backend,
        model=reply.model,
        prompt=reply.prompt,
        prompt_tokens=reply.prompt_tokens,
        output_tokens=reply.output_tokens,
        server=reply.server,
    )
