"""The human backend: a person at the table answers for one agent.

A `Seat` is where the engine's thread and a viewer's thread meet. Each turn the council calls
`HumanBackend.generate`, which opens a `Question` on the seat (the agent's observation and its own action
schema, for the viewer to show as a form) and waits up to the seat's timeout. The answer is reply TEXT, like
a model's, so it takes the same parse path (repair, this agent's schema, the world's check): a bad answer is
a recorded no-op with its reason. No answer in time, or a seat left while asked, is a no-op too.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Sequence

from sim.parse import MAX_REPLY_CHARS
from sim.policy import Ask, Reply

SEAT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Question:
    """What the person is asked now."""

    turn: int
    agent: str
    observation: str
    schema: dict
    deadline: float  # time.monotonic() at which the seat stops waiting


class Seat:
    """One person's seat, safe to share between the engine's thread (ask) and a viewer's (question, answer,
    leave)."""

    def __init__(self, agent: str, timeout: float = SEAT_TIMEOUT_S):
        self.agent, self.timeout = agent, float(timeout)
        self._lock = threading.Condition()
        self._question: Question | None = None
        self._answer: str | None = None
        self.answered: int | None = None  # the turn of the last answer taken (a second one is not "too late")
        self.left = False

    @property
    def question(self) -> Question | None:
        """The open question, or None while the world is not waiting for this seat."""
        with self._lock:
            return self._question

    def answer(self, text: str, turn: int | None = None) -> bool:
        """Answer the open question (only if it is for `turn`, when given: a form filled for a question
        that has timed out must not answer the next one). False when there was nothing to answer."""
        with self._lock:
            q = self._question
            if q is None or (turn is not None and q.turn != turn) or self._answer is not None:
                return False
            self._answer = str(text)[:MAX_REPLY_CHARS]  # the engine records no more; hold no more either
            self.answered = q.turn
            self._lock.notify_all()
            return True

    def leave(self) -> None:
        """Stop answering: an open question ends now, with no answer."""
        with self._lock:
            self.left = True
            self._lock.notify_all()

    def ask(self, ask: Ask) -> Reply:
        """Open a question for this ask and wait for the answer, at most `timeout` seconds."""
        observation, schema = ask.observation, ask.schema  # computed before anyone waits on the lock
        with self._lock:
            if self.left:
                return Reply(text=None, error="the person left the seat", prompt=observation)
            self._answer = None
            self._question = Question(ask.turn, ask.agent, observation, schema, time.monotonic() + self.timeout)
            try:
                self._lock.wait_for(lambda: self._answer is not None or self.left, timeout=self.timeout)
                answer = self._answer
            finally:
                self._question, self._answer = None, None
        if answer is not None:
            return Reply(text=answer, prompt=observation)
        why = "the person left the seat" if self.left else f"the seat did not answer within {self.timeout:g} s"
        return Reply(text=None, error=why, prompt=observation)


class HumanBackend:
    """A council backend whose agents are answered by a person through a Seat. `interactive`: the council
    runs it beside the other backends' calls, so a person's wait does not add to the model's time."""

    name = "human"
    model = ""
    is_model = False
    interactive = True

    def __init__(self, seat: Seat):
        self.seat = seat

    def generate(self, turn: int, asks: Sequence[Ask]) -> list[Reply]:
        return [self.seat.ask(ask) for ask in asks]
