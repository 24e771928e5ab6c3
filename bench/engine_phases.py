"""Where a scripted wood's turn goes: CPU ms per phase, the median over turns after warm-up.

Each phase is one function the turn calls (the policy's decide, the world's heuristics, reading the replies,
apply and its rules, metrics, the state's JSON, the trace line), timed by a wrapper put in its place for the
measured run only. A phase's time includes the phases inside it (indented in the table); "the rest" is what
no top-level phase covers (the Asks, legends and patron acts, the Turn record). The cyclic garbage collector's
collections are counted apart as well (they fall inside whichever phase allocated when one began).
"""
from __future__ import annotations

import gc
import statistics
import time
from contextlib import ExitStack, contextmanager

import sim.engine
from agents.policies import scripted
from sim import Engine
from sim.policy import PolicyOptions
from worlds.wood import WoodWorld, credit, memory, offers

WARMUP = 2
COLLECTOR = "garbage collector (inside the phases)"


@contextmanager
def collections(spent: dict[str, float], label: str):
    """CPU seconds the garbage collector spends, added to spent[label] while the block runs."""
    began = [0.0]

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            began[0] = time.process_time()
        else:
            spent[label] = spent.get(label, 0.0) + time.process_time() - began[0]

    gc.callbacks.append(note)
    try:
        yield
    finally:
        gc.callbacks.remove(note)


@contextmanager
def timing(owner, name: str, label: str, spent: dict[str, float]):
    """`owner.name` replaced, while the block runs, by a wrapper adding its CPU seconds to spent[label]."""
    inner = getattr(owner, name)
    had_own = name in vars(owner)

    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - start

    setattr(owner, name, timed)
    try:
        yield
    finally:
        if had_own:
            setattr(owner, name, inner)
        else:
            delattr(owner, name)


def phases(agents: int, turns: int, second_act: bool = True, out: str | None = None) -> list[tuple[str, float]]:
    """[(phase, median CPU ms a turn)] for a scripted wood of `agents`, indented by nesting, then the rest and
    the whole turn."""
    world = WoodWorld(agents=agents, second_act=second_act)
    engine = Engine(world, scripted(PolicyOptions(seed=1)), seed=1, out=out)
    spent: dict[str, float] = {}
    wrapped = [  # (owner, function, label): a label's indent is its depth
        (engine, "_decide", "decide (scripted policy)"),
        (world, "heuristics", "  the world's heuristics"),
        (sim.engine, "clean_reply", "clean replies"),
        (sim.engine, "parse_all", "read replies (batch path)"),
        (world, "own_actions", "  own_actions"),
        (engine.agency, "add", "agency tally"),
        (world, "apply", "apply"),
        (credit, "collect", "  debts collected"),
        (offers, "settle", "  offers settled"),
        (world, "_trade", "  market"),
        (memory, "remember_fuel", "  fuel remembered"),
        (world, "_eat_and_burn", "  eat and burn"),
        (world, "_rot", "  rot"),
        (world, "_make", "  make"),
        (world, "_feel", "  mood"),
        (world, "_move_prices", "  prices"),
        (world, "metrics", "metrics"),
        (world, "to_json", "state to JSON"),
    ]
    if out is not None:
        wrapped.append((engine.recorder, "write", "trace line + checkpoint"))
    rows: list[dict[str, float]] = []
    with ExitStack() as stack:
        for owner, name, label in wrapped:
            stack.enter_context(timing(owner, name, label, spent))
        stack.enter_context(collections(spent, COLLECTOR))
        for _ in range(turns + WARMUP):
            spent.clear()
            start = time.process_time()
            engine.step()
            rows.append({**spent, "turn": time.process_time() - start})
    engine.close()
    rows = rows[WARMUP:]
    labels = [label for _, _, label in wrapped] + [COLLECTOR, "turn"]
    median = {label: 1000 * statistics.median(r.get(label, 0.0) for r in rows) for label in labels}
    top = sum(median[label] for label in labels[:-2] if not label.startswith(" "))
    return [(label, median[label]) for label in labels[:-1]] + [("the rest", median["turn"] - top),
                                                                ("whole turn", median["turn"])]
