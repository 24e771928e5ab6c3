"""States to JSON and back, without pickle.

A state is a pydantic model or a dataclass whose fields are JSON values, numpy arrays or nested
dataclasses/pydantic models. numpy arrays are written as (nested) lists; decoding uses the field's type
annotation to turn them back into arrays. JSON keeps ints and floats apart ("1" vs "1.0"), so int64 and
float64 arrays come back with the same dtype.
"""
from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any

import numpy as np
from pydantic import BaseModel


PLAIN = frozenset({str, int, float, bool, type(None)})  # JSON values as they are (exact types: not numpy's)


def encode(obj: Any) -> Any:
    # lists first: a state's lists hold thousands of small lists (one per agent), the other kinds are few
    if isinstance(obj, (list, tuple)):
        if not obj or isinstance(obj[0], (str, int, float)):  # state lists are homogeneous: copy flat ones
            return list(obj)
        return [encode(v) for v in obj]
    if isinstance(obj, dict):  # most values are plain (a loan's numbers, an effect's name): no call for them
        return {k: v if type(v) in PLAIN else encode(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if dataclasses.is_dataclass(obj):
        return {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return obj


def decode(cls: Any, data: Any) -> Any:
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return cls.model_validate(data)
    if cls is np.ndarray:
        return np.asarray(data)
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: decode(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data})
    origin = typing.get_origin(cls)
    if origin in (list, tuple) and isinstance(data, list):
        args = typing.get_args(cls)
        items = [decode(args[0], v) for v in data] if args else data
        return items if origin is list else tuple(items)
    if origin is dict and isinstance(data, dict):
        args = typing.get_args(cls)
        return {k: decode(args[1], v) for k, v in data.items()} if args else data
    return data


def return_type(fn: Any) -> type:
    return typing.get_type_hints(fn)["return"]


# --- text that JSON writers accept -----------------------------------------------------------------------
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # legal in a Python str (and in a JSON escape), not in UTF-8
MAX_DEPTH = 200  # orjson refuses deeper nesting than 255
INT_RANGE = (-(2**63), 2**64 - 1)  # what orjson writes as a JSON integer


def clean_text(text: str | None) -> str | None:
    """`text` as valid Unicode: each lone surrogate (e.g. from a reply's "\\ud800" escape) becomes U+FFFD."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return LONE_SURROGATE.sub("\ufffd", text)
    return text


def clean_count(value: Any) -> int | None:
    """A token count a server reported, or None when it is not a non-negative integer JSON can carry."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2**53
    return value if ok else None


def plain(obj: Any, depth: int = 0) -> Any:
    """`obj` as JSON data any writer accepts: text made valid Unicode, integers out of 64-bit range written
    as their digits, nesting deeper than MAX_DEPTH written as text. For data a world or a file produced
    that orjson refused; everything the engine makes itself is clean before it gets here."""
    if depth > MAX_DEPTH:
        return clean_text(repr(obj)[:1000])
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, bool) or obj is None or isinstance(obj, float):
        return obj
    if isinstance(obj, int):
        return obj if INT_RANGE[0] <= obj <= INT_RANGE[1] else str(obj)
    if isinstance(obj, dict):
        return {clean_text(str(k)): plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v, depth + 1) for v in obj]
    if isinstance(obj, BaseModel) or dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return plain(vars(obj) if dataclasses.is_dataclass(obj) else obj.model_dump(mode="python"), depth)
    if isinstance(obj, (np.ndarray, np.generic)):
        return plain(obj.tolist(), depth)
    return clean_text(str(obj))
