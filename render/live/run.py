"""Live runs for the viewers: world + policy + engine from one RunConfig. A policy that cannot be built
(no model, server down) does not stop the world: it plays on with every decision a no-op, and the viewer
shows why."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from sim.config import RunConfig
from sim.engine import Engine
from sim.policy import Ask, Batch, PolicyOptions, Reply
from sim.records import Turn
from sim.world import World

PolicyFactory = Callable[[str, PolicyOptions], Any]  # (policy name, options) -> Policy, like sim.config.make_policy


class Unavailable:
    """Stands in for a policy that could not be built: every reply is missing, with the reason."""

    def __init__(self, reason: str):
        self.reason = reason

    def decide(self, turn: int, asks: Sequence[Ask]) -> Batch:
        return Batch({a.agent: Reply(text=None, error=self.reason) for a in asks})

    def describe(self, asks: Sequence[Ask]) -> dict[str, dict]:
        return {a.agent: {"backend": "unavailable", "model": ""} for a in asks}


@dataclass
class Live:
    engine: Engine
    world: World
    problem: str | None = None  # why the requested policy could not be built


def open_run(config: RunConfig, out=None, *, legends: dict[int, list] | None = None,
             policy_factory: PolicyFactory | None = None, announce: Callable[[str], None] = lambda line: None) -> Live:
    """Raises sim.errors.UsageError / registry.UnknownName for a bad world or legend; never for the policy."""
    world = config.make_world()
    problem = None
    try:
        policy = config.make_policy(policy_factory, announce=announce)
    except Exception as exc:  # anything a backend raises while starting: the world goes on without it
        problem = f"policy {config.policy!r} (backend {config.backend}) is unavailable: {exc}"[:400]
        policy = Unavailable(problem)
    engine = Engine(world, policy, seed=config.seed, out=out, legends=legends, config=config.to_json())
    return Live(engine, world, problem)


def policy_problem(turn: Turn) -> str | None:
    """The policy's failure, when no agent of this turn got any reply, all for the same reason."""
    reasons = {d.reason for d in turn.decisions}
    if turn.decisions and len(reasons) == 1 and all(d.status == "noop" and d.reply is None for d in turn.decisions):
        return reasons.pop() or "the policy gave no replies"
    return None
