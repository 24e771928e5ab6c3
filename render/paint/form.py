"""A form built from an agent's own action schema, and the reply JSON a filled form stands for. Pure: the web
demo's seat and the pygame window's both draw the same fields and read them back with `reply`.

    schema -> fields(schema) -> [Field]       one flat list, in the schema's order
    values (one per field, as edited)  -> reply(fields, values) -> the reply dict
    fit(schema, reply)                 -> the keys of the variant the reply chose (below)

Generic over the JSON schema a world may give: objects (a field per property), arrays (a "how many" field,
then maxItems slots), tuples (prefixItems with items false: a field per position, named by its title), enums
and consts (a choice), bounded integers and numbers, strings with maxLength, booleans, $ref into $defs, and
anyOf/oneOf. A nullable value (anyOf [X, null]) is X that may be left empty (None). A variant (a union of
objects: move, gather, share, at the root or under a key) is a choice of branch, by its tag where the
branches have one, then that branch's fields; the others are hidden and left out of the reply. Other unions
(of tuples: one per side of an order) are merged into one value whose choices are the union of the
variants': which combination is allowed now is for the parse path to judge, exactly as for a model's reply,
so an impossible mix becomes a recorded no-op with its reason, not a form that cannot be filled. `fit` then
keeps, at each anyOf, only what belongs to the variant the reply chose.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from sim.variants import aimed, branches, fixed, name, resolve, tag

SLOTS = 3  # array slots shown when a schema sets no maxItems
STEP_RANGE = 1000  # integers without bounds step within +- this in the window


@dataclass(frozen=True)
class Field:
    path: tuple  # keys (str) and array indices (int) from the reply's root to this value
    label: str
    kind: str  # "enum" | "integer" | "number" | "string" | "boolean" | "count" (how many slots of an array)
    choices: tuple = ()  # for "enum"
    low: float | None = None  # bounds for numbers and counts
    high: float | None = None
    max_length: int | None = None  # for "string"
    optional: bool = False  # None is a value: the reply carries null
    default: Any = None
    omittable: bool = False  # under a key its object does not require: left blank, the key is left out
    chooses: bool = False  # its value picks the branch of a variant (a union of objects) whose fields show
    sent: bool = True  # False: a branch chooser of a union without a tag, not itself part of the reply
    when: tuple = ()  # ((chooser's path, values), ...): shown only while each chooser holds one of its values


def fields(schema: dict) -> list[Field]:
    """The form for `schema`: one Field per value a person sets."""
    out: list[Field] = []
    _walk(schema, (), "", schema.get("$defs", {}), out, 0, ())
    return out


def defaults(form: list[Field]) -> list:
    return [f.default for f in form]


def reply(form: list[Field], values: list) -> dict:
    """The reply a filled form stands for. Slots past an array's "how many" are left out; a value the person
    typed wrong (text in a number) is passed on as typed, for the parse path to refuse with its reason."""
    out: dict = {}
    for f, value, past in zip(form, values, hidden(form, values)):
        if past or not f.sent:
            continue
        # an optional part the person left blank is not sent, as a model leaves out a key it has no use for
        if f.kind == "count":
            if _count(value) or not f.omittable:
                _put(out, f.path, [])
        elif not (f.omittable and (value is None or value == "")):
            _put(out, f.path, _read(f, value))
    return out


def hidden(form: list[Field], values: list) -> list[bool]:
    """For each field, whether it lies in an array slot past its array's "how many", or in a branch of a
    variant other than the one chosen, as `values` set them (the window greys these fields, the web page hides
    them, `reply` leaves them out). A tuple's positions have no "how many" and are always shown; what lies
    inside a hidden slot or branch is hidden too."""
    counts: dict[tuple, int] = {}
    chosen: dict[tuple, Any] = {}
    out = []
    for f, value in zip(form, values):
        past = (any(isinstance(key, int) and key >= counts.get(f.path[:k], math.inf) for k, key in enumerate(f.path))
                or any(chosen.get(at, _HIDDEN) not in allowed for at, allowed in f.when))
        out.append(past)
        if f.kind == "count":
            counts[f.path] = 0 if past else _count(value)
        if f.chooses:
            chosen[f.path] = _HIDDEN if past else value
    return out


_HIDDEN = object()  # the choice of a chooser that is itself hidden: no branch under it shows


def filled(form: list[Field], data: Any) -> list:
    """The values that make the form read `data` (a reply set into the form, e.g. a worked example): each
    field's value in `data`, its default where `data` has none; a branch chooser set to the branch `data` is
    in (that whose fields `data` fills best)."""
    values = []
    for f in form:
        node = _at(data, f.path)
        if f.chooses and not f.sent:
            node = None if node is _HIDDEN else min(f.choices, key=lambda pick: _misfit(form, f.path, pick, node))
        values.append(f.default if node is _HIDDEN else len(node) if f.kind == "count" else node)
    return values


def _at(data: Any, path: tuple) -> Any:
    for key in path:
        try:
            data = data[key]
        except (IndexError, KeyError, TypeError):
            return _HIDDEN
    return data


def _misfit(form: list[Field], at: tuple, pick: Any, data: Any) -> tuple[int, int]:
    """How badly `data` fits the branch `pick` of the chooser at `at`: its keys the branch lacks, then the
    branch's keys it lacks."""
    mine = {f.path[len(at)] for f in form if (at, (pick,)) in f.when and len(f.path) > len(at)}
    given = set(data) if isinstance(data, dict) else set()
    return len(given - mine), len(mine - given)


def _count(value: Any) -> int:
    return max(0, _whole(value) or 0)


def fit(schema: dict, data: Any) -> Any:
    """`data` with the keys that no longer belong dropped: at each anyOf/oneOf, those of the variant it chose."""
    return _fit(schema, data, schema.get("$defs", {}), 0)


def step(f: Field, value: Any, by: int) -> Any:
    """`value` moved `by` steps (the window's arrow keys): choices cycle, numbers step within their bounds,
    booleans toggle; a field that may be empty passes through None below its lowest value."""
    if f.kind == "enum":
        options = [*f.choices, *([None] if f.optional else [])]
        at = options.index(value) if value in options else -by
        return options[(at + by) % len(options)]
    if f.kind == "boolean":
        return not value
    if f.kind in ("integer", "number", "count"):
        low = f.low if f.low is not None else -STEP_RANGE
        high = f.high if f.high is not None else STEP_RANGE
        if value is None:
            return low if by > 0 else None
        moved = value + by
        if moved < low:
            return None if f.optional else low
        return min(high, moved)
    return value


def shown(f: Field, value: Any) -> str:
    """A value as the window writes it."""
    return "—" if value is None else ("yes" if value is True else "no" if value is False else str(value))


# --- schema -> fields --------------------------------------------------------------------------------
def _walk(s: dict, path: tuple, label: str, defs: dict, out: list[Field], depth: int, when: tuple) -> None:
    if depth > 20:
        raise ValueError("the schema nests deeper than 20 levels")
    given = s.get("default", ...)
    options = branches(s, defs)
    if options and len(options) > 1 and all(o.get("type") == "object" for o in options):
        _variants(options, path, label, defs, out, depth, when)
        return
    s, nullable = _resolve(s, defs, depth)
    if s is None:
        return
    kind = s.get("type")
    if "enum" in s or "const" in s:
        choices = tuple(s["enum"]) if "enum" in s else (s["const"],)
        if not choices:
            return
        out.append(Field(path, label, "enum", choices=choices, optional=nullable,
                         default=_given(given, None if nullable else choices[0]), when=when))
    elif kind == "object":
        _properties(s, path, label, defs, out, depth, when)
    elif kind == "array" and s.get("prefixItems") and s.get("items") is False:  # a tuple: a field per position
        for k, sub in enumerate(s["prefixItems"]):
            name = _deref(sub, defs).get("title") or str(k + 1)
            _walk(sub, (*path, k), f"{label} · {name}" if label else name, defs, out, depth + 1, when)
    elif kind == "array":
        slots = s.get("maxItems", SLOTS)
        if not slots or not s.get("items"):
            return
        low = s.get("minItems", 0)
        out.append(Field(path, f"{label}: how many", "count", low=low, high=slots, default=low, when=when))
        for k in range(slots):
            _walk(s["items"], (*path, k), f"{label} {k + 1}", defs, out, depth + 1, when)
    elif kind in ("integer", "number"):
        low = s.get("minimum", s["exclusiveMinimum"] + 1 if "exclusiveMinimum" in s else None)
        high = s.get("maximum", s["exclusiveMaximum"] - 1 if "exclusiveMaximum" in s else None)
        start = None if nullable else (low if low is not None else min(0, high) if high is not None else 0)
        out.append(Field(path, label, kind, low=low, high=high, optional=nullable, default=_given(given, start),
                         when=when))
    elif kind == "string":
        out.append(Field(path, label, "string", max_length=s.get("maxLength"), optional=nullable,
                         default=_given(given, None if nullable else ""), when=when))
    elif kind == "boolean":
        out.append(Field(path, label, "boolean", optional=nullable, default=_given(given, None if nullable else False),
                         when=when))


def _properties(s: dict, path: tuple, label: str, defs: dict, out: list[Field], depth: int, when: tuple,
                skip: str | None = None) -> None:
    """A field per property of an object (but `skip`, a variant's tag, which its chooser sets)."""
    required = set(s.get("required", ()))
    for name, sub in s.get("properties", {}).items():
        if name == skip:
            continue
        start = len(out)
        _walk(sub, (*path, name), f"{label} · {name}" if label else name, defs, out, depth + 1, when)
        if name not in required:  # a key the reply may leave out: blank unless the person fills it in
            # (a branch chooser may be blank too: then no branch shows, and the key is left out)
            out[start:] = [replace(f, omittable=True, default=None, optional=f.optional or f.chooses)
                           for f in out[start:]]


def _variants(options: list[dict], path: tuple, label: str, defs: dict, out: list[Field], depth: int,
              when: tuple) -> None:
    """A variant (a union of objects: move, gather, share): first the choice of a branch, then each branch's
    fields, shown only while that branch is chosen. The choice is the branches' tag where they have one
    (it is then part of the reply), else a choice between their names that the reply leaves out."""
    key = tag(options, defs)
    if key is not None:
        picks = [tuple(fixed(resolve(o["properties"][key], defs))) for o in options]
        at = (*path, key)
        out.append(Field(at, f"{label} · {key}" if label else key, "enum", choices=tuple(v for p in picks for v in p),
                         default=picks[0][0], chooses=True, when=when))
    else:
        picks = [(name(options, k, None, defs),) for k in range(len(options))]
        at = path
        out.append(Field(at, label or "action", "enum", choices=tuple(p[0] for p in picks), default=picks[0][0],
                         chooses=True, sent=False, when=when))
    for option, pick in zip(options, picks):
        _properties(option, path, label, defs, out, depth + 1, (*when, (at, pick)), skip=key)


def _given(given: Any, fallback: Any) -> Any:
    return fallback if given is ... else given


def _resolve(s: dict, defs: dict, depth: int) -> tuple[dict | None, bool]:
    """`s` with $ref followed, a lone allOf unwrapped and anyOf/oneOf variants merged; and whether null is
    allowed. None when nothing but null is."""
    s = _deref(s, defs)
    variants = s.get("anyOf", s.get("oneOf"))
    if variants is None:
        nullable = s.get("type") == "null" or (isinstance(s.get("type"), list) and "null" in s["type"])
        if isinstance(s.get("type"), list):
            rest = [t for t in s["type"] if t != "null"]
            s = {**s, "type": rest[0]} if rest else None
        return (None if s is None or s.get("type") == "null" else s), nullable
    resolved = [_resolve(v, defs, depth + 1) for v in variants]
    nullable = any(n for _, n in resolved)
    kept = [v for v, _ in resolved if v is not None]
    return (_merge(kept) if kept else None), nullable


def _merge(variants: list[dict]) -> dict:
    """One schema that admits what each variant admits (and perhaps more)."""
    if len(variants) == 1:
        return variants[0]
    if all("enum" in v or "const" in v for v in variants):
        seen: list = []
        for v in variants:
            seen += [c for c in (v["enum"] if "enum" in v else [v["const"]]) if c not in seen]
        return {"enum": seen}
    types = {v.get("type") for v in variants}
    if types == {"object"}:
        names: list[str] = []
        for v in variants:
            names += [n for n in v.get("properties", {}) if n not in names]
        return {"type": "object", "properties": {
            n: {"anyOf": [v["properties"][n] for v in variants if n in v.get("properties", {})]} for n in names}}
    if types <= {"integer", "number"}:
        lows = [v.get("minimum") for v in variants]
        highs = [v.get("maximum") for v in variants]
        return {"type": "integer" if types == {"integer"} else "number",
                **({"minimum": min(lows)} if None not in lows else {}),
                **({"maximum": max(highs)} if None not in highs else {})}
    if types == {"string"}:
        lengths = [v.get("maxLength") for v in variants]
        return {"type": "string", **({"maxLength": max(lengths)} if None not in lengths else {})}
    if types == {"array"} and all(v.get("prefixItems") and v.get("items") is False for v in variants):
        width = max(len(v["prefixItems"]) for v in variants)  # tuples: position by position
        return {"type": "array", "items": False, "prefixItems": [
            {"anyOf": [v["prefixItems"][k] for v in variants if k < len(v["prefixItems"])]} for k in range(width)]}
    if types == {"array"}:
        return {"type": "array", "items": {"anyOf": [v["items"] for v in variants if v.get("items")]},
                "maxItems": max(v.get("maxItems", SLOTS) for v in variants)}
    return variants[0]  # unlike types: the first; the parse path judges the rest


# --- fields -> reply ---------------------------------------------------------------------------------
def _deref(s: dict, defs: dict) -> dict:
    """`s` with $ref followed and a lone allOf unwrapped (pydantic wraps a described $ref in one)."""
    for _ in range(20):
        if "$ref" in s:
            s = defs[s["$ref"].split("/")[-1]]
        elif len(s.get("allOf", [])) == 1:
            s = s["allOf"][0]
        else:
            break
    return s


def _fit(s: dict, data: Any, defs: dict, depth: int) -> Any:
    s = _deref(s, defs)
    if depth > 20:
        return data
    variants = s.get("anyOf", s.get("oneOf"))
    options = branches(s, defs)
    if options and len(options) > 1 and all(o.get("type") == "object" for o in options) and isinstance(data, dict):
        return _fit(options[aimed(options, data, defs)], data, defs, depth + 1)  # a variant: the branch aimed at
    if variants is not None:
        chosen = next((v for v in variants if _chooses(_deref(v, defs), data, defs)), None)
        return data if chosen is None else _fit(chosen, data, defs, depth + 1)
    if s.get("type") == "object" and isinstance(data, dict) and s.get("properties"):
        return {k: _fit(s["properties"][k], v, defs, depth + 1) for k, v in data.items() if k in s["properties"]}
    if s.get("type") == "array" and isinstance(data, list) and s.get("prefixItems"):
        return [_fit(s["prefixItems"][k], v, defs, depth + 1) if k < len(s["prefixItems"]) else v
                for k, v in enumerate(data)]
    if s.get("type") == "array" and isinstance(data, list) and s.get("items"):
        return [_fit(s["items"], v, defs, depth + 1) for v in data]
    return data


def _chooses(variant: dict, data: Any, defs: dict) -> bool:
    """Whether `data` is meant as this variant: the right kind, and every fixed value it sets matches."""
    if variant.get("type") == "null":
        return data is None
    if variant.get("prefixItems"):  # a tuple: the right length, and its fixed positions match
        if not isinstance(data, list):
            return False
        return all(_fixed_ok(_deref(sub, defs), value) for sub, value in zip(variant["prefixItems"], data))
    if variant.get("type") != "object":
        return data is not None
    if not isinstance(data, dict):
        return False
    return all(_fixed_ok(_deref(sub, defs), data[name])
               for name, sub in variant.get("properties", {}).items() if name in data)


def _fixed_ok(sub: dict, value: Any) -> bool:
    fixed = sub.get("enum", [sub["const"]] if "const" in sub else None)
    return fixed is None or value in fixed


def _whole(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def _read(f: Field, value: Any) -> Any:
    if value is None or (value == "" and f.optional and f.kind != "string"):
        return None
    if f.kind == "integer":
        whole = _whole(value)
        return whole if whole is not None else value
    if f.kind == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    if f.kind == "string":
        return str(value)
    if f.kind == "boolean":
        return bool(value)
    return value


def _put(root: dict, path: tuple, value: Any) -> None:
    node: Any = root
    for key, nxt in zip(path, path[1:]):
        fresh = [] if isinstance(nxt, int) else {}
        if isinstance(key, int):
            while len(node) <= key:
                node.append(None)
            if node[key] is None:
                node[key] = fresh
        else:
            node.setdefault(key, fresh)
        node = node[key]
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
        node[last] = value
    else:
        node[last] = value
