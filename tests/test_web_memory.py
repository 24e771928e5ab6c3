"""What keeps a web session's world in memory after it closes (issue 15: the demo grew by a wave's worth of
worlds under repeated waves of sessions; `python -m bench web` measures it). Gradio keeps a tab's State,
the closed Session included, for hours; nothing else may keep its engine, world or state."""
from __future__ import annotations

import gc
import weakref

from render.web.session import Session
from render.live.seat import Seating
from sim.config import RunConfig


def test_a_closed_session_lets_go_of_its_engine_world_and_state_while_gradio_still_holds_it():
    session = Session(RunConfig(policy="scripted", seed=3, agents=20), None)
    session.step()
    Seating.of(session.live.engine).take(session.live.world.agents(session.live.engine.state)[0])
    held = [weakref.ref(x) for x in (session.live.engine, session.live.world, session.live.engine.state)]
    session.close()
    gc.collect()
    assert [ref() for ref in held] == [None, None, None]
    assert session.closed and session.turns == [] and session.over()
    assert session.step() is None  # a tab still streaming asks once more: nothing to play
    session.close()  # and Gradio's delete_callback closes it again when the State expires


def test_the_seat_registry_does_not_keep_engines_alive():
    session = Session(RunConfig(policy="scripted", seed=4, agents=5), None)
    engine = weakref.ref(session.live.engine)
    seating = Seating.of(session.live.engine)
    assert seating.choices()  # the registry's seating reads the engine while it lives
    del session, seating
    gc.collect()
    assert engine() is None
