"""One run's settings, in one place: which world (name, agent count, parameters), the seed and length, and
who decides (policy, backend, model, server, council, temperature). Every entry point (the CLI's run and
replay, sweeps, the viewers' live runs, the web demo, Modal) builds a RunConfig once and makes the world,
the policy and the engine from it; the trace header records it whole, and `RunConfig.from_json(header
["config"])` rebuilds the same run (resume, replay, fork, viewers of a trace).

The factories for worlds and policies live here too, so the CLI, sweeps and viewers share them without
importing one another.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from sim import registry
from sim.errors import UsageError, UserError
from sim.policy import PolicyOptions
from sim.world import World, param_names, validate_params


@dataclass(frozen=True)
class RunConfig:
    world: str = "wood"
    agents: int | None = None  # None: the world's own default
    params: Mapping[str, Any] = field(default_factory=dict)  # world parameters, as the world's Params reads them
    seed: int = 0
    turns: int | None = None  # None: no set end (a live viewer)
    policy: str = "scripted"
    backend: str = "auto"
    model: str | None = None
    url: str | None = None
    council: str | None = None
    temperature: float = 0.7
    fork_of: str | None = None  # a fork: the trace whose first fork_at turns it replayed (see sim.fork)
    fork_at: int | None = None
    fork_sha256: str | None = None  # sha256 of the source's header and first fork_at turn lines, as forked

    def __post_init__(self):
        # checked once, here, so every entry point fails the same way on the same mistake
        object.__setattr__(self, "agents", agent_count(self.agents))
        object.__setattr__(self, "params", typed_params(self.world, dict(self.params)))
        if self.turns is not None and not _whole(self.turns, 0):
            raise UsageError(f"turns must be a whole number, at least 0 (got {self.turns!r})")
        if self.fork_at is not None and not _whole(self.fork_at, 0):
            raise UsageError(f"fork_at must be a whole number, at least 0 (got {self.fork_at!r})")
        for name in ("policy", "backend", "model", "url", "council", "fork_of", "fork_sha256"):
            value = getattr(self, name)
            if not isinstance(value, str) and (value is not None or name in ("policy", "backend")):
                raise UsageError(f"{name} must be text (got {value!r})")
        object.__setattr__(self, "temperature", temperature_value(self.temperature))
        if self.url:
            check_url(self.url)

    def to_json(self) -> dict[str, Any]:
        """The trace header's form: flat, world parameters beside the run's own keys (as world.config())."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "params"}
        return {**dict(self.params), **flat}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], **changes: Any) -> "RunConfig":
        """A header's config back as a RunConfig (keys it does not know are world parameters), with
        `changes` applied (e.g. policy="replay" to re-run a trace from its recorded replies)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"params"}
        known = {k: v for k, v in data.items() if k in names and k not in changes}
        params = {k: v for k, v in data.items() if k not in names}
        return cls(**{**known, "params": params, **changes})

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def make_world(self) -> World:
        return make_world(self.world, self.agents, dict(self.params))

    def options(self, **extra: Any) -> PolicyOptions:
        """What the policy factory gets: the policy settings and the seed, plus `extra` (announce, trace)."""
        return PolicyOptions(backend=self.backend, model=self.model or None, url=self.url, seed=self.seed,
                             temperature=self.temperature, council=self.council, **extra)

    def make_policy(self, factory: Callable[[str, PolicyOptions], Any] | None = None, **extra: Any):
        return (factory or make_policy)(self.policy, self.options(**extra))


MAX_TEMPERATURE = 2.0  # OpenAI's bound; a small model past it writes noise, not a bolder policy


def temperature_value(value: Any) -> float:
    """A sampling temperature from 0 to MAX_TEMPERATURE; UsageError for NaN, infinities, negatives and the rest."""
    try:
        number = float(value) if not isinstance(value, (bool, str)) else math.nan
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not 0 <= number <= MAX_TEMPERATURE:  # False for NaN too
        raise UsageError(f"temperature must be a number from 0 to {MAX_TEMPERATURE:g} (got {value!r})")
    return number


def check_url(url: str) -> None:
    """UsageError, saying what is wrong, for a server URL that no HTTP client can use (a bracket left open,
    a port past 65535, no host, another scheme)."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # raises for a port that is not a port
    except ValueError as exc:
        raise UsageError(f"--url {url!r} is not a URL ({exc}); e.g. http://127.0.0.1:8000/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {url!r} is not an http(s) URL with a host; e.g. http://127.0.0.1:8000/v1")


def _whole(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def world_params(pairs: list[str]) -> dict[str, Any]:
    """`--set KEY=VALUE` pairs as text; `make_world` reads each value by the type the world declares."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--set wants KEY=VALUE, got {pair!r}")
        params[key] = None if value.lower() in ("none", "null") else value
    return params


def typed_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` (text from `--set`, or JSON values from a trace) checked by the world's declared Params and
    read by their types; only the keys given, so a sweep's grid keeps its own axes."""
    full = validate_params(registry.get_world(name), params)
    names = param_names(registry.get_world(name).Params)
    return {key: full[key] for key in params if key in names}


def make_world(name: str, agents: Any, params: dict[str, Any]) -> World:
    """The world `name` with `agents` agents (None: the world's default) and parameters checked against its
    declared Params: an unknown key or a value out of bounds is a one-line UsageError naming the known ones."""
    cls = registry.get_world(name)
    typed = validate_params(cls, params)
    try:
        return cls(agents=agent_count(agents), **typed)  # keys as the constructor spells them (aliases)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, UserError):
            raise
        raise UsageError(f"world {name!r}: {exc}") from exc


def agent_count(value: Any) -> int | None:
    """None (the world's default) or a whole number >= 1: `--agents 0` or `-1` is an error, never a quiet
    fall-back to the default count."""
    if value is None:
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"agents must be a whole number, at least 1 (got {value!r})") from None
    if n < 1 or n != float(value):
        raise UsageError(f"agents must be a whole number, at least 1 (got {value!r})")
    return n


def make_policy(name: str, opts: PolicyOptions):
    """The policy registered as `name` (entry point group "smallworlds.policies"), built from `opts`."""
    return registry.load_plugin(registry.POLICIES, name)(opts)


def add_policy_flags(p: argparse.ArgumentParser, inherited: bool = False) -> None:
    """The flags of RunConfig's policy fields, shared by `run`, `sweep` and other commands. `inherited`
    (`fork`): no defaults; a flag not given keeps what the trace being read had."""
    def default(value):
        return None if inherited else value

    def said(value) -> str:
        return f"(default: {'as in the trace' if inherited else value})"

    p.add_argument("--policy", default=default("scripted"), help=f"scripted | llm | chaos | replay {said('scripted')}")
    p.add_argument("--backend", default=default("auto"),
                   help=f"for --policy llm: auto | vllm | embedded | openai | modal {said('auto')}")
    p.add_argument("--model", default=None, help="model id or local path")
    p.add_argument("--url", default=None, help="OpenAI-compatible server base URL (openai backend)")
    p.add_argument("--council", default=None, help="JSON file assigning backends to agents or roles")
    p.add_argument("--temperature", type=float, default=default(0.7), help=said(0.7))


def check_writable(out: Path) -> None:
    """A one-line UsageError now, rather than a traceback after the first turn, when `out` cannot be written.
    Leaves no trace of the check: folders it had to make are removed again (the run makes them when it
    starts), so a command refused after this check leaves the disk as it found it."""
    made = [p for p in (out, *out.parents) if not os.path.lexists(p)]
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    finally:
        for folder in made:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()
