"""The one class a game developer subclasses.

A world is a set of rules over a plain-data state. Each turn the engine asks every live agent (observe +
action_schema), makes one batched model call, parses every reply into an action of the world's `Action`
model (or the agent's no-op), then calls `apply` once with all actions together.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, ClassVar, Generic, Mapping, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from sim import codec
from sim.portrayal import Portrait, portrait
from sim.records import Turn
from sim.errors import UsageError

S = TypeVar("S")
A = TypeVar("A", bound=BaseModel)


@dataclass
class Outcome(Generic[S]):
    """What `apply` (or a legend) returns: the new state and what happened, as JSON-able event dicts.
    Every event has a "kind"; worlds add whatever keys their viewers and checks need."""

    state: S
    events: list[dict] = field(default_factory=list)


class NoParams(BaseModel):
    """The parameters of a world that takes none."""

    model_config = ConfigDict(extra="forbid")


class ParamError(UsageError, ValueError):
    """A world parameter that is unknown or out of its declared bounds."""


def validate_params(world: type["World"], params: Mapping[str, Any]) -> dict[str, Any]:
    """`read_params` as JSON values, every parameter filled in (trace headers, sweeps, the web demo)."""
    return read_params(world, params).model_dump(mode="json")


def read_params(world: type["World"], params: Mapping[str, Any]) -> BaseModel:
    """`params` read and checked by the world's declared `Params` model, every parameter filled in: the
    instance a world reads as `self.params`. Text values (from `--set`) are read by each parameter's declared
    type: "false" is False, "0.2" is 0.2. A value or a rule the model refuses is one ParamError line."""
    model = world.Params
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        known = ", ".join(param_names(model)) or "none"
        where = getattr(world, "name", world.__name__)
        if err["type"] == "extra_forbidden":
            raise ParamError(f"world {where!r} has no parameter {key!r} (known: {known})") from None
        msg = err["msg"].removeprefix("Value error, ")
        if key not in param_names(model):  # a rule across parameters (e.g. collapse below stock)
            raise ParamError(f"world {where!r}: {msg} (known: {known})") from None
        raise ParamError(f"world {where!r}: {key}={params.get(key)}: {msg}; {describe_param(model, key)} "
                         f"(known: {known})") from None


def param_names(model: type[BaseModel]) -> dict[str, str]:
    """{name as users spell it (the alias, if any): field name} of a parameter model."""
    return {f.alias or name: name for name, f in model.model_fields.items()}


def describe_param(model: type[BaseModel], key: str) -> str:
    """One line about a declared parameter: its type, bounds and description, e.g.
    "pebbles: int, pebbles >= 3, pebbles <= 1000000, starting pebbles per creature"."""
    field_ = model.model_fields[param_names(model)[key]]
    if typing.get_origin(field_.annotation) is typing.Literal:
        kind = "one of " + ", ".join(map(repr, typing.get_args(field_.annotation)))
    else:
        kind = getattr(field_.annotation, "__name__", None) or str(field_.annotation).replace("typing.", "")
    bounds = []
    for rule in field_.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(rule, attr, None) is not None:
                bounds.append(f"{key} {sign} {getattr(rule, attr)}")
    return ", ".join([f"{key}: {kind}", *bounds, field_.description or ""]).rstrip(", ")


class World(Generic[S, A]):
    """A turn-based world. Its hooks come in three tiers:

    - core: what every world writes (`name`, `Action`, `initial_state`, `agents`, `observe`, `noop`, `apply`);
    - for models: what a world driven by language models adds to be read and answered well (`briefing`,
      `example`, `suggestion`, `parts`, `action_schema`, `news`, `check`, `mend`);
    - features: what a world may offer beyond that (interventions, one queue in the engine: `legends`/`legend`
      and `Patron`/`patron`; `portray`; `metrics` and `headline`; `invariants`; `done`; `role`; `heuristics`
      and `own_actions`; `reward`; `Params`, `agents_default` and what __init__ sets from them, `params` and
      `n_agents`; `to_json`/`from_json`/`state_type`; `config`).

    Every hook of the last two tiers has a default. The engine guarantees:

    - hooks get the engine's rng and nothing else random, so same seed + same replies -> same run;
    - `apply` receives one action per live agent (unreadable replies are already the agent's `noop`);
    - states are only ever passed forward: `apply` must return a new state and not mutate its input;
    - `self.params` is the world's `Params`, validated, and `self.n_agents` the agent count, before any hook.

    Agents may come and go: `agents(state)` may list new names and drop old ones from turn to turn. A name
    that left never comes back, and `reward` is still asked about an agent in the turn it left.
    """

    # === core: what every world writes ==========================================================
    name: ClassVar[str]
    Action: ClassVar[type[BaseModel]]  # one pydantic model: the JSON schema for decoding AND validation

    def initial_state(self, rng: np.random.Generator) -> S:
        """The opening state, built from `rng` only; annotate the return type (to_json/from_json read it)."""
        raise NotImplementedError

    def agents(self, state: S) -> list[str]:
        """Names of the agents that act this turn."""
        raise NotImplementedError

    def observe(self, state: S, agent: str) -> str:
        """Short per-agent text: what this agent knows now."""
        raise NotImplementedError

    def noop(self, agent: str) -> A:
        """What an unreadable or infeasible reply becomes."""
        raise NotImplementedError

    def apply(self, state: S, actions: Mapping[str, A], rng: np.random.Generator) -> Outcome[S]:
        """The turn: all actions at once -> Outcome(new state, events). Never change `state`."""
        raise NotImplementedError

    # === for models: what a model-driven world adds ===============================================
    briefing: ClassVar[str] = ""  # shared prompt part: rules and action format, identical for all agents
    example: ClassVar[str] = "{}"  # one worked example reply (JSON text), shown to models

    def suggestion(self, state: S, agent: str) -> dict | None:
        """The worked example this agent's prompt shows this turn, as an action dict (a reply this agent could
        send now), or None when its prompt shows none. The engine sets each model reply beside it, and a run's
        summary says how often models followed it exactly and where they departed (sim.agency). Default: None."""
        return None

    def parts(self, action: dict) -> dict[str, Any]:
        """An action dict as named parts, so a reply can be set beside the suggestion part by part: {name:
        value}. Default: its top-level keys. A world whose action is a list of orders names each order (the
        wood: "buy firewood" -> [qty, price])."""
        return dict(action)

    def action_schema(self, state: S, agent: str) -> dict:
        """JSON schema of what THIS agent may do now; narrow it so a constrained decoder cannot express
        an impossible or self-defeating action. Default: the Action model's schema. The engine, policies and
        viewers only read a schema, so a world may share parts of one between agents and turns."""
        return self.Action.model_json_schema()

    def news(self, state: S) -> str:
        """What every agent reads this turn alike (prices, weather, what was said aloud). Model backends send it
        once, ahead of every agent's own observation, so a server that caches prompt prefixes computes it once
        a turn instead of once an agent: put here what `observe` would otherwise repeat for each. Default:
        nothing."""
        return ""

    def check(self, state: S, agent: str, action: A) -> str | None:
        """Why this well-formed action is infeasible for this agent now, or None if it is fine."""
        return None

    def mend(self, state: S, agent: str, action: A) -> tuple[A, str] | None:
        """The part of an action `check` refused that this agent can do, and a short note of what was left out
        ("sell honey 1 at 9, which contradicts buy honey"), or None to make the whole reply a no-op. For
        actions made of independent parts (a list of orders): one bad part need not cost the good ones. The
        engine checks the mended action again and records the reply as repaired. Default: None."""
        return None

    # === features: interventions, drawing, numbers, rules, roles, baselines, parameters ============
    legends: ClassVar[Mapping[str, str]] = {}  # injectable events: name -> one-line description
    # what a person playing the patron may do in one act (its JSON schema is the patron's form); None: the
    # world has no patron seat
    Patron: ClassVar[type[BaseModel] | None] = None
    # sweep columns shown first, each "last.METRIC" (its value at the end) or "mean.METRIC" (its mean over the
    # turns); () shows the last value of the first three numbers `metrics` returns
    headline: ClassVar[tuple[str, ...]] = ()
    # the world's parameters: one pydantic model whose fields have types, bounds, descriptions and any rule
    # across fields (a validator); `--set`, sweeps and trace headers go through it, and an unknown or
    # out-of-bounds parameter is an error. The world reads the validated instance as `self.params`
    Params: ClassVar[type[BaseModel]] = NoParams
    # how many agents `agents=None` means; None: the world's own (n_agents stays None)
    agents_default: ClassVar[int | None] = None
    n_agents: int | None  # set by __init__: the agent count asked for, else agents_default
    params: BaseModel  # set by __init__: the validated, typed Params instance the rules read

    def __init__(self, agents: int | None = None, **params: Any):
        """`agents`: how many agents (None: `agents_default`); `params`: the world's parameters, by the names
        users spell them (JSON values or text), read and checked by `Params`. A world derives what its rules
        read from `self.params` (a property, or an `__init__` that calls this one first), never repeating a
        default or a check that belongs in `Params`."""
        if agents is not None and (isinstance(agents, bool) or not isinstance(agents, Integral) or agents < 1):
            raise ParamError(f"world {self.name!r}: agents must be a whole number >= 1, got {agents!r}")
        self.n_agents = self.agents_default if agents is None else int(agents)
        self.params = read_params(type(self), params)

    def legend(self, state: S, name: str, text: str | None = None) -> Outcome[S]:
        """Start legend `name` now (`text`: a player's custom rumour), at the start of a turn, before agents
        observe; pure, like `apply`. Raise ValueError("one-line reason") when it cannot start now: the engine
        records it as refused and the turn goes on. Unknown names raise KeyError."""
        raise KeyError(name)

    def patron(self, state: S, act: BaseModel) -> Outcome[S]:
        """Apply one patron act (already validated as `self.Patron`) at the start of a turn, before agents
        observe. Pure, like `apply`: return a new state. Raise ValueError("one-line reason") when the act
        cannot be done now; the engine records it as refused and the turn goes on."""
        raise ValueError(f"world {self.name!r} has no patron seat")

    def portray(self, turn: Turn) -> Portrait:
        """How viewers draw this turn: a Portrait (sim.portrayal) built from the record alone, never from a
        live state, so traces draw like live runs. Default: a disc per agent in its role's colour, with the
        numbers the state keeps per agent. Override it (worlds/wood/look.py shows how) for sprites, arrows
        and a background of your own."""
        try:
            state = self.from_json(turn.state)
            roles = {a: self.role(state, a) for a in self.agents(state)}
        except Exception:  # a record this world cannot read back still gets drawn, in one colour
            roles = None
        return portrait(turn, roles)

    def metrics(self, state: S, events: list[dict]) -> dict[str, Any]:
        """World numbers recorded every turn (flat numbers, or dicts of numbers)."""
        return {}

    def invariants(self, state: S, previous: S, events: list[dict]) -> list[str]:
        """Broken rules after a turn, as messages (checked by tests and sim.checks)."""
        return []

    def done(self, state: S) -> bool:
        """True when the world has ended (e.g. a collapse); the engine stops after this turn."""
        return False

    def role(self, state: S, agent: str) -> str:
        """The agent's group (a trade, a team): councils assign backends by it, viewers colour by it."""
        return ""

    def heuristics(self, state: S, agents: list[str], rng: np.random.Generator) -> dict[str, dict]:
        """A sensible baseline decision for each of `agents`, {agent: action dict}: the scripted policy's
        brain, called once a turn for all agents together (a simple world writes a dict comprehension; a big
        one decides with numpy over the state's columns). Draw chance only from `rng`, in a fixed order, so
        the same rng gives the same answers (check_world checks that, and that each answer is inside its
        agent's schema). Default: every agent's no-op."""
        return {agent: self.noop(agent).model_dump(mode="json") for agent in agents}

    def own_actions(self, state: S, agents: list[str], decided: list[dict]) -> list[tuple[A, dict] | None]:
        """The engine's batch path for the world's own decisions: `decided` is what `heuristics` answered for
        `agents` in this state, in their order. For each, the Action and its JSON dump exactly as
        sim.parse.parse reads the dict's JSON text when it is valid as is (read strictly, inside the agent's
        schema, feasible now), or None where the world does not vouch for that: that reply then takes the full
        parse path. Reading no text and building no schema is what keeps a scripted turn of thousands of
        agents cheap; check_world compares the two paths reply by reply and run by run. Default: None for every
        agent (every reply is parsed)."""
        return [None] * len(agents)

    def reward(self, state: S, previous: S, agent: str) -> float:
        """This agent's reward for the turn from `previous` to `state` (read by sim.pettingzoo for
        reinforcement learning; the engine never calls it). It is asked for every agent that acted in
        `previous`, including one that left during the turn and so is missing from `state` and from
        `agents(state)`: answer for it without looking it up in `state` (check_world plays until an agent
        leaves, when agents come and go, and reports a reward that raises). An agent that arrived during
        the turn is not asked about until it has acted."""
        return 0.0

    def to_json(self, state: S) -> dict:
        """The state as JSON values (trace lines, checkpoints, viewers). Default: sim.codec by annotations."""
        return codec.encode(state)

    def from_json(self, data: dict) -> S:
        """A state back from `to_json`'s form; it must play on exactly like the original."""
        return codec.decode(self.state_type(), data)

    def state_type(self) -> type:
        """The class of this world's state; the default reads it from initial_state's annotation."""
        return codec.return_type(type(self).initial_state)

    def config(self) -> dict:
        """What rebuilds this world: its name, agent count and parameters as JSON (written to trace headers)."""
        return {"world": self.name, "agents": self.n_agents, **self.params.model_dump(mode="json")}
