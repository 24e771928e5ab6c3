"""Action schemas as a constrained decoder sees them: which JSON-schema keywords a grammar compiler
(xgrammar, outlines, llama.cpp) handles, whether every string, array and number is bounded, schema-valid
example replies drawn with a seeded rng, and the check of a reply against its agent's schema (`valid`).

The example generator is our own rather than hypothesis-jsonschema: `check_world` is a library call, not a
test, so it must be deterministic under its seed and must not depend on hypothesis being installed.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from sim.variants import branches

# Keywords that JSON-schema grammar compilers turn into grammars. Annotations ($defs, title, ...) are free.
DECODABLE = {
    "type", "properties", "required", "additionalProperties", "enum", "const", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "items",
    "prefixItems", "anyOf", "oneOf", "allOf", "$ref",
}
# "discriminator": what pydantic writes beside a tagged union (an OpenAPI word); sim.variants.for_decoding
# leaves it out of what a decoder gets
ANNOTATIONS = {"$defs", "$schema", "$id", "title", "description", "default", "examples", "discriminator"}
ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,!?'\"-\\é"


def decoding_problems(schema: Any) -> list[str]:
    """Why a constrained decoder could not use this action schema well (empty list: it can).
    Each message says where in the schema and what to change."""
    defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    options = branches(schema, defs) if isinstance(defs, dict) else None
    if not isinstance(schema, dict) or not (schema.get("type") == "object" or (options and all(
            isinstance(o, dict) and o.get("type") == "object" for o in options))):
        return ['the root must be {"type": "object", ...}, or a union of such objects ({"anyOf": [{"type": '
                '"object", ...}, ...]}, a pydantic RootModel of a tagged union): a reply is one JSON object']
    problems: list[str] = []
    _walk(schema, "#", schema.get("$defs", {}), problems)
    return problems


def _walk(s: Any, where: str, defs: dict, out: list[str]) -> None:
    if not isinstance(s, dict):
        out.append(f"{where}: a subschema must be an object, got {s!r}")
        return
    unknown = sorted(set(s) - DECODABLE - ANNOTATIONS)
    if unknown:
        out.append(f"{where}: grammar compilers do not support {unknown}; express it with "
                   "enum/const/minimum/maximum/maxLength/maxItems, or check it in World.check")
    for name, sub in s.get("$defs", {}).items():
        _walk(sub, f"{where}/$defs/{name}", defs, out)
    if "$ref" in s:
        ref = s["$ref"]
        if not (isinstance(ref, str) and ref.startswith("#/$defs/") and ref.split("/")[-1] in defs):
            out.append(f"{where}: $ref {ref!r} must point into the root $defs")
        return
    if "const" in s or "enum" in s:
        return  # a fixed set of values is bounded whatever its type
    for key in ("anyOf", "oneOf", "allOf"):
        for k, sub in enumerate(s.get(key, [])):
            _walk(sub, f"{where}/{key}/{k}", defs, out)
    if any(k in s for k in ("anyOf", "oneOf", "allOf")) and "type" not in s:
        return
    kinds = s.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if None in kinds:
        out.append(f"{where}: give every subschema a type (or enum/const/anyOf)")
    options = branches(s, defs)
    if "object" in kinds and options and all(isinstance(o, dict) and o.get("type") == "object" for o in options):
        # an object that is one of several: each branch is closed on its own (walked above); closing this level
        # too refuses every key a branch adds, and so every reply
        own = set(s.get("properties", {}))
        added = sorted({k for o in options for k in o.get("properties", {})} - own)
        if s.get("additionalProperties") is False and added:
            out.append(f"{where}: \"additionalProperties\": false beside anyOf/oneOf refuses the keys the branches "
                       f"add ({', '.join(added)}), so no reply fits: leave it out here and put it in each branch")
    elif "object" in kinds:
        if s.get("additionalProperties") is not False:
            out.append(f"{where}: objects need \"additionalProperties\": false so a decoder cannot invent "
                       "fields (pydantic: model_config = ConfigDict(extra='forbid'))")
        for name, sub in s.get("properties", {}).items():
            _walk(sub, f"{where}/properties/{name}", defs, out)
    if "array" in kinds:
        if "maxItems" not in s:
            out.append(f"{where}: arrays need maxItems (pydantic: Field(max_length=N)) so replies stay short")
        for k, sub in enumerate(s.get("prefixItems", [])):
            _walk(sub, f"{where}/prefixItems/{k}", defs, out)
        if isinstance(s.get("items"), dict):
            _walk(s["items"], f"{where}/items", defs, out)
    if "string" in kinds and "maxLength" not in s:
        out.append(f"{where}: strings need maxLength (pydantic: Field(max_length=N)) or an enum, or a small "
                   "model rambles until it runs out of tokens")
    if ({"integer", "number"} & set(kinds)) and not ({"minimum", "exclusiveMinimum"} & set(s)
                                                      and {"maximum", "exclusiveMaximum"} & set(s)):
        out.append(f"{where}: numbers need minimum and maximum (pydantic: Field(ge=..., le=...)) so a decoder "
                   "cannot emit 1e309")


def example(schema: dict, rng: np.random.Generator) -> Any:
    """One value valid under `schema`, favouring edges (bounds, empty and full arrays) where bugs live."""
    return _example(schema, schema.get("$defs", {}), rng, depth=0)


def _example(s: dict, defs: dict, rng: np.random.Generator, depth: int) -> Any:
    if depth > 20:
        raise ValueError("schema nests deeper than 20 levels")
    if "$ref" in s:
        return _example(defs[s["$ref"].split("/")[-1]], defs, rng, depth + 1)
    if "const" in s:
        return s["const"]
    if "enum" in s:
        return s["enum"][int(rng.integers(len(s["enum"])))]
    for key in ("anyOf", "oneOf"):
        if key in s:
            return _example(s[key][int(rng.integers(len(s[key])))], defs, rng, depth + 1)
    if "allOf" in s and len(s["allOf"]) == 1:
        return _example(s["allOf"][0], defs, rng, depth + 1)
    kind = s.get("type")
    if isinstance(kind, list):
        kind = kind[int(rng.integers(len(kind)))]
    if kind == "object":
        required = set(s.get("required", []))
        return {name: _example(sub, defs, rng, depth + 1) for name, sub in s.get("properties", {}).items()
                if name in required or rng.random() < 0.5}
    if kind == "array":
        prefix = s.get("prefixItems", [])
        if s.get("items") is False:  # a tuple: exactly its positions
            return [_example(sub, defs, rng, depth + 1) for sub in prefix]
        n = _edge_int(max(s.get("minItems", 0), len(prefix)), max(s.get("maxItems", 3), len(prefix)), rng)
        return [_example(prefix[k] if k < len(prefix) else s.get("items", {}), defs, rng, depth + 1)
                for k in range(n)]
    if kind == "string":
        n = _edge_int(s.get("minLength", 0), s.get("maxLength", 8), rng)
        return "".join(ALPHABET[i] for i in rng.integers(len(ALPHABET), size=n))
    if kind == "integer":
        low = s.get("minimum", s.get("exclusiveMinimum", -1000 - 1) + 1)
        high = s.get("maximum", s.get("exclusiveMaximum", 1000 + 1) - 1)
        return _edge_int(int(np.ceil(low)), int(np.floor(high)), rng)
    if kind == "number":
        low, high = s.get("minimum", -1000.0), s.get("maximum", 1000.0)
        return float([low, high, rng.uniform(low, high)][int(rng.integers(3))])
    if kind == "boolean":
        return bool(rng.integers(2))
    return None  # "null", or a schema without a type: null is the simplest value


def _edge_int(low: int, high: int, rng: np.random.Generator) -> int:
    """low, high or something in between, a third of the time each."""
    pick = int(rng.integers(3))
    return low if pick == 0 else high if pick == 1 else int(rng.integers(low, high + 1))


# --- checking a reply -----------------------------------------------------------------------------------
def valid(schema: Any, value: Any) -> bool | None:
    """Whether a JSON value is valid under `schema` (JSON Schema 2020-12: booleans are not numbers, 1.0 is an
    integer), or None when the value reaches a keyword outside DECODABLE (ask jsonschema then).

    It walks the VALUE, visiting only the subschemas the value reaches, so its cost grows with the reply and
    not with the schema, and nothing is built or kept per schema: per-agent schemas (the wood's name each
    creature's neighbours and bounds from its own holdings) are new every turn and used once. jsonschema
    interprets too, but costs about 80 µs for a two-field object on our CPUs; this costs 2-3 µs for it, and
    ~30 µs for a wood reply of three orders and an offer."""
    defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    try:
        return _valid(schema, value, defs)
    except _Unsupported:
        return None


class _Unsupported(Exception):
    pass


# The shapes action schemas are made of, each checked in one step: a reply reaches dozens of them.
_INTEGER = frozenset({"type", "minimum", "maximum"}) | ANNOTATIONS
_STRING = frozenset({"type", "enum", "minLength", "maxLength"}) | ANNOTATIONS
_OBJECT = frozenset({"type", "properties", "required", "additionalProperties"}) | ANNOTATIONS
_ARRAY = frozenset({"type", "prefixItems", "items", "minItems", "maxItems"}) | ANNOTATIONS
_CHOICE = frozenset({"anyOf"}) | ANNOTATIONS


def _valid(s: Any, v: Any, defs: dict) -> bool:
    if type(s) is not dict:
        if s is True or s is False:
            return s
        raise _Unsupported
    kind = s.get("type")
    if kind == "integer" and s.keys() <= _INTEGER:
        lo, hi = s.get("minimum"), s.get("maximum")
        return ((type(v) is int or (type(v) is float and v.is_integer()))
                and (lo is None or v >= lo) and (hi is None or v <= hi))
    if kind == "string" and s.keys() <= _STRING:
        options, lo, hi = s.get("enum"), s.get("minLength"), s.get("maxLength")
        return (type(v) is str and (options is None or v in options)  # a string equals only strings
                and (lo is None or len(v) >= lo) and (hi is None or len(v) <= hi))
    if kind == "object" and s.keys() <= _OBJECT:
        return type(v) is dict and _object(s, v, defs)
    if kind == "array" and s.keys() <= _ARRAY:
        lo, hi = s.get("minItems"), s.get("maxItems")
        return (type(v) is list and (lo is None or len(v) >= lo) and (hi is None or len(v) <= hi)
                and _array(s, v, defs))
    if kind is None and "anyOf" in s and s.keys() <= _CHOICE:
        for sub in s["anyOf"]:  # a loop, not any(): no generator per order of every reply
            if _valid(sub, v, defs):
                return True
        return False
    return _by_keyword(s, v, defs)


def _by_keyword(s: dict, v: Any, defs: dict) -> bool:
    """Any other subschema: every keyword's own test, each passing what it does not apply to."""
    for key, arg in s.items():
        test = _KEYWORDS.get(key)
        if test is None:
            if key in ANNOTATIONS:
                continue
            raise _Unsupported
        if not test(arg, v, s, defs):
            return False
    return True


def _object(s: dict, v: dict, defs: dict) -> bool:
    """properties, required and additionalProperties of s, for an object v."""
    props = s.get("properties", {})
    extra = s.get("additionalProperties", True)
    for k in s.get("required", ()):
        if k not in v:
            return False
    for k, item in v.items():
        sub = props.get(k)
        if sub is not None:
            if not _valid(sub, item, defs):
                return False
        elif extra is not True and not _valid(extra, item, defs):
            return False
    return True


def _array(s: dict, v: list, defs: dict) -> bool:
    """prefixItems and items of s, for an array v."""
    prefix = s.get("prefixItems", [])
    if not isinstance(prefix, list):
        raise _Unsupported
    for sub, item in zip(prefix, v):
        if not _valid(sub, item, defs):
            return False
    if "items" in s:
        rest = s["items"]
        if type(rest) is not dict and rest is not True and rest is not False:
            raise _Unsupported  # the old array form of items: not 2020-12
        for item in v[len(prefix):]:
            if not _valid(rest, item, defs):
                return False
    return True


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _type(arg: Any, v: Any) -> bool:
    kinds = arg if isinstance(arg, list) else [arg]
    if not all(isinstance(k, str) and k in _TYPES for k in kinds):
        raise _Unsupported
    return any(_TYPES[k](v) for k in kinds)


def _ref(arg: Any, v: Any, defs: dict) -> bool:
    name = arg[len("#/$defs/"):] if isinstance(arg, str) and arg.startswith("#/$defs/") else None
    if name is None or any(c in name for c in "/~%") or name not in defs:
        raise _Unsupported  # only plain names in the root $defs
    return _valid(defs[name], v, defs)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0, and containers compare item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if a != b:
        return False
    return type(a) is type(b) or (_is_number(a) and _is_number(b))


# keyword -> test(argument, value, subschema, defs); each passes values of types it does not apply to
_KEYWORDS: dict[str, Callable[[Any, Any, dict, dict], bool]] = {
    "type": lambda arg, v, s, defs: _type(arg, v),
    "const": lambda arg, v, s, defs: _equal(v, arg),
    "enum": lambda arg, v, s, defs: any(_equal(v, o) for o in arg),
    "minimum": lambda arg, v, s, defs: not _is_number(v) or v >= arg,
    "maximum": lambda arg, v, s, defs: not _is_number(v) or v <= arg,
    "exclusiveMinimum": lambda arg, v, s, defs: not _is_number(v) or v > arg,
    "exclusiveMaximum": lambda arg, v, s, defs: not _is_number(v) or v < arg,
    "minLength": lambda arg, v, s, defs: not isinstance(v, str) or len(v) >= arg,
    "maxLength": lambda arg, v, s, defs: not isinstance(v, str) or len(v) <= arg,
    "minItems": lambda arg, v, s, defs: not isinstance(v, list) or len(v) >= arg,
    "maxItems": lambda arg, v, s, defs: not isinstance(v, list) or len(v) <= arg,
    "properties": lambda arg, v, s, defs: not isinstance(v, dict) or _object(s, v, defs),
    # with properties, required and additionalProperties are checked by the properties' test
    "required": lambda arg, v, s, defs: "properties" in s or not isinstance(v, dict) or _object(s, v, defs),
    "additionalProperties": lambda arg, v, s, defs: ("properties" in s or "required" in s
                                                     or not isinstance(v, dict) or _object(s, v, defs)),
    "prefixItems": lambda arg, v, s, defs: not isinstance(v, list) or _array(s, v, defs),
    "items": lambda arg, v, s, defs: "prefixItems" in s or not isinstance(v, list) or _array(s, v, defs),
    "anyOf": lambda arg, v, s, defs: any(_valid(sub, v, defs) for sub in arg),
    "oneOf": lambda arg, v, s, defs: sum(1 for sub in arg if _valid(sub, v, defs)) == 1,
    "allOf": lambda arg, v, s, defs: all(_valid(sub, v, defs) for sub in arg),
    "$ref": lambda arg, v, s, defs: _ref(arg, v, defs),
}
