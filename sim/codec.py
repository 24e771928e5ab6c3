"""States to JSON and back, without pickle.

A state is a pydantic model or a dataclass whose fields are JSON values, numpy arrays or nested
dataclasses/pydantic models. numpy arrays are written as (nested) lists; decoding uses the field's type
annotation to turn them back into arrays. JSON keeps ints and floats apart ("1" vs "1.0"), so int64 and
float64 arrays come back with the same dtype.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any

import numpy as np
from pydantic import BaseModel


def encode(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if dataclasses.is_dataclass(obj):
        return {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if not obj or isinstance(obj[0], (str, int, float)):  # state lists are homogeneous: copy flat ones
            return list(obj)
        return [encode(v) for v in obj]
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
