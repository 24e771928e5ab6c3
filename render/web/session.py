"""One tab's run (Session) and the pool that bounds them all (Sessions). A Session is an Engine writing to
its own folder, its recent turns and its Portraits; the pool closes quiet ones so memory and disk stay
bounded however tabs leave, and removes every session folder when the server exits."""
from __future__ import annotations

import ctypes
import dataclasses
import shutil
import tempfile
import threading
import time
import weakref
from pathlib import Path

from render.live.run import Live, PolicyFactory, open_run, policy_problem
from render.live.seat import Seating
from render.paint.panels import LOG_TURNS
from render.paint.view import Portraits, portrayer
from sim.config import RunConfig
from sim.records import Turn
from sim.trace import TRACE

MAX_SESSIONS = 64  # live worlds kept at once; the least recently used idle one is closed beyond this
MAX_CREATURES = 20_000  # creatures in all the live worlds together, likewise
IDLE_S = 20 * 60  # a world nobody has touched for this long is closed (tabs often leave without a word)
GRACE_S = 120  # a world touched this recently is never closed to make room (it may be starting, or downloading)
KEEP_FULL = LOG_TURNS  # turns kept whole (state, decisions) for the log; older ones keep metrics for the charts
FAILED_TURNS_TO_PAUSE = 3  # turns in a row on which the backend answered nobody before play pauses itself


class Session:
    """One tab's run: its engine, its folder (under `root`: the pool's), its turns, and whether it is playing."""

    def __init__(self, config: RunConfig, policy_factory: PolicyFactory | None, announce=lambda line: None,
                 root: Path | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="smallworlds-web-", dir=root))
        try:
            self.live = open_run(config, out=self.dir / "run", policy_factory=policy_factory, announce=announce)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.turns: list[Turn] = []  # oldest first; all but the newest KEEP_FULL are slimmed (see _slim)
        self.size = len(self.live.world.agents(self.live.engine.state))  # creatures, for the pool's budget
        self.portray: Portraits | None = Portraits(portrayer(self.live.world))  # each turn portrayed once
        self.playing = False
        self.delay = 0.5
        self.requests: list[tuple[str, str | None]] = []  # legends asked for, started before the next turn
        self.lock = threading.Lock()  # Start's loop and Step must not run a turn at the same time
        self.charts_at = 0.0
        self.used = time.monotonic()
        self.closed = False

    def stop(self) -> None:
        """Stop playing. A stop is a use: the pool's grace period then covers the turn still running and the
        trace the tab is handed after it, which a full pool would otherwise close under it."""
        self.playing = False
        self.used = time.monotonic()

    def step(self) -> Turn | None:
        """The next turn, or None when the session was closed meanwhile (a tab still streaming may ask)."""
        self.used = time.monotonic()
        with self.lock:
            if self.closed:
                return None
            while self.requests:
                self.live.engine.inject(*self.requests.pop(0))
            turn = self.live.engine.step()
            self.used = time.monotonic()  # a turn can outlast the grace period on a busy machine
            self.turns.append(turn)
            if len(self.turns) > KEEP_FULL:
                self.turns[-KEEP_FULL - 1] = _slim(self.turns[-KEEP_FULL - 1])
        return turn

    def problem(self) -> str | None:
        """Why the policy could not start, or why it answered nobody on the newest turn."""
        return self.live.problem or (policy_problem(self.turns[-1]) if self.turns else None)

    def failing(self) -> str | None:
        """Why the backend answered nobody on each of the last few turns, if it did not."""
        recent = self.turns[-FAILED_TURNS_TO_PAUSE:]
        problems = {policy_problem(t) for t in recent}
        if len(recent) == FAILED_TURNS_TO_PAUSE and None not in problems:
            return problems.pop()
        return None

    def snapshot(self) -> str:
        """A copy of the trace as it stands (complete lines only: taken between turns)."""
        target = self.dir / "download" / TRACE
        target.parent.mkdir(exist_ok=True)
        with self.lock:
            shutil.copyfile(self.dir / "run" / TRACE, target)
        return str(target)

    def over(self) -> bool:
        """Whether the world has ended; a closed session's has."""
        live = self.live  # close() may swap it meanwhile
        return live.world is None or live.world.done(live.engine.state)

    def close(self) -> None:
        """Close the run and let go of everything heavy (turns, engine, world, Portraits): Gradio keeps a
        tab's State for hours after the tab has gone (an hour once it notices), so a closed Session keeps only
        what says it is closed and why its backend failed. Safe to call twice."""
        live = self.live
        if live.engine is None:
            return
        self.playing = False
        self.closed = True
        Seating.of(live.engine).leave()  # a turn waiting on a person's seat ends now, and lets go of the lock
        with self.lock:
            live.engine.close()
            self.live = Live(engine=None, world=None, problem=live.problem)
            self.turns = []
            self.portray = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _slim(turn: Turn) -> Turn:
    """What the charts read of an old turn: its metrics and the legends it began; the state and the
    per-agent decisions (most of a turn's memory at 1000 creatures) are dropped."""
    legends = [e for e in turn.events if e.get("kind") == "legend"]
    return dataclasses.replace(turn, state={}, decisions=[], events=legends)


try:
    _malloc_trim = ctypes.CDLL(None).malloc_trim
except (OSError, AttributeError, TypeError):  # not glibc: nothing to hand back this way
    _malloc_trim = None


def _hand_back_freed_memory() -> None:
    """Return the heap pages closed worlds freed to the OS. glibc keeps freed memory in its arenas (one per
    thread that allocated, and the demo's worker threads all do), so without this the resident size stays
    near the busiest moment so far although the pool has let the worlds go (issue 15, `python -m bench web`)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


class Sessions:
    """Every live session, so memory and disk stay bounded however tabs leave: a new session closes the
    ones idle for longer than `idle_s`, then the least recently used idle ones while more than `limit` worlds
    or more than `creatures` creatures in all are kept (a world's memory grows with its creatures: ~13 MB
    a 1000-creature world in `python -m bench web`). A session playing, or touched within `grace_s`, is
    never closed; a tab that closes while playing stops playing (the page's play loop is cancelled), so its
    world is idle from then on.

    Every session folder (and every branch's) lies under `root`, one folder per pool, removed when the pool
    is collected or the process exits (SIGTERM included: app.py turns it into a normal exit)."""

    def __init__(self, limit: int = MAX_SESSIONS, idle_s: float = IDLE_S, grace_s: float = GRACE_S,
                 creatures: int = MAX_CREATURES):
        self.limit, self.idle_s, self.grace_s, self.creatures = limit, idle_s, grace_s, creatures
        self.live: dict[int, Session] = {}
        self.lock = threading.Lock()
        self.root = Path(tempfile.mkdtemp(prefix="smallworlds-web-"))
        weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)

    def open(self, config: RunConfig, policy_factory: PolicyFactory | None, announce=lambda line: None) -> Session:
        """A new session in this pool (touched now, so the grace period keeps it while it starts to play)."""
        return self.add(Session(config, policy_factory, announce, root=self.root))

    def add(self, session: Session) -> Session:
        with self.lock:
            now = session.used = time.monotonic()
            self.live[id(session)] = session
            closing = self._closing(now)
            for old in closing:
                del self.live[id(old)]
                old.close()
        if closing:
            _hand_back_freed_memory()
        return session

    def _closing(self, now: float) -> list[Session]:
        """The sessions to close now: the long idle ones, then the least recently used idle ones while the
        pool is over its bounds."""
        idle = sorted((s for s in self.live.values() if not s.playing and now - s.used > self.grace_s),
                      key=lambda s: s.used)
        closing = [s for s in idle if now - s.used > self.idle_s]
        kept = [s for s in self.live.values() if s not in closing]
        total = sum(s.size for s in kept)
        for s in idle:  # oldest first
            if s in closing:
                continue
            if len(kept) <= self.limit and total <= self.creatures:
                break
            closing.append(s)
            kept.remove(s)
            total -= s.size
        return closing

    def remove(self, session: Session | None) -> None:
        if session is not None:
            with self.lock:
                self.live.pop(id(session), None)
            session.close()
            _hand_back_freed_memory()
