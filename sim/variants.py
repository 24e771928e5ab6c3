"""Variant actions: a schema whose root (or any value in it) is an anyOf/oneOf of closed objects, one branch
per kind of action (move, gather, share). Which branch a reply was aiming for, what broke inside that branch,
and the schema as grammar compilers take it.

A branch is told by its tag: a property that every branch fixes (const, or an enum) to values no other branch
shares; pydantic's tagged union (`Field(discriminator="do")`) writes `"do": {"const": "share"}` in each. A
reply whose tag names a branch aims at that branch; without a tag, at the branch it breaks least.
"""
from __future__ import annotations

from typing import Any

import jsonschema
import orjson
from jsonschema.exceptions import relevance

UNIONS = ("anyOf", "oneOf")
VALUES = ("enum", "const", "default", "examples", "title", "description")  # keywords whose argument is data


def resolve(s: Any, defs: dict) -> Any:
    """`s` with $ref into the root $defs followed and a lone allOf unwrapped (pydantic wraps a described $ref
    in one)."""
    for _ in range(20):
        if not isinstance(s, dict):
            break
        if isinstance(s.get("$ref"), str) and s["$ref"].split("/")[-1] in defs:
            s = defs[s["$ref"].split("/")[-1]]
        elif isinstance(s.get("allOf"), list) and len(s["allOf"]) == 1:
            s = s["allOf"][0]
        else:
            break
    return s


def branches(s: Any, defs: dict) -> list[dict] | None:
    """The branches of a union (anyOf/oneOf), resolved; None when `s` is no union."""
    s = resolve(s, defs)
    if not isinstance(s, dict):
        return None
    options = next((s[key] for key in UNIONS if isinstance(s.get(key), list)), None)
    return None if options is None else [resolve(o, defs) for o in options]


def has_variants(schema: Any) -> bool:
    """Whether a union of two or more objects stands anywhere in `schema` (its $defs included)."""
    defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    return _has_variants(schema, defs if isinstance(defs, dict) else {}, 0)


def _has_variants(s: Any, defs: dict, depth: int) -> bool:
    if isinstance(s, list):
        return any(_has_variants(v, defs, depth + 1) for v in s)
    if not isinstance(s, dict) or depth > 40:
        return False
    options = branches(s, defs)
    if options and sum(1 for o in options if isinstance(o, dict) and o.get("type") == "object") >= 2:
        return True
    return any(_has_variants(v, defs, depth + 1) for v in _subschemas(s))


def _subschemas(s: dict) -> list:
    """The values of a schema's keywords that hold subschemas (a property may be called "title")."""
    out = []
    for key, sub in s.items():
        if key in ("properties", "$defs") and isinstance(sub, dict):
            out += sub.values()
        elif key not in VALUES:
            out.append(sub)
    return out


def fixed(s: Any) -> list | None:
    """The values a subschema fixes (const, enum), or None when it fixes none."""
    if not isinstance(s, dict):
        return None
    if "const" in s:
        return [s["const"]]
    return list(s["enum"]) if isinstance(s.get("enum"), list) else None


def tag(options: list[dict], defs: dict) -> str | None:
    """The property that tells these branches apart: required in every branch and fixed there to values no two
    branches share."""
    if len(options) < 2 or not all(isinstance(o, dict) and isinstance(o.get("properties"), dict) for o in options):
        return None
    for key in options[0]["properties"]:
        values = [fixed(resolve(o["properties"].get(key), defs)) for o in options]
        if None in values or not all(key in o.get("required", ()) for o in options):
            continue
        flat = [v for vs in values for v in vs]
        if len(flat) == len({repr(v) for v in flat}):
            return key
    return None


def name(options: list[dict], k: int, key: str | None, defs: dict) -> str:
    """What a reason or a form calls branch k: its tag value ("share"), else its title, else the keys only it
    has ("want+wqty"), else "branch 2"."""
    if key is not None:
        return str(fixed(resolve(options[k]["properties"][key], defs))[0])
    title = options[k].get("title") if isinstance(options[k], dict) else None
    if title:
        return str(title)
    keys = [set(o.get("properties", {})) if isinstance(o, dict) else set() for o in options]
    own = [p for p in (options[k].get("properties", {}) if isinstance(options[k], dict) else {})
           if not any(p in keys[j] for j in range(len(options)) if j != k)]
    return "+".join(own) if own else f"branch {k + 1}"


def aimed(options: list[dict], value: Any, defs: dict, errors: list[int] | None = None) -> int:
    """The index of the branch `value` was aiming for: the one its tag names, else among the branches whose
    fixed values it matches (all of them if none), the one with the fewest errors (`errors`: the count per
    branch, counted here when not given); the first of equals."""
    key = tag(options, defs)
    if key is not None and isinstance(value, dict) and key in value:
        for k, option in enumerate(options):
            if _member(value[key], fixed(resolve(option["properties"][key], defs))):
                return k
    if errors is None:
        errors = [_count(option, value, defs) for option in options]
    matching = [k for k, option in enumerate(options) if _fixed_match(option, value, defs)]
    return min(matching or range(len(options)), key=lambda k: (errors[k], k))


def _member(value: Any, values: list) -> bool:
    return any(type(value) is type(v) and value == v for v in values)


def _fixed_match(option: dict, value: Any, defs: dict) -> bool:
    """Whether `value` is an object that sets at least one of the option's fixed properties, and matches every
    one it sets."""
    if not isinstance(value, dict) or not isinstance(option.get("properties"), dict):
        return False
    hits = [_member(value[k], fixed(resolve(sub, defs))) for k, sub in option["properties"].items()
            if k in value and fixed(resolve(sub, defs)) is not None]
    return bool(hits) and all(hits)


def _count(option: dict, value: Any, defs: dict) -> int:
    validator = jsonschema.Draft202012Validator({**option, "$defs": defs})
    return sum(1 for _ in validator.iter_errors(value))


def explain(schema: dict, value: Any) -> str | None:
    """Where and why `value` breaks `schema`, as "path: message" ("share.amount: 9 is greater than the maximum
    of 3"), or None when it does not. At a union the reason names the branch the value was aiming for, and
    what broke inside that branch, not in the first."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    error = max(cls(schema).iter_errors(value), key=relevance, default=None)
    if error is None:
        return None
    named: list[tuple[int, str]] = []  # (depth in the value, branch name) of every union passed through
    while error.validator in UNIONS and error.context:
        options = [resolve(o, defs) for o in error.validator_value]
        counts = [0] * len(options)
        for e in error.context:
            counts[e.relative_schema_path[0]] += 1
        key = tag(options, defs)
        path = [str(p) for p in error.absolute_path]
        if key is not None and isinstance(error.instance, dict) and not any(
                _member(error.instance.get(key), fixed(resolve(o["properties"][key], defs))) for o in options):
            # no branch named: say which names there are, not what the first branch lacks
            known = ", ".join(repr(name(options, k, key, defs)) for k in range(len(options)))
            said = (f"{error.instance[key]!r} is not one of {known}" if key in error.instance
                    else f"{key!r} is a required property, one of {known}")
            return f"{_where(path + [key] if key in error.instance else path, named)}: {said}"
        k = aimed(options, error.instance, defs, counts)
        inside = [e for e in error.context if e.relative_schema_path[0] == k]
        if not inside:
            break
        named.append((len(path), name(options, k, key, defs)))
        error = max(inside, key=relevance)
    return f"{_where([str(p) for p in error.absolute_path], named)}: {error.message}"


def _where(path: list[str], named: list[tuple[int, str]]) -> str:
    """A value's path with the name of each branch it passed inserted where its union stands."""
    parts = list(path)
    for shift, (depth, branch) in enumerate(named):
        parts.insert(depth + shift, branch)
    return ".".join(parts) or "reply"


def for_decoding(schema: Any) -> Any:
    """The schema as sent to a constrained decoder: oneOf read as anyOf and `discriminator` left out. Both
    grammar engines vLLM 0.32 uses compile a root union of closed objects with $defs exactly (checked with
    llguidance 1.7.6 and xgrammar 0.2.8: each branch's fields and bounds, no reply outside them), but xgrammar
    only approximates a oneOf it cannot prove disjoint (with a warning), llguidance reads oneOf as anyOf anyway,
    and `discriminator` is an OpenAPI word, not JSON Schema, that other servers may refuse. The branches of an
    action's union are disjoint closed objects, so anyOf admits the same replies. The same object when nothing
    changes (per-agent schemas are new every turn: no copy on the usual path)."""
    try:  # the usual schema has neither: orjson's text says so in 10-35 µs for the wood's, a walk in ~100
        text = orjson.dumps(schema)
        mentioned = b'"oneOf"' in text or b'"discriminator"' in text
    except (orjson.JSONEncodeError, TypeError):
        mentioned = _mentions(schema)
    return _for_decoding(schema) if mentioned else schema



def _mentions(s: Any) -> bool:
    """Whether oneOf or discriminator appears anywhere in `s` (a property so named counts: harmless)."""
    if isinstance(s, dict):
        return "oneOf" in s or "discriminator" in s or any(_mentions(v) for v in _subschemas(s))
    return isinstance(s, list) and any(_mentions(v) for v in s)


def _for_decoding(s: Any) -> Any:
    if isinstance(s, list):
        return [_for_decoding(v) for v in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for key, sub in s.items():
        if key == "discriminator":
            continue
        if key in ("properties", "$defs") and isinstance(sub, dict):  # names, not keywords, map to subschemas
            out[key] = {k: _for_decoding(v) for k, v in sub.items()}
        else:
            out["anyOf" if key == "oneOf" and "anyOf" not in s else key] = sub if key in VALUES else _for_decoding(sub)
    return out
