"""Action schemas as a constrained decoder sees them: which JSON-schema keywords a grammar compiler
(xgrammar, outlines, llama.cpp) handles, whether every string, array and number is bounded, and schema-valid
example replies drawn with a seeded rng.

The example generator is our own rather than hypothesis-jsonschema: `check_world` is a library call, not a
test, so it must be deterministic under its seed and must not depend on hypothesis being installed.
"""
from __future__ import annotations

from typing import Any

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
        if "items" in s:
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
        n = _edge_int(s.get("minItems", 0), s.get("maxItems", 3), rng)
        return [_example(s.get("items", {}), defs, rng, depth + 1) for _ in range(n)]
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
