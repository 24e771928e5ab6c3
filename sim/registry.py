"""Worlds and policies found by name, through entry points, so third-party packages plug in without the
engine importing them: a package declares

    [project.entry-points."smallworlds.worlds"]
    mygame = "mygame.world:MyWorld"

and `mygame` appears in the CLI and the web demo. smallworlds registers its own worlds the same way.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from sim.errors import UserError

WORLDS = "smallworlds.worlds"
POLICIES = "smallworlds.policies"
SINGULAR = {WORLDS: "world", POLICIES: "policy"}


class UnknownName(LookupError):
    """A name that no installed package registered; the message lists the known ones."""


class BrokenPlugin(UserError):
    """A registered name whose package is missing or fails when imported: a broken installation, which the
    user fixes by reinstalling or uninstalling that package."""


def names(group: str) -> list[str]:
    return sorted({ep.name for ep in entry_points(group=group)})


def load(group: str, name: str) -> Any:
    found = [ep for ep in entry_points(group=group) if ep.name == name]
    if not found:
        kind = SINGULAR.get(group, group)
        raise UnknownName(f"unknown {kind} {name!r} (installed: {', '.join(names(group)) or 'none'})")
    return found[0].load()


def get_world(name: str) -> type:
    return load_plugin(WORLDS, name)


def load_plugin(group: str, name: str) -> Any:
    """`load`, with anything the plugin's import raises turned into one BrokenPlugin line that names the
    package to fix (a world or policy is third-party code; its own bug must not look like ours)."""
    try:
        return load(group, name)
    except UnknownName:
        raise
    except Exception as exc:
        ep = next(ep for ep in entry_points(group=group) if ep.name == name)
        where = ep.dist.name if ep.dist is not None else ep.value
        what = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        raise BrokenPlugin(f"the {SINGULAR.get(group, group)} {name!r} is registered by {where} ({ep.value}) but "
                           f"cannot be loaded ({what}): reinstall or uninstall {where}") from exc


def world_names() -> list[str]:
    return names(WORLDS)
