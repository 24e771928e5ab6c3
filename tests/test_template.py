"""The template world: the smallest complete world, which a developer copies to start their own."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

import worlds.template
from agents.policies import scripted
from sim import Engine
from sim.checks import check_world
from sim.policy import PolicyOptions
from sim.registry import get_world
from worlds.template import Guess, GuessWorld


def code_lines(path: Path) -> int:
    """Lines of code: not blank, not a comment, not part of a docstring."""
    source = path.read_text()
    docs = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node):
            docs |= set(range(node.body[0].lineno, node.body[0].end_lineno + 1))
    return sum(1 for n, line in enumerate(source.splitlines(), 1)
               if line.strip() and not line.strip().startswith("#") and n not in docs)


def test_it_is_small_enough_to_read_in_one_sitting():
    folder = Path(worlds.template.__file__).parent
    assert code_lines(folder / "__init__.py") <= 60
    assert sum(code_lines(path) for path in folder.glob("*.py")) <= 80  # parameters, drawing and reward included


def test_it_shows_the_hooks_a_new_world_needs():
    world = GuessWorld(agents=2)
    (turn,) = Engine(world, scripted(PolicyOptions(seed=0)), seed=0).run(1)
    drawn = world.portray(turn)
    assert drawn.theme.centre == "target" and set(drawn.glyphs) == {"player0", "player1"}
    assert drawn.glyphs["player0"].numbers == {"scores": float(turn.state["scores"]["player0"])}
    state = world.from_json(turn.state)
    assert world.reward(state, world.initial_state(np.random.default_rng(0)), "player0") in (0.0, 1.0)


def test_it_is_registered_and_passes_every_check():
    assert get_world("template") is GuessWorld
    check_world(GuessWorld(), seed=0, turns=20)
    check_world(GuessWorld(agents=7), seed=1, turns=10)


def test_closest_to_two_thirds_of_the_mean_scores():
    world = GuessWorld()
    state = world.initial_state(np.random.default_rng(0))
    guesses = {"player0": Guess(guess=30), "player1": Guess(guess=60), "player2": Guess()}  # player2 sits out
    outcome = world.apply(state, guesses, np.random.default_rng(0))
    assert outcome.state.target == 30.0  # 2/3 of 45
    assert outcome.state.scores == {"player0": 1, "player1": 0, "player2": 0}
    assert outcome.events == [{"kind": "round", "target": 30.0, "winners": ["player0"]}]
    assert state.scores == {"player0": 0, "player1": 0, "player2": 0}  # the input state is untouched


def test_the_scripted_players_drive_the_target_down():
    engine = Engine(GuessWorld(), scripted(PolicyOptions(seed=2)), seed=2)
    turns = list(engine.run(12))
    assert turns[-1].metrics["target"] < turns[0].metrics["target"]
    assert sum(engine.state.scores.values()) >= 12  # someone wins every round
