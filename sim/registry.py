"""Worlds and policies found by name, through entry points, so third-party packages plug in without the
engine importing them: a package declares

    [project.entry-points."smallworlds.worlds"]
    mygame = "mygame.world:MyWorld"

and `mygame` appears in the CLI and the web demo. smallworlds registers its own worlds the same way.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

WORLDS = "smallworlds.worlds"
POLICIES = "smallworlds.policies"
SINGULAR = {WORLDS: "world", POLICIES: "policy"}


class UnknownName(LookupError):
    """A name that no installed package registered; the message lists the known ones."""


def names(group: str) -> list[str]:
    return sorted({ep.name for ep in entry_points(group=group)})


def load(group: str, name: str) -> Any:
    found = [ep for ep in entry_points(group=group) if ep.name == name]
    if not found:
        kind = SINGULAR.get(group, group)
        raise UnknownName(f"unknown {kind} {name!r} (installed: {', '.join(names(group)) or 'none'})")
    return found[0].load()


def get_world(name: str) -> type:
    return load(WORLDS, name)


def world_names() -> list[str]:
    return names(WORLDS)
