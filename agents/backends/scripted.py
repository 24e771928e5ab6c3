"""The scripted backend: each world's heuristic. Each reply is the decision's JSON text, which the trace
records and a replay parses the way a model's reply is parsed, and the decision itself (Reply.own), which
the engine reads in one batch without parsing the text back (World.own_actions; check_world proves both
give the same). Deterministic: its rng is derived from (seed, turn), so a resumed run decides exactly as an
uninterrupted one."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import orjson

from sim.engine import collector_paused
from sim.policy import Ask, Reply, heuristics


class ScriptedBackend:
    name = "scripted"
    model = ""
    is_model = False

    def __init__(self, seed: int = 0):
        self.seed = seed

    def generate(self, turn: int, asks: Sequence[Ask]) -> list[Reply]:
        rng = np.random.default_rng([self.seed, turn])
        with collector_paused():  # every decision lives until all are answered: see collector_paused
            return [Reply(orjson.dumps(decided).decode(), own=decided) for decided in heuristics(asks, rng)]
