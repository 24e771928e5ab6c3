"""`python -m sim describe --world NAME`: what a world offers, read from the world itself. Its parameters
(type, default, bounds, description, from its `Params` model), its legends, the metrics one turn records,
its agents' action schema in the opening state, the worked example and the patron's act where it has one.

`facts(name)` gathers them as plain data; the command prints them as text (or `--json`), and the web demo
builds its parameter controls from `param_facts`, so the page and the command cannot disagree.
"""
from __future__ import annotations

import argparse
import json
import typing
from typing import Any

from pydantic import BaseModel

from sim.config import RunConfig, world_params
from sim.engine import Engine
from sim.records import ENGINE_METRICS

BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))


def param_facts(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Each declared parameter as {name (as users spell it), type ("int", "float", "bool", "str" or
    "choice"), optional (None allowed), default, choices (for "choice"), bounds {"ge": 3, ...}, description}."""
    out = []
    for name, field_ in model.model_fields.items():
        kind, optional, choices = _kind(field_.annotation)
        bounds = {attr: getattr(rule, attr) for rule in field_.metadata for attr, _ in BOUNDS
                  if getattr(rule, attr, None) is not None}
        out.append({"name": field_.alias or name, "type": kind, "optional": optional,
                    "default": field_.get_default(call_default_factory=True), "choices": choices,
                    "bounds": bounds, "description": field_.description or ""})
    return out


def shown_default(fact: dict[str, Any]) -> str:
    """A parameter's default as a person reads it: "none" for None, "empty" for ""."""
    default = fact["default"]
    if default is None:
        return "none"
    return "empty" if default == "" else str(default)


def _kind(annotation: Any) -> tuple[str, bool, list | None]:
    """(type name, whether None is allowed, the choices of a Literal) of a parameter's annotation."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return "choice", False, list(args)
    if type(None) in args:  # int | None, Optional[int]
        rest = [a for a in args if a is not type(None)]
        kind, _, choices = _kind(rest[0]) if len(rest) == 1 else ("any", False, None)
        return kind, True, choices
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", ""), False, None


def facts(config: RunConfig) -> dict[str, Any]:
    """What `describe` shows of the world `config` makes: one scripted turn is played (without writing
    anything) to learn the metrics it records."""
    world = config.make_world()
    cls = type(world)
    engine = Engine(world, config.make_policy(), seed=config.seed)
    state = engine.state
    agents = world.agents(state)
    turn = engine.step()
    return {
        "world": world.name,
        "about": (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
        "agents": len(agents),
        "params": param_facts(cls.Params),
        "legends": dict(world.legends),
        "metrics": [k for k in turn.metrics if k not in ENGINE_METRICS],
        "engine_metrics": [k for k in turn.metrics if k in ENGINE_METRICS],
        "schema_for": agents[0],
        "schema": world.action_schema(state, agents[0]),
        "example": world.example,
        "patron": cls.Patron.model_json_schema() if cls.Patron is not None else None,
    }


def text(f: dict[str, Any]) -> str:
    """The facts as a few readable sections."""
    lines = [f"world {f['world']}: {f['about']}" if f["about"] else f"world {f['world']}",
             f"agents: {f['agents']} by default (--agents N)", "", "parameters (--set KEY=VALUE):"]
    for p in f["params"]:
        kind = "one of " + ", ".join(map(str, p["choices"])) if p["type"] == "choice" else p["type"]
        bounds = [f"{sign} {p['bounds'][attr]}" for attr, sign in BOUNDS if attr in p["bounds"]]
        said = ", ".join([kind + (" or none" if p["optional"] else ""), *bounds, f"default {shown_default(p)}"])
        lines.append(f"  {p['name']}: {said}" + (f" -- {p['description']}" if p["description"] else ""))
    if not f["params"]:
        lines.append("  none")
    lines += ["", "legends (--legend NAME@TURN):"]
    lines += [f"  {name}: {about}" for name, about in f["legends"].items()] or ["  none"]
    lines += ["", "metrics (each turn, in trace.jsonl, metrics.csv and summary.json):",
              "  " + (", ".join(f["metrics"]) or "none"), "  and from the engine: " + ", ".join(f["engine_metrics"])]
    lines += ["", f"action schema ({f['schema_for']}, turn 0):", json.dumps(f["schema"], indent=2),
              "", "worked example reply:", f"  {f['example']}"]
    if f["patron"] is not None:
        lines += ["", "patron act schema:", json.dumps(f["patron"], indent=2)]
    return "\n".join(lines)


# --- the command -------------------------------------------------------------------------------------
def add(p: argparse.ArgumentParser) -> None:
    p.add_argument("--world", default="wood", help="registered world name (default: wood)")
    p.add_argument("--agents", type=int, default=None, help="number of agents (default: the world's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a world parameter")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.set_defaults(func=describe)


def describe(args: argparse.Namespace) -> int:
    config = RunConfig(world=args.world, agents=args.agents, params=world_params(args.set))
    found = facts(config)
    print(json.dumps(found, indent=1, default=str) if args.json else text(found))
    return 0
