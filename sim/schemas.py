"""Action schemas as a constrained decoder sees them: which JSON-schema keywords a grammar compiler
(xgrammar, outlines, llama.cpp) handles, whether every string, array and number is bounded, and schema-valid
example replies drawn with a seeded rng.

The example generator is our own rather than hypothesis-jsonschema: `check_world` is a library call, not a
test, so it must be deterministic under its seed and must not depend on hypothesis being installed.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable

import numpy as np

# Keywords that JSON-schema grammar compilers turn into grammars. Annotations ($defs, title, ...) are free.
DECODABLE = {
    "type", "properties", "required", "additionalProperties", "enum", "const", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "items",
    "prefixItems", "anyOf", "oneOf", "allOf", "$ref",
}
ANNOTATIONS = {"$defs", "$schema", "$id", "title", "description", "default", "examples"}
ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,!?'\"-\\é"


def decoding_problems(schema: Any) -> list[str]:
    """Why a constrained decoder could not use this action schema well (empty list: it can).
    Each message says where in the schema and what to change."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return ['the root must be {"type": "object", ...}: a reply is one JSON object']
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
    if "object" in kinds:
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


# --- compiled checks ---------------------------------------------------------------------------------
Check = Callable[[Any], bool]


def compile_check(schema: dict) -> Check | None:
    """A fast `is this JSON value valid under schema?` for the keywords above, or None when the schema uses
    others. jsonschema interprets a schema on every call (about 80 µs for a two-field object on our CPUs);
    these closures are built once per schema and cost a few µs per reply, which matters at 10 000 agents.
    Semantics follow JSON Schema 2020-12: booleans are not numbers, 1.0 is an integer."""
    defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    built: dict[str, Check] = {}
    try:
        return _compile(schema, defs, built, top=not defs)
    except _Unsupported:
        return None


# Compiled checks of top-level properties, by their JSON text. Per-agent schemas that differ in one small part
# (the wood's deals name each creature's own neighbours, so no two creatures' schemas are alike) share the
# rest: the orders part is compiled once for every creature that may place the same orders.
_PARTS: dict[str, Check] = {}
PARTS_KEPT = 4096


def _part(sub: Any, defs: dict, built: dict[str, Check]) -> Check:
    key = json.dumps(sub)
    found = _PARTS.get(key)
    if found is None:
        if len(_PARTS) >= PARTS_KEPT:  # parts that never repeat: start over, stay bounded
            _PARTS.clear()
        found = _PARTS[key] = _compile(sub, defs, built)
    return found


class _Unsupported(Exception):
    pass


def _compile(s: Any, defs: dict, built: dict[str, Check], top: bool = False) -> Check:
    """`top`: the schema's root, with no $defs: its properties' checks are shared with equal parts of other
    schemas (see _PARTS)."""
    if s is True or s == {}:
        return lambda v: True
    if s is False:
        return lambda v: False
    if not isinstance(s, dict) or set(s) - DECODABLE - ANNOTATIONS:
        raise _Unsupported
    leaf = _leaf(s)
    if leaf is not None:
        return leaf
    checks: list[Check] = []
    if "$ref" in s:
        ref = s["$ref"]
        name = ref.split("/")[-1] if isinstance(ref, str) and ref.startswith("#/$defs/") else None
        if name not in defs:
            raise _Unsupported
        if name not in built:
            built[name] = lambda v: True  # a recursive definition sees itself through `built` once filled
            built[name] = _compile(defs[name], defs, built)
        checks.append(lambda v, name=name: built[name](v))
    if "type" in s:
        kinds = s["type"] if isinstance(s["type"], list) else [s["type"]]
        tests = [_TYPES[k] for k in kinds]
        checks.append(tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests)))
    if "const" in s:
        checks.append(lambda v, c=s["const"]: _equal(v, c))
    if "enum" in s:
        options = list(s["enum"])
        if all(isinstance(o, str) for o in options):
            allowed = frozenset(options)
            checks.append(lambda v: isinstance(v, str) and v in allowed)
        else:
            checks.append(lambda v: any(_equal(v, o) for o in options))
    checks += _number_checks(s) + _length_checks(s)
    if "properties" in s or "required" in s or "additionalProperties" in s:
        checks.append(_object_check(s, defs, built, top))
    if "items" in s or "prefixItems" in s:
        checks.append(_items_check(s, defs, built))
    for key in ("anyOf", "oneOf", "allOf"):
        if key in s:
            subs = [_compile(sub, defs, built) for sub in s[key]]
            if key == "anyOf":
                checks.append(lambda v, subs=subs: any(c(v) for c in subs))
            elif key == "oneOf":
                checks.append(lambda v, subs=subs: sum(1 for c in subs if c(v)) == 1)
            else:
                checks.append(lambda v, subs=subs: all(c(v) for c in subs))
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v: all(c(v) for c in checks)


def _leaf(s: dict) -> Check | None:
    """One closure for the leaves action schemas are made of (a bounded integer, a bounded string, an enum
    of strings): a reply has dozens of them, and a chain of small checks costs a call each."""
    keys = set(s) - ANNOTATIONS
    kind = s.get("type")
    if kind == "integer" and keys <= {"type", "minimum", "maximum"}:
        lo, hi = s.get("minimum", -math.inf), s.get("maximum", math.inf)
        return lambda v: lo <= v <= hi if type(v) is int else (type(v) is float and v.is_integer() and lo <= v <= hi)
    if kind == "string" and keys <= {"type", "minLength", "maxLength"}:
        lo_n, hi_n = s.get("minLength", 0), s.get("maxLength", math.inf)
        return lambda v: isinstance(v, str) and lo_n <= len(v) <= hi_n
    if kind in ("string", None) and keys <= {"type", "enum"} and "enum" in s and all(isinstance(o, str)
                                                                                  for o in s["enum"]):
        allowed = frozenset(s["enum"])
        return lambda v: isinstance(v, str) and v in allowed
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


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


def _number_checks(s: dict) -> list[Check]:
    bounds = [(s[k], op) for k, op in (("minimum", float.__ge__), ("maximum", float.__le__),
                                       ("exclusiveMinimum", float.__gt__), ("exclusiveMaximum", float.__lt__))
              if k in s]
    if not bounds:
        return []
    return [lambda v: not _is_number(v) or all(op(float(v), float(b)) for b, op in bounds)]


def _length_checks(s: dict) -> list[Check]:
    out: list[Check] = []
    low, high = s.get("minLength", 0), s.get("maxLength")
    if "minLength" in s or "maxLength" in s:
        out.append(lambda v: not isinstance(v, str) or (low <= len(v) and (high is None or len(v) <= high)))
    low_n, high_n = s.get("minItems", 0), s.get("maxItems")
    if "minItems" in s or "maxItems" in s:
        out.append(lambda v: not isinstance(v, list) or (low_n <= len(v) and (high_n is None or len(v) <= high_n)))
    return out


def _object_check(s: dict, defs: dict, built: dict[str, Check], shared: bool = False) -> Check:
    compile_ = _part if shared else _compile
    props = {k: compile_(sub, defs, built) for k, sub in s.get("properties", {}).items()}
    required = list(s.get("required", []))
    extra = s.get("additionalProperties", True)
    extra_check = None if extra is True or extra is False else _compile(extra, defs, built)

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for k in required:
            if k not in v:
                return False
        for k, item in v.items():
            sub = props.get(k)
            if sub is not None:
                if not sub(item):
                    return False
            elif extra is False or (extra_check is not None and not extra_check(item)):
                return False
        return True

    return check


def _items_check(s: dict, defs: dict, built: dict[str, Check]) -> Check:
    prefix = [_compile(sub, defs, built) for sub in s.get("prefixItems", [])]
    rest = _compile(s["items"], defs, built) if "items" in s else None

    def check(v: Any) -> bool:
        if not isinstance(v, list):
            return True
        for k, item in enumerate(v):
            sub = prefix[k] if k < len(prefix) else rest
            if sub is not None and not sub(item):
                return False
        return True

    return check
