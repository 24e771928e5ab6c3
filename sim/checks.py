"""`check_world`: does a World subclass keep the promises the engine, the models and the viewers rely on?

Like Gymnasium's `check_env`: call it on any world (tests call it on every registered one). It plays two
seeded runs, one with the world's heuristics and one with random schema-valid actions and every legend, and
checks along the way that:

- the no-op is a valid, feasible Action that the agent's schema also admits;
- every action schema is valid JSON Schema (Draft 2020-12) and usable by a constrained decoder (an object
  root, or a union of closed objects; supported keywords only, bounded strings, arrays and numbers), the Action
  accepts what it admits, and each branch of a root union admits a reply;
- `heuristics` answers for exactly the agents it is given, inside each agent's schema, and the same rng gives
  the same answers (a world still defining the old one-agent `heuristic` is told to rename it);
- garbage replies become no-ops through `sim.parse.parse`;
- a worked example (`suggestion`) is inside the agent's schema and parses as a valid action;
- the batch path for the world's own decisions (`own_actions`) gives exactly what parsing each reply's text
  gives, reply by reply in sampled states and over a whole scripted run;
- `apply` and `legend` never mutate their input state;
- the same seed and the same replies give the same run;
- states, events, metrics and Turn records survive a trip through JSON text, and a restored state plays on
  exactly like the original;
- the world's own `invariants` hold after every turn of both runs;
- `reward` answers with a finite number for every agent that acted, and agents that come and go keep their
  contract (sim/comings.py): a random run goes on until an agent has left and one has arrived (up to
  COMINGS_TURNS turns; a world whose agents never change is asked only for its rewards); `reward` answers for
  an agent that left during the turn, an arrival is observed, schemed, rewarded and drawn like any agent, a
  departed one leaves the picture and its name never comes back;
- a world with a patron seat (`Patron`): some act drawn from its schema (text fields set to agents' names)
  applies, `patron` refuses others
  only with ValueError, never mutates its input, and the state it returns survives JSON.

Every problem is collected, then raised together as one WorldCheckError; each message names its fix.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Sequence

import numpy as np
from pydantic import BaseModel

from sim.check_decisions import EXAMPLES_PER_ASK, check_ask, check_heuristics, heuristic_action
from sim.check_report import Report, dumps, json_text
from sim.comings import Watch, changed, check_comings
from sim.engine import Engine
from sim.policy import Ask, Batch, Reply, heuristics
from sim.records import Turn
from sim.schemas import example
from sim.world import Outcome, World

COMINGS_TURNS = 60  # most turns played looking for an agent that leaves and one that arrives
GARBAGE = [None, "", "   ", "not json at all", "[1, 2, 3]", "null", "42", '"just a string"', "{" * 200,
           "\x00\x01\x02\xff", '{"a": ' * 50]


class WorldCheckError(AssertionError):
    """A world broke promises the engine relies on; `problems` lists each one with its fix."""

    def __init__(self, world: str, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"- {p}" for p in problems)
        super().__init__(f"world {world!r} failed {len(problems)} check(s):\n{lines}")


def check_world(world: World, *, seed: int = 0, turns: int = 20) -> None:
    """Raise WorldCheckError listing every problem found in `world` over seeded runs of `turns` turns."""
    report = Report()
    if _basics(world, report):
        scripted = _play(world, _Heuristic(seed), seed, turns, {}, report, "scripted run")
        legends: dict[int, list[str]] = {}  # every legend once, spread over the run from turn 1
        for k, name in enumerate(world.legends):
            legends.setdefault(1 + k % max(turns - 1, 1), []).append(name)
        randomly = _play(world, _RandomValid(seed), seed, turns, legends, report, "random run")
        again = _play(world, _Heuristic(seed), seed, turns, {}, Report(), "")
        if [_comparable(s.turn) for s in scripted] != [_comparable(s.turn) for s in again]:
            report.add("same seed + same replies gave a different run: draw randomness only from the rng "
                       "passed to the hooks, and iterate in a fixed order (no sets, no id())")
        parsed = _play(world, _Heuristic(seed, own=False), seed, turns, {}, Report(), "")
        if [_comparable(s.turn) for s in again] != [_comparable(s.turn) for s in parsed]:
            report.add("a scripted run read through own_actions differs from the same run with every reply "
                       "parsed: own_actions must give exactly what parsing gives, or None where unsure")
        steps = scripted + randomly
        sampled = [s.after for s in steps[:: max(1, len(steps) // 8)]]  # about 8 states cover both runs
        states = [world.initial_state(np.random.default_rng(seed)), *sampled]
        for k, state in enumerate(states):
            decided = check_heuristics(world, state, seed, report)
            for n, agent in enumerate(world.agents(state)):
                check_ask(world, state, agent, np.random.default_rng([seed, k]), report, decided.get(agent),
                           garbage=k == n == 0)
            _check_apply(world, state, seed, decided, report)
        _check_legends(world, states[-1], report)
        _check_patron(world, states[:3], seed, report)
        for step in steps:
            _check_turn(world, step, report)
        comings = _play(world, _RandomValid(seed), seed, max(turns, COMINGS_TURNS), {}, report, "come-and-go run",
                        until=Watch(world))
        for step in comings:  # the world's own rules over the turns agents came and went
            if any(changed(world, step)):
                _check_turn(world, step, report)
        check_comings(world, comings, report, check_ask)
    if report.problems:
        raise WorldCheckError(getattr(world, "name", type(world).__name__), report.problems)


# --- the world as a whole --------------------------------------------------------------------------------
def _basics(world: World, report: Report) -> bool:
    """Class attributes and setup hooks; False when nothing further can run."""
    if not isinstance(getattr(world, "name", None), str) or not world.name:
        report.add("set the class attribute `name` to the world's registered name")
    action = getattr(world, "Action", None)
    if not (isinstance(action, type) and issubclass(action, BaseModel)):
        report.add("set the class attribute `Action` to a pydantic BaseModel subclass (a union of actions: wrap it, "
                   "class Action(RootModel[Annotated[Move | Share, Field(discriminator='do')]]))")
        return False
    _check_params(world, report)
    if callable(getattr(type(world), "heuristic", None)) and type(world).heuristics is World.heuristics:
        report.add("the world defines heuristic(state, agent, rng), which nothing calls any more: rename it to "
                   "heuristics(state, agents, rng) and return {agent: action dict} for all the agents given at once, "
                   "e.g. {a: <what heuristic returned for a> for a in agents}")
    with report.guard("World.example", "set `example` to JSON text of one good reply the Action accepts"):
        action.model_validate_json(world.example)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in world.legends.items()):
        report.add("`legends` must map each legend name to a one-line description (str -> str)")
    with report.guard("initial_state", "build the state from the rng argument only"):
        state = world.initial_state(np.random.default_rng(0))
        agents = world.agents(state)
        if not agents or not all(isinstance(a, str) for a in agents) or len(set(agents)) != len(agents):
            report.add(f"agents() must return a non-empty list of distinct names (str), got {agents!r}")
            return False
        return True
    return False


def _check_params(world: World, report: Report) -> None:
    """The world declares its parameters as a model that fills every default, refuses unknown keys, says
    what each one means, and rebuilds the same world from what a trace header records."""
    params = getattr(world, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        report.add("set the class attribute `Params` to a pydantic model of the world's parameters "
                   "(sim.world.NoParams when it has none)")
        return
    if params.model_config.get("extra") != "forbid":
        report.add("Params must refuse unknown keys, so a typo is an error: model_config = ConfigDict(extra='forbid')")
    for name, info in params.model_fields.items():
        if not info.description:
            report.add(f"parameter {name!r} has no description: Field(default, description='one line'), shown "
                       "in error messages, the CLI and the web demo")
    with report.guard("rebuilding the world from its config()", "__init__ must take every parameter of Params "
                      "under its own name, with a default, and values must be JSON (str, int, float, bool)"):
        recorded = json.loads(json.dumps(world.config(), allow_nan=False))
        rebuilt = type(world)(agents=recorded.pop("agents"), **{k: v for k, v in recorded.items() if k != "world"})
        if rebuilt.config() != world.config():
            report.add(f"a world rebuilt from its trace header's config differs ({rebuilt.config()} != "
                       f"{world.config()}): pass every parameter on to World.__init__ unchanged")


def _play(world, policy, seed: int, turns: int, legends: dict, report: Report, label: str,
          until: Callable[["_Step"], bool] | None = None) -> list["_Step"]:
    """A seeded engine run, recording the state before each turn so invariants can compare; it stops early
    once `until(step)` is true."""
    steps: list[_Step] = []
    with report.guard(f"the {label}", "the traceback below shows where it failed"):
        engine = Engine(world, policy, seed=seed, legends=legends)
        before, snapshot = engine.state, dumps(world.to_json(engine.state))
        for turn in engine.run(turns):
            if dumps(world.to_json(before)) != snapshot:
                report.add(f"a state changed after it was passed to legend or apply ({label}, turn {turn.turn}): "
                           "copy the state and change the copy", key=("changed in", label))
            steps.append(_Step(label, before, engine.state, turn))
            before, snapshot = engine.state, dumps(world.to_json(engine.state))
            if until is not None and until(steps[-1]):
                break
        for key, problem in policy.problems:
            report.add(problem, key=key)
    return steps


class _Step:
    __slots__ = ("after", "before", "label", "turn")

    def __init__(self, label: str, before: Any, after: Any, turn: Turn):
        self.label, self.before, self.after, self.turn = label, before, after, turn


class _Heuristic:
    """The world's heuristics answered as JSON text, the way the scripted backend answers."""

    salt: tuple[int, ...] = ()  # keeps the random policy's draws apart from the heuristics'

    def __init__(self, seed: int, own: bool = True):
        self.seed = seed
        self.own = own  # hand the engine the decision beside its text, as the scripted backend does
        self.problems: list[tuple] = []  # (dedup key, message)

    def answers(self, asks: Sequence[Ask], rng: np.random.Generator) -> dict[str, Any]:
        """{agent: action dict, or the exception that stopped it}."""
        try:
            return dict(zip((ask.agent for ask in asks), heuristics(asks, rng)))
        except Exception as exc:
            return {ask.agent: exc for ask in asks}

    def decide(self, turn: int, asks: Sequence[Ask]) -> Batch:
        answers = self.answers(asks, np.random.default_rng([self.seed, turn, *self.salt]))
        return Batch({ask.agent: self._reply(ask, answers[ask.agent]) for ask in asks})

    def _reply(self, ask: Ask, answer: Any) -> Reply:
        try:
            if isinstance(answer, Exception):
                raise answer
            return Reply(json.dumps(answer), own=answer if self.own else None)
        except Exception as exc:  # reported as a problem; the run goes on with this agent's no-op
            who = type(self).__name__[1:]
            self.problems.append(((who, type(exc)), f"{who} policy failed for {ask.agent} at turn {ask.turn}: "
                                  f"{type(exc).__name__}: {str(exc)[:200]} (fix: heuristics and action_schema "
                                  "must work for every live agent in every state)"))
            return Reply(None, error="check policy failed")

    def describe(self, asks: Sequence[Ask]) -> dict[str, dict]:
        return {}


class _RandomValid(_Heuristic):
    """Random replies that the agent's own action schema admits."""

    salt = (1,)

    def __init__(self, seed: int):
        super().__init__(seed, own=False)  # random replies are not the world's own

    def answers(self, asks: Sequence[Ask], rng: np.random.Generator) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ask in asks:
            try:
                out[ask.agent] = example(ask.schema, rng)
            except Exception as exc:
                out[ask.agent] = exc
        return out


# --- one agent in one state ------------------------------------------------------------------------------
def _check_apply(world: World, state: Any, seed: int, decided: dict, report: Report) -> None:
    """apply leaves its input alone, and a state restored from JSON text plays on identically (the actions:
    `decided`, heuristics' answers, through the parse path)."""
    text = json_text(world.to_json(state), "to_json(state)", report)
    if text is None:
        return
    snapshot = dumps(json.loads(text))
    actions = {a: heuristic_action(world, state, a, decided) for a in world.agents(state)}
    with report.guard("apply", "apply(state, actions, rng) must accept one action per live agent"):
        outcome = world.apply(state, actions, np.random.default_rng(seed))
        if not isinstance(outcome, Outcome):
            report.add("apply must return an Outcome(state, events)")
            return
        if dumps(world.to_json(state)) != snapshot:
            report.add("apply mutated its input state: start apply with a copy (dataclasses.replace plus "
                       "array.copy(), or model_copy(deep=True)) and change only the copy")
        json_text(outcome.events, "the events apply returns", report)
        with report.guard("to_json/from_json", "fields must be JSON values, numpy arrays or nested dataclasses, "
                          "annotated with their types (or override to_json/from_json)"):
            restored = world.from_json(json.loads(text))
            if dumps(world.to_json(restored)) != snapshot:
                report.add("from_json(to_json(state)) differs from state: annotate every field with its real "
                           "type (np.ndarray for arrays) or override to_json/from_json")
                return
            again = world.apply(restored, actions, np.random.default_rng(seed))
            if dumps(world.to_json(again.state)) != dumps(world.to_json(outcome.state)):
                report.add("a state restored from JSON plays on differently from the original: keep array "
                           "dtypes (int64/float64) and derive cached values from the fields")


def _check_legends(world: World, state: Any, report: Report) -> None:
    for name in world.legends:
        for text in (None, "a traveller says the rules have changed"):
            with report.guard(f"legend({name!r}, text={text!r})", "start every listed legend from any state, "
                              "or raise ValueError('why') when it cannot start now"):
                snapshot = dumps(world.to_json(state))
                try:
                    outcome = world.legend(state, name, text)
                except ValueError:  # refused now: the engine records it so, and the turn goes on
                    continue
                if not isinstance(outcome, Outcome):
                    report.add(f"legend {name!r} must return an Outcome(state, events)")
                elif dumps(world.to_json(state)) != snapshot:
                    report.add(f"legend {name!r} mutated its input state: change a copy")


def _check_patron(world: World, states: list, seed: int, report: Report) -> None:
    patron = world.Patron
    if patron is None:
        return
    if not (isinstance(patron, type) and issubclass(patron, BaseModel)):
        report.add("`Patron` must be a pydantic BaseModel subclass, or None when the world has no patron seat")
        return
    fix = "patron(state, act) must return an Outcome, or raise ValueError when the act cannot be done now"
    with report.guard("Patron.model_json_schema()", "make Patron a model whose schema a form can show"):
        schema = patron.model_json_schema()
        rng = np.random.default_rng(seed)
        drawn = [*schema.get("examples", []), *(example(schema, rng) for _ in range(4 * EXAMPLES_PER_ASK))]
        applied = 0
        for state in states:
            snapshot = dumps(world.to_json(state))
            # a patron act usually names an agent: try each drawn act with its text fields set to agents' names
            named = [{k: name if isinstance(v, str) else v for k, v in data.items()}
                     for data in drawn if isinstance(data, dict) for name in world.agents(state)[:3]]
            for data in [*drawn, *named]:
                with report.guard("patron", fix):
                    try:
                        outcome = world.patron(state, patron.model_validate(data))
                    except ValueError:
                        continue
                    if not isinstance(outcome, Outcome):
                        report.add("patron must return an Outcome(state, events)")
                        return
                    applied += 1
                    json_text(outcome.events, "the events patron returns", report)
                    text = json_text(world.to_json(outcome.state), "to_json of the state patron returns", report)
                    if text is not None and dumps(world.to_json(world.from_json(json.loads(text)))) != \
                            dumps(json.loads(text)):
                        report.add("the state patron returns does not survive from_json(to_json(state))")
                if dumps(world.to_json(state)) != snapshot:
                    report.add("patron mutated its input state: change a copy")
                    return
        if not applied:
            report.add("no patron act drawn from Patron's schema could be applied in the first states: widen what "
                       "patron accepts, or give Patron json_schema_extra={'examples': [an act that applies]}")


def _check_turn(world: World, step: _Step, report: Report) -> None:
    turn = step.turn
    text = json_text(turn.to_json(), "a Turn record", report)
    if text is not None and Turn.from_json(json.loads(text)).to_json() != json.loads(text):
        report.add("a Turn record does not survive Turn.from_json(to_json()): keep events and metrics plain JSON")
    for key, value in turn.metrics.items():
        if not _metric_ok(value):
            report.add(f"metric {key!r} is {value!r}: metrics must be numbers or dicts of numbers (they become "
                       "columns of metrics.csv and summary.json)")
    with report.guard(f"invariants at turn {turn.turn} ({step.label})", "return a list of messages"):
        for broken in world.invariants(step.after, step.before, turn.events):
            report.add(f"invariant broken at turn {turn.turn} ({step.label}): {broken}")
    if not isinstance(world.done(step.after), (bool, np.bool_)):
        report.add("done must return a bool")


def _metric_ok(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_metric_ok(v) for v in value.values())
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _comparable(turn: Turn) -> dict:
    data = turn.to_json()
    data["metrics"] = {k: v for k, v in data["metrics"].items() if k != "turn_seconds"}  # wall-clock time
    return data
