"""A person's seat in a live run, shared by the web demo and the window: take an agent's seat (its decisions
go to the human backend through the council; every other agent keeps its backend) or the patron's (acts
queued on the engine for the next turn), see what to answer as a form (render/paint/form.py), answer, leave.

    seating = Seating.of(engine)          one per engine, so every viewer of a run finds the same seat
    seating.take("Clover", timeout=60)    or seating.take(PATRON)
    asked = seating.asked()               what to answer now (text + form), or None
    seating.submit(asked, values)         the form's values -> reply JSON -> the seat (or the patron queue)
    seating.leave()                       the agent goes back to its own backend
    seating.departed()                    a line once the seated agent has left the world (the seat ends)
"""
from __future__ import annotations

import json
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from agents.backends.human import SEAT_TIMEOUT_S, HumanBackend, Seat
from agents.council import Council
from render.paint import form
from sim.engine import Engine

PATRON = "the patron"


@dataclass(frozen=True)
class Asked:
    """What the person answers now. `key` changes whenever a new form is due (a new turn's question)."""

    key: tuple
    who: str
    text: str  # the observation (or, for the patron, what the patron may do)
    fields: list
    schema: dict
    deadline: float | None = None  # time.monotonic() when the world stops waiting; None: no wait (patron)

    def seconds_left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


class Seating:
    _all: "weakref.WeakKeyDictionary[Engine, Seating]" = weakref.WeakKeyDictionary()
    _made = threading.Lock()

    def __init__(self, engine: Engine):
        # a proxy: _all is keyed weakly by the engine, and a value that held its key would keep every engine
        # (world, state, policy) that ever had a Seating alive for good
        self.engine = weakref.proxy(engine)
        self.who: str | None = None
        self.seat: Seat | None = None
        self.policy: Any = None  # the engine's policy before the seat was taken
        self.acts = 0  # patron acts queued so far (a new patron form after each)

    @classmethod
    def of(cls, engine: Engine) -> "Seating":
        with cls._made:
            found = cls._all.get(engine)
            if found is None:
                found = cls._all[engine] = cls(engine)
            return found

    def choices(self) -> list[str]:
        """Whom a person may play now: the live agents, then the patron when the world has that seat."""
        world = self.engine.world
        return [*world.agents(self.engine.state), *([PATRON] if world.Patron is not None else [])]

    def take(self, who: str, timeout: float = SEAT_TIMEOUT_S) -> str:
        """Sit down as `who`; returns a line for the viewer. Raises ValueError saying why it cannot be done."""
        if who not in self.choices():
            raise ValueError(f"nobody called {who!r} can be played in this world now")
        if who != PATRON and not isinstance(self.engine.policy if self.seat is None else self.policy, Council):
            raise ValueError("this run's policy is not a council of backends, so no agent's seat can be taken")
        self.leave()
        self.who = who
        if who == PATRON:
            return "you are the patron: each act you submit is applied at the start of the next turn"
        self.seat = Seat(who, timeout)
        self.policy = self.engine.policy
        # swapping the engine's policy is one attribute write: a step in progress keeps the one it began with
        self.engine.policy = self.policy.with_seat(who, HumanBackend(self.seat))
        return f"you play {who}: each turn the world waits up to {timeout:g} s for your answer"

    def leave(self) -> None:
        if self.seat is not None:
            self.seat.leave()
            self.engine.policy = self.policy
        self.who, self.seat, self.policy = None, None, None

    def departed(self) -> str | None:
        """When the agent this seat plays has left the world (it starved, died, went away): the seat ends, as
        `leave` ends it, and this returns one line for the person saying so and whom they may play now.
        None while the seat's agent is still in the world, or no agent's seat is taken. Viewers call it
        whenever they follow the seat."""
        who = self.who
        if who is None or who == PATRON or who in self.engine.world.agents(self.engine.state):
            return None
        self.leave()
        others = self.choices()
        offer = f"; take another seat ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''})" if others else ""
        return f"{who} has left the world, so your seat has ended{offer}"

    def asked(self) -> Asked | None:
        """The form to fill now, or None while the world is not asking this seat anything."""
        if self.who == PATRON:
            patron = self.engine.world.Patron
            doc = (patron.__doc__ or "").strip() or "An act of the patron."
            schema = patron.model_json_schema()
            return Asked((PATRON, self.acts), PATRON, doc, form.fields(schema), schema)
        q = self.seat.question if self.seat is not None else None
        if q is None:
            return None
        return Asked((q.agent, q.turn), q.agent, q.observation, form.fields(q.schema), q.schema, q.deadline)

    def submit(self, asked: Asked, values: list) -> str:
        """The filled form as a reply; returns a line for the viewer (never raises for a bad answer: the
        parse path records it as a no-op, and a patron act the world cannot take is said here)."""
        return self.answer(asked, json.dumps(form.fit(asked.schema, form.reply(asked.fields, values))))

    def answer(self, asked_key: Asked | tuple, text: str) -> str:
        """Reply TEXT for the question `asked_key` names (an Asked or its key), as a model would give it."""
        key = asked_key.key if isinstance(asked_key, Asked) else tuple(asked_key)
        if self.who == PATRON and key[0] == PATRON:
            try:
                act = self.engine.patron(json.loads(text))
            except ValueError as exc:  # invalid JSON or an act outside world.Patron
                return "not queued: " + " ".join(str(exc).split())[:200]
            self.acts += 1
            return f"queued for the next turn: {json.dumps(act)}"
        if self.seat is None or key[0] != self.who:
            return "you are not in that seat any more"
        if not self.seat.answer(text, turn=key[1]):
            if self.seat.answered == key[1]:
                return f"turn {key[1]} already has your answer; the first one counts"
            return f"too late: turn {key[1]} is no longer waiting for you"
        return f"answered for turn {key[1]}"
