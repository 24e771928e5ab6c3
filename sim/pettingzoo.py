"""Any World as a PettingZoo ParallelEnv, so reinforcement-learning libraries can train against it.

    from sim.pettingzoo import WorldEnv
    env = WorldEnv(CommonsWorld(), max_turns=50)
    observations, infos = env.reset(seed=0)
    observations, rewards, terminations, truncations, infos = env.step({a: '{"catch": 3, "say": ""}' ...})

Spaces (our documented choice; a world's actions are structured JSON and its observations are text):
- observation: the world's `observe` text, in a gymnasium `Text` space of printable characters and newlines;
- action: JSON text of the world's Action (a dict or an Action instance is accepted too). Every action goes
  through `sim.parse.parse`, exactly like a model's reply, so a bad action becomes the agent's no-op and
  `infos[agent]` says why. The action space is a `Text` space whose `sample()` draws an action the agent's
  current action schema admits, so random agents make real moves.

Rewards come from the world's `reward(state, previous, agent) -> float` hook (0.0 unless a world overrides it),
for every agent that acted, including one that left during the turn.

Agents come and go: an agent that `world.agents` no longer lists is terminated (its last observation is "") and
leaves `agents`; one that it lists for the first time (born during the turn) joins `agents` and
`possible_agents`, and that step's dicts carry it too (its observation, reward 0.0, not terminated, infos
{"role", "arrived": True}), so a learner sees it before its first action. A name that left must never come
back (PettingZoo forbids reviving an agent; check_world reports a world that does it). Terminations: every
agent when `world.done`. Truncations: every agent once `max_cycles` turns have been played (an agent born on
that turn is not reported). Each step is one engine turn (legends injected with
`env.engine.inject` start on the next one); `env.last_turn` is its Turn record, the same one viewers read.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Sequence

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pydantic import BaseModel

from sim.engine import Engine
from sim.policy import Ask, Batch, Reply
from sim.records import Turn
from sim.schemas import example
from sim.world import World

MAX_OBSERVATION_CHARS = 8192
MAX_ACTION_CHARS = 4096


@functools.cache
def printable() -> str:
    """Every printable character of the Basic Multilingual Plane, plus newline: what observations hold."""
    return "\n" + "".join(ch for ch in map(chr, range(0x10000)) if ch.isprintable())


class ActionText(spaces.Text):
    """JSON text of one agent's action. `sample()` draws from the agent's action schema in the env's current
    state (the no-op once the agent is gone), using this space's own seeded rng."""

    def __init__(self, env: "WorldEnv", agent: str):
        super().__init__(MAX_ACTION_CHARS, min_length=2, charset=printable())
        self._env, self._agent = env, agent

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        env, agent = self._env, self._agent
        if env.engine is None or agent not in env.agents:
            return env.world.noop(agent).model_dump_json()
        return json.dumps(example(env.world.action_schema(env.engine.state, agent), self.np_random))


class WorldEnv(ParallelEnv):
    metadata = {"name": "smallworlds", "render_modes": ["ansi"]}

    def __init__(self, world: World, *, max_turns: int = 100, seed: int | None = None, render_mode: str | None = None):
        self.world = world
        self.max_cycles = max_turns  # PettingZoo's name: its api test sets it
        self.render_mode = render_mode
        self.possible_agents = list(world.agents(world.initial_state(np.random.default_rng(0))))
        self.agents: list[str] = []
        self.engine: Engine | None = None
        self.last_turn: Turn | None = None
        self._policy = _Given()
        self._seeds = np.random.default_rng(seed)
        observation = spaces.Text(MAX_OBSERVATION_CHARS, min_length=0, charset=printable())
        self._observation_space = observation  # one for all: every observation is text
        self._action_spaces: dict[str, ActionText] = {}  # made on first use: agents born mid-run get theirs too

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        if agent not in self._action_spaces:
            self._action_spaces[agent] = ActionText(self, agent)
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        """Start a new run. `seed` fixes the world's rng; without one, the next seed comes from the seed of
        the last seeded reset (or the constructor's), so a seeded env replays its whole sequence of runs."""
        if seed is None:
            seed = int(self._seeds.integers(2**31))
        else:
            self._seeds = np.random.default_rng(seed)
        if self.engine is not None:
            self.engine.close()
        self.engine = Engine(self.world, self._policy, seed=seed)
        self.agents = list(self.world.agents(self.engine.state))
        self._meet(self.agents)
        self.last_turn = None
        state = self.engine.state
        observations = {a: self._observe(state, a) for a in self.agents}
        return observations, {a: {"role": self.world.role(state, a)} for a in self.agents}

    def _observe(self, state, agent: str) -> str:
        """What a model would read: the turn's news for all, then the agent's own observation."""
        news = self.world.news(state).strip()
        return f"{news}\n\n{self.world.observe(state, agent)}" if news else self.world.observe(state, agent)

    def step(self, actions: dict[str, Any]):
        """One turn with these actions; agents left out of `actions` do nothing this turn."""
        if self.engine is None:
            raise RuntimeError("call reset() before step()")
        acting, previous = self.agents, self.engine.state
        self._policy.replies = {a: as_reply(actions.get(a)) for a in acting}
        self.last_turn = turn = self.engine.step()
        state = self.engine.state
        listed = list(self.world.agents(state))
        still = set(listed)
        over = bool(self.world.done(state))
        truncated = self.engine.turn >= self.max_cycles
        rewards = {a: float(self.world.reward(state, previous, a)) for a in acting}
        terminations = {a: over or a not in still for a in acting}
        truncations = {a: truncated for a in acting}
        observations = {a: self._observe(state, a) if a in still else "" for a in acting}
        decided = {d.agent: d for d in turn.decisions}
        infos = {a: {"status": decided[a].status, "reason": decided[a].reason, "action": decided[a].action}
                 for a in acting}
        was = set(acting)
        born = [] if over or truncated else [a for a in listed if a not in was]
        for a in born:
            observations[a], rewards[a], terminations[a], truncations[a] = self._observe(state, a), 0.0, False, False
            infos[a] = {"role": self.world.role(state, a), "arrived": True}
        self._meet(born)
        self.agents = [a for a in acting if not (terminations[a] or truncations[a])] + born
        return observations, rewards, terminations, truncations, infos

    def _meet(self, agents: list[str]) -> None:
        """Add agents seen for the first time to possible_agents (a world may bring new ones at any turn)."""
        known = set(self.possible_agents)
        self.possible_agents += [a for a in agents if a not in known]

    def render(self) -> str:
        """The last turn's record as JSON text ("ansi"): what viewers draw from."""
        return json.dumps(self.last_turn.to_json()) if self.last_turn else ""

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()


def as_reply(action: Any) -> Reply:
    """An action given to step(), as the reply text the parse path reads."""
    if action is None:
        return Reply(None, error="no action given for this agent")
    if isinstance(action, BaseModel):
        return Reply(action.model_dump_json())
    if isinstance(action, dict):
        try:
            return Reply(json.dumps(action))
        except (TypeError, ValueError) as exc:
            return Reply(None, error=f"the action dict is not JSON: {exc}")
    if isinstance(action, str):
        return Reply(action)
    return Reply(None, error=f"an action is JSON text, a dict or an Action, not {type(action).__name__}")


class _Given:
    """The engine's policy inside the env: it answers with the actions passed to step()."""

    def __init__(self):
        self.replies: dict[str, Reply] = {}

    def decide(self, turn: int, asks: Sequence[Ask]) -> Batch:
        return Batch({ask.agent: self.replies.get(ask.agent, Reply(None, error="no action given")) for ask in asks})

    def describe(self, asks: Sequence[Ask]) -> dict[str, dict]:
        return {ask.agent: {"backend": "pettingzoo", "model": ""} for ask in asks}
