"""What each click on the page does. Every control takes the tab's Session (None before its first world) and
the inputs, and returns (or, while playing, yields) a dict of updates keyed by the Page's components; a
component it leaves out keeps what it shows. Blocking work (a turn, a picture) runs in a worker thread, so
one tab waiting on the model blocks no other tab."""
from __future__ import annotations

import asyncio
import sys
import time
from html import escape
from typing import AsyncIterator, Callable

import gradio as gr

from render.live.branch import Branch
from render.live.run import PolicyFactory
from render.paint import panels
from render.paint.charts import charts
from render.paint.scene import draw
from render.web.page import DEFAULT_CREATURES, Page, legends_of
from render.web.session import FAILED_TURNS_TO_PAUSE, Session, Sessions
from sim.config import RunConfig
from sim.errors import UsageError, UserError
from sim.fork import read_source
from sim.trace import TRACE

IN_BETWEEN = (0.25, 0.5, 0.75)  # animation frames shown before each turn's final picture
CHART_EVERY_S = 1.0  # matplotlib costs ~0.4 s: at full speed redraw the charts at most this often
SNAPSHOT_EVERY = 10  # turns between refreshes of the downloadable trace while playing
WAIT_NOTE_AFTER_S = 1.5  # a step or start taking longer than this shows a ticking status
SCENE_SIZE = (960, 600)
MAX_SEED = 2**63 - 1
MAX_CREATURES = 1000  # in one world of the demo


def setup(world, agents, seed, policy, backend, model, params=None) -> RunConfig:
    """The settings as a RunConfig (`params`: the world parameters the tab changed, {name: value}), or gr.Error
    with one line saying what to change; a parameter out of bounds is named, as its box is."""
    try:
        # None: a blank box
        n, seed_ = int(DEFAULT_CREATURES if agents is None else agents), int(0 if seed is None else seed)
    except (TypeError, ValueError, OverflowError):
        raise gr.Error("creatures and seed must be whole numbers") from None
    if not 1 <= n <= MAX_CREATURES:
        raise gr.Error(f"creatures: choose 1 to {MAX_CREATURES}")
    if not 0 <= seed_ <= MAX_SEED:
        raise gr.Error(f"seed: choose 0 to {MAX_SEED}")
    try:
        return RunConfig(world=world, agents=n, seed=seed_, policy=policy, backend=backend,
                         model=(model or "").strip() or None, params=dict(params or {}))
    except UsageError as exc:
        raise gr.Error(str(exc)) from None


def problem_html(problem: str) -> str:
    return (f'<div style="background:#fde2e1;border:1px solid #c33;border-radius:6px;padding:6px;'
            f'color:#700"><b>Model backend problem</b>: {escape(problem)}<br>'
            f"Nothing plays until it works. Fix it and press Reset, or play without a model: "
            f"<b>Use the scripted policy</b>.</div>")


def status_html(session: Session, note: str = "") -> str:
    problem = session.problem()
    parts = [problem_html(problem)] if problem else []
    state = "playing" if session.playing else "paused"
    n = len(session.turns)
    parts.append(f"<div>{state} · {n} turn{'s' * (n != 1)}" + (f" · {escape(note)}" if note else "") + "</div>")
    return "".join(parts)


async def waiting(blocking: Callable, label: Callable[[], str]) -> AsyncIterator[tuple[str, object]]:
    """Run `blocking` in a worker thread; while it runs, yield ("tick", a status line) every second once it
    has taken WAIT_NOTE_AFTER_S. The last item yielded is ("done", its result)."""
    task = asyncio.ensure_future(asyncio.to_thread(blocking))
    began = time.monotonic()
    while True:
        finished, _ = await asyncio.wait({task}, timeout=1.0)
        if finished:
            yield "done", task.result()
            return
        waited = time.monotonic() - began
        if waited >= WAIT_NOTE_AFTER_S:
            yield "tick", f"<div>{escape(label())} · {waited:.0f} s</div>"


class Controls:
    """The page's controls over one pool of sessions; `factory` builds policies (None: sim.config's)."""

    def __init__(self, page: Page, sessions: Sessions, factory: PolicyFactory | None = None):
        self.p, self.sessions, self.factory = page, sessions, factory

    # --- what a turn shows ---------------------------------------------------------------------------
    def shown(self, s: Session, note: str = "", snapshot: bool = False) -> dict:
        """Every view of the session's newest turn (the charts at most every CHART_EVERY_S while playing),
        and the trace to download when `snapshot`."""
        p, turn = self.p, s.turns[-1] if s.turns else None
        out = {p.log: panels.log_html(s.turns, portray=s.portray), p.cards: panels.cards_html(turn, s.portray),
               p.status: status_html(s, note), p.session: s, p.fallback: gr.Button(visible=bool(s.problem()))}
        if turn is not None:
            out[p.scene] = draw(turn, size=SCENE_SIZE, portray=s.portray)
            if not s.playing or time.monotonic() - s.charts_at > CHART_EVERY_S:
                out[p.charts], s.charts_at = charts(s.turns, portray=s.portray), time.monotonic()
            if snapshot:
                out[p.download] = s.snapshot()
        return out

    def note(self, html: str, s: Session | None = None) -> dict:
        return {self.p.status: html} | ({self.p.session: s} if s is not None else {})

    def refused(self, s: Session) -> dict:
        """A world whose policy could not start: it does not play (a world of no-ops is no demo)."""
        p = self.p
        return {p.status: status_html(s, "not started"), p.session: s, p.fallback: gr.Button(visible=True)}

    # --- the controls ----------------------------------------------------------------------------------
    async def play(self, s: Session | None, delay, *settings) -> AsyncIterator[dict]:
        """▶ Start: a world (a new one when the tab has none) plays until paused, ended or failing."""
        if s is None or s.closed:
            s = None
            async for update in self._opening(setup(*settings)):
                s = update.get(self.p.session, s)
                yield update
        if s.live.problem:
            s.playing = False
            yield self.refused(s)
            return
        s.playing, s.delay = True, float(delay)
        try:
            async for update in self._playing(s):
                yield update
        finally:  # also when Gradio cancels this loop: a tab that closed while playing plays no more
            s.stop()
        if s.over() or not s.failing():  # a failing backend's pause said so already
            yield await asyncio.to_thread(self.shown, s, "stopped; the trace is ready to download", True)

    async def _opening(self, config: RunConfig) -> AsyncIterator[dict]:
        said: list[str] = []
        starting = "starting the world"
        if config.policy == "llm":
            starting += " (the first start loads the model: ~30 s, more on a slow CPU)"
        yield self.note(f"<div>{escape(starting)}…</div>")

        def announce(line: str) -> None:  # the page shows the latest line; the server log keeps all
            said.append(line)
            print(line, file=sys.stderr)

        # not yet playing: a tab closed while its world starts leaves an idle world, which the pool closes
        # (the grace period keeps it until play begins)
        opened = lambda: self.sessions.open(config, self.factory, announce)  # noqa: E731
        async for kind, value in waiting(opened, lambda: said[-1] if said else starting):
            yield self.note(value) if kind == "tick" else {self.p.session: value}

    async def _playing(self, s: Session) -> AsyncIterator[dict]:
        while s.playing:
            began = time.monotonic()
            prev = s.turns[-1] if s.turns else None
            waits = "the model is deciding" if s.turns else "the first turn (the model warms up)"
            turn = None
            async for kind, value in waiting(s.step, lambda: f"turn {len(s.turns) + 1}: {waits}"):
                if kind == "tick":
                    yield self.note(value, s)
                else:
                    turn = value
            if turn is None:  # closed meanwhile (the pool made room, or the tab's State expired)
                return
            if prev is not None and s.delay >= 0.3:
                for t in IN_BETWEEN:
                    frame = await asyncio.to_thread(draw, turn, prev, t, size=SCENE_SIZE, portray=s.portray)
                    yield {self.p.scene: frame}
                    await asyncio.sleep(min(0.08, s.delay / 8))
            yield await asyncio.to_thread(self.shown, s, "", s.playing and turn.turn % SNAPSHOT_EVERY == 0)
            while s.playing and time.monotonic() - began < s.delay:
                await asyncio.sleep(0.05)
            if s.over():
                return
            if s.failing():
                s.stop()
                yield await asyncio.to_thread(
                    self.shown, s, f"paused: the backend answered nobody for {FAILED_TURNS_TO_PAUSE} turns", True)
                return

    def halt(self, s: Session | None):
        """❚❚ Pause: the playing loop stops after its turn."""
        if s is None:
            return gr.skip()
        s.stop()
        return status_html(s, "pausing after this turn")

    def one(self, s: Session | None, *settings) -> dict:
        """Step: one turn (of a new world when the tab has none)."""
        s = s if s and not s.closed else self.sessions.open(setup(*settings), self.factory)
        if s.playing:
            return self.note(status_html(s, "already playing: pause first"), s)
        if s.live.problem:
            return self.refused(s)
        s.step()
        return self.shown(s, "stepped", True)

    def renew(self, s: Session | None, *settings) -> dict:
        """↺ Reset: a new world from the settings, in place of the tab's."""
        config = setup(*settings)
        self.sessions.remove(s)
        s = self.sessions.open(config, self.factory)
        p = self.p
        return {p.scene: None, p.charts: None, p.log: panels.log_html([]), p.cards: panels.cards_html(None),
                p.status: status_html(s, "ready: press Start or Step"), p.download: None, p.session: s,
                p.fallback: gr.Button(visible=bool(s.live.problem))}

    def pace(self, s: Session | None, delay) -> None:
        if s is not None:
            s.delay = float(delay)

    def tell(self, s: Session | None, name: str | None):
        """Tell it now: the chosen legend begins next turn."""
        return self._ask(s, name) if name else gr.skip()

    def spread(self, s: Session | None, text: str | None):
        """Spread it: the player's own rumour begins next turn."""
        return self._ask(s, "rumour", text) if (text or "").strip() else gr.skip()

    def _ask(self, s: Session | None, name: str, text: str | None = None) -> str:
        world = s.live.world if s is not None else None  # None once closed
        if world is None:
            return "<div>Start a world first.</div>"
        if name not in world.legends:
            return status_html(s, f"this world has no legend {name!r}")
        s.requests.append((name, text))
        return status_html(s, f"'{name}' begins next turn")

    def legends(self, world: str) -> dict:
        """A new world chosen: its legends in both legend boxes, and none of the last world's parameters (its
        own boxes show their defaults)."""
        choices = legends_of(world)
        return {self.p.legend: gr.Dropdown(choices=choices, value=None),
                self.p.branch_legend: gr.Dropdown(choices=choices, value=None), self.p.params: {}}

    # --- branch from this turn: a second timeline of the tab's run, charted beside it -------------------
    async def branch_off(self, s: Session | None, b: Branch | None, at, name, ahead) -> AsyncIterator[dict]:
        """Fork the tab's run at `at` into a new branch (the old one is closed) and play it, then chart both
        and offer the branch's trace."""
        p = self.p
        if b is not None:
            b.close()
        if s is None or s.closed or not s.turns:
            yield {p.branch: None, p.branch_charts: None, p.branch_download: None,
                   p.branch_status: "<div>Play a few turns first, then branch from one of them.</div>"}
            return
        try:
            with s.lock:  # between two turns: the trace ends with a whole one
                source = read_source(s.dir / "run" / TRACE)
            at = None if at is None or at == "" else int(at)
            made = lambda: Branch(source, at, name or None, int(ahead or 10), factory=self.factory,  # noqa: E731
                                  root=self.sessions.root)
            async for kind, value in waiting(made, lambda: "branching"):
                if kind == "tick":
                    yield {p.branch_status: value}
                else:
                    b = value
        except (UserError, ValueError, TypeError, OverflowError) as exc:
            yield {p.branch: None, p.branch_charts: None, p.branch_download: None,
                   p.branch_status: f"<div>cannot branch: {escape(str(exc))}</div>"}
            return
        while not b.done:
            async for kind, value in waiting(b.step, lambda: f"branch turn {b.engine.turn}"):
                line = value if kind == "tick" else f"<div>branch: turn {value.turn} played</div>"
                yield {p.branch: b, p.branch_status: line}
        picture = await asyncio.to_thread(b.picture, list(s.turns), s.portray)  # the run may play on meanwhile
        yield {p.branch: b, p.branch_charts: picture, p.branch_download: str(b.trace),
               p.branch_status: f"<div>{escape(b.title)}: played {len(b.turns)} turns beside this run</div>"}
