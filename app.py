"""The web demo: `python app.py [--policy scripted] [--host 0.0.0.0] [--port 7860]`.

Host and port: the flags when given, else GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (what hosting platforms
set), else 127.0.0.1:7860.

Each browser tab gets its own Session (an Engine writing to its own temp dir) in gr.State; the model
engine behind `--policy llm` is cached per process by the backend, so tabs share it. Start is an async
generator: the blocking turn runs in a worker thread and every turn is streamed to the page as it happens
(a few in-between pictures first, so goods fly), so one tab waiting on the model blocks no other tab.
"""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import dataclasses
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from html import escape
from pathlib import Path


def _fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__" and not os.environ.get("GRADIO_SERVER_PORT", "7860").strip().isdigit():
    # gradio reads this variable as it is imported and dies on a bad one with a traceback
    _fail(f"GRADIO_SERVER_PORT={os.environ['GRADIO_SERVER_PORT']!r} is not a port number")

import gradio as gr  # noqa: E402

from render import panels
from render.branch import MAX_AHEAD, Branch
from render.panels import LOG_TURNS
from render.charts import charts
from render.live import Live, PolicyFactory, open_run, policy_problem, portrayer
from render.scene import draw
from render.seat import Seating
from render.web_seat import seat_block
from sim import registry
from sim.config import RunConfig
from sim.engine import MAX_RUMOUR_CHARS
from sim.errors import UserError
from sim.fork import read_source
from sim.records import Turn
from sim.trace import TRACE

IN_BETWEEN = (0.25, 0.5, 0.75)  # animation frames shown before each turn's final picture
CHART_EVERY_S = 1.0  # matplotlib costs ~0.4 s: at full speed redraw the charts at most this often
SNAPSHOT_EVERY = 10  # turns between refreshes of the downloadable trace while playing
SESSION_TTL_S = 3 * 3600
MAX_SESSIONS = 64  # live worlds kept at once; the least recently used idle one is closed beyond this
MAX_CREATURES = 20_000  # creatures in all the live worlds together, likewise
IDLE_S = 20 * 60  # a world nobody has touched for this long is closed (tabs often leave without a word)
GRACE_S = 120  # a world touched this recently is never closed to make room (it may be starting, or downloading)
KEEP_FULL = LOG_TURNS  # turns kept whole (state, decisions) for the log; older ones keep metrics for the charts
FAILED_TURNS_TO_PAUSE = 3  # turns in a row on which the backend answered nobody before play pauses itself
WAIT_NOTE_AFTER_S = 1.5  # a step or start taking longer than this shows a ticking status
MAX_SEED = 2**63 - 1
DEFAULT_CREATURES = 5  # the creatures box starts here, and a blank box means it


class Session:
    """One tab's run: its engine, its temp dir, its turns, and whether it is playing."""

    def __init__(self, config: RunConfig, policy_factory: PolicyFactory | None, announce=lambda line: None):
        self.dir = Path(tempfile.mkdtemp(prefix="smallworlds-web-"))
        try:
            self.live = open_run(config, out=self.dir / "run", policy_factory=policy_factory, announce=announce)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.turns: list[Turn] = []  # oldest first; all but the newest KEEP_FULL are slimmed (see _slim)
        self.size = len(self.live.world.agents(self.live.engine.state))  # creatures, for the pool's budget
        self.portray = portrayer(self.live.world)  # the world draws itself; the page only paints
        self.playing = False
        self.delay = 0.5
        self.requests: list[tuple[str, str | None]] = []  # legends asked for, started before the next turn
        self.lock = threading.Lock()  # Start's loop and Step must not run a turn at the same time
        self.charts_at = 0.0
        self.used = time.monotonic()
        self.closed = False

    def step(self) -> Turn | None:
        """The next turn, or None when the session was closed meanwhile (a tab still streaming may ask)."""
        self.used = time.monotonic()
        with self.lock:
            if self.closed:
                return None
            while self.requests:
                self.live.engine.inject(*self.requests.pop(0))
            turn = self.live.engine.step()
            self.turns.append(turn)
            if len(self.turns) > KEEP_FULL:
                self.turns[-KEEP_FULL - 1] = _slim(self.turns[-KEEP_FULL - 1])
        return turn

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
        """Close the run and let go of everything heavy (turns, engine, world, drawing hook): Gradio keeps a
        tab's State for hours after the tab has gone (SESSION_TTL_S; an hour once it notices), so a closed
        Session keeps only what says it is closed and why its backend failed. Safe to call twice."""
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
    never closed."""

    def __init__(self, limit: int = MAX_SESSIONS, idle_s: float = IDLE_S, grace_s: float = GRACE_S,
                 creatures: int = MAX_CREATURES):
        self.limit, self.idle_s, self.grace_s, self.creatures = limit, idle_s, grace_s, creatures
        self.live: dict[int, Session] = {}
        self.lock = threading.Lock()

    def add(self, session: Session) -> Session:
        with self.lock:
            now = session.used = time.monotonic()
            self.live[id(session)] = session
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
            for old in closing:
                del self.live[id(old)]
                old.close()
        if closing:
            _hand_back_freed_memory()
        return session

    def remove(self, session: Session | None) -> None:
        if session is not None:
            with self.lock:
                self.live.pop(id(session), None)
            session.close()
            _hand_back_freed_memory()


def _problem_html(problem: str) -> str:
    return (f'<div style="background:#fde2e1;border:1px solid #c33;border-radius:6px;padding:6px;'
            f'color:#700"><b>Model backend problem</b>: {escape(problem)}<br>'
            f"Nothing plays until it works. Fix it and press Reset, or play without a model: "
            f"<b>Use the scripted policy</b>.</div>")


def _status(session: Session, note: str = "") -> str:
    problem = session.live.problem or (policy_problem(session.turns[-1]) if session.turns else None)
    parts = [_problem_html(problem)] if problem else []
    state = "playing" if session.playing else "paused"
    n = len(session.turns)
    parts.append(f"<div>{state} · {n} turn{'s' * (n != 1)}" + (f" · {escape(note)}" if note else "") + "</div>")
    return "".join(parts)


def _defaults(policy, backend, model) -> tuple[str, str, str]:
    return (policy or os.environ.get("SMALLWORLDS_POLICY", "llm"),
            backend or os.environ.get("SMALLWORLDS_BACKEND", "auto"),
            model if model is not None else os.environ.get("SMALLWORLDS_MODEL", ""))


def build_demo(policy_factory: PolicyFactory | None = None, *, policy: str | None = None,
               backend: str | None = None, model: str | None = None, sessions: Sessions | None = None) -> gr.Blocks:
    """The demo's Blocks. `policy_factory(name, PolicyOptions) -> Policy` replaces sim.cli.make_policy (the
    Modal deployment passes one); defaults come from the arguments, else SMALLWORLDS_POLICY / _BACKEND /
    _MODEL, else the embedded model (llm, auto)."""
    policy, backend, model = _defaults(policy, backend, model)
    sessions = sessions or Sessions()
    worlds = registry.world_names()
    first = "wood" if "wood" in worlds else worlds[0]

    def legends_of(world: str) -> list[str]:
        return sorted(registry.get_world(world).legends)

    with gr.Blocks(title="smallworlds") as demo:
        session = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=sessions.remove)
        gr.Markdown("## smallworlds · small language models living in a small world")
        with gr.Row():
            with gr.Column(scale=3):
                scene = gr.Image(label="the world", show_label=False, type="pil", format="png", interactive=False,
                                 buttons=[], elem_id="scene")
                plots = gr.Image(label="charts", show_label=False, type="pil", format="png", interactive=False,
                                 buttons=[], elem_id="charts")
                cards = gr.HTML(panels.cards_html(None), elem_id="cards")
            with gr.Column(scale=2):
                with gr.Row():
                    world = gr.Dropdown(worlds, value=first, label="world")
                    # bounds are checked in setup_of, whose refusal names the box (Gradio's own names no box)
                    agents = gr.Number(DEFAULT_CREATURES, label="creatures", precision=0)
                    seed = gr.Number(0, label="seed", precision=0)
                with gr.Row():
                    pol = gr.Dropdown(registry.names(registry.POLICIES), value=policy, label="policy")
                    back = gr.Dropdown(["auto", "vllm", "embedded", "openai", "modal"], value=backend, label="backend",
                                       allow_custom_value=True)
                    mod = gr.Textbox(model, label="model (blank: auto)")
                with gr.Row():
                    start = gr.Button("▶ Start", variant="primary", elem_id="start")
                    pause = gr.Button("❚❚ Pause", elem_id="pause")
                    step = gr.Button("Step", elem_id="step")
                    reset = gr.Button("↺ Reset (apply settings)", elem_id="reset")
                speed = gr.Slider(0, 3, value=0.5, step=0.1, label="seconds between turns", elem_id="speed")
                with gr.Row():
                    legend = gr.Dropdown(legends_of(first), label="legend", scale=2, elem_id="legend")
                    tell = gr.Button("Tell it now", elem_id="tell", scale=1)
                with gr.Row():
                    rumour = gr.Textbox(label="your own rumour", elem_id="rumour", max_length=MAX_RUMOUR_CHARS, scale=2,
                                        placeholder="e.g. the honey bees are leaving the wood")
                    spread = gr.Button("Spread it", elem_id="spread", scale=1)
                download = gr.DownloadButton("⬇ Download trace", value=None, elem_id="download")
                status = gr.HTML(elem_id="status")
                fallback = gr.Button("Use the scripted policy", elem_id="use-scripted", visible=False)
                log = gr.HTML(label="events", elem_id="log")
                seat_block(session)  # "Take a seat": play a creature or the patron (render/web_seat.py)

        settings = [world, agents, seed, pol, back, mod]
        views = [scene, plots, log, cards, status, download, session, fallback]
        keep = gr.skip()

        def setup_of(world, agents, seed, pol, back, mod) -> RunConfig:
            """The settings as a RunConfig, or gr.Error with one line saying what to change."""
            try:
                # None: a blank box
                n, seed_ = int(DEFAULT_CREATURES if agents is None else agents), int(0 if seed is None else seed)
            except (TypeError, ValueError, OverflowError):
                raise gr.Error("creatures and seed must be whole numbers") from None
            if not 1 <= n <= 1000:
                raise gr.Error("creatures: choose 1 to 1000")
            if not 0 <= seed_ <= MAX_SEED:
                raise gr.Error(f"seed: choose 0 to {MAX_SEED}")
            return RunConfig(world=world, agents=n, seed=seed_, policy=pol, backend=back,
                             model=(mod or "").strip() or None)

        def make(setup: RunConfig, announce=lambda line: None, playing: bool = False) -> Session:
            session = Session(setup, policy_factory, announce)
            session.playing = playing  # a world about to play must not be closed to make room meanwhile
            return sessions.add(session)

        async def waiting(blocking, label: str):
            """Run `blocking` in a worker thread; while it runs, yield a ticking status line every second.
            The last item yielded is ("done", result)."""
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

        def full(s: Session, note: str = "", snapshot: bool = False) -> tuple:
            turn = s.turns[-1] if s.turns else None
            picture = draw(turn, size=(960, 600), portray=s.portray) if turn else None
            chart = gr.skip()
            if turn and (not s.playing or time.monotonic() - s.charts_at > CHART_EVERY_S):
                chart, s.charts_at = charts(s.turns, portray=s.portray), time.monotonic()
            trace = s.snapshot() if snapshot and s.turns else gr.skip()
            problem = s.live.problem or (policy_problem(turn) if turn else None)
            return (picture, chart, panels.log_html(s.turns, portray=s.portray), panels.cards_html(turn, s.portray),
                    _status(s, note), trace, s, gr.Button(visible=bool(problem)))

        def note_only(html: str, s=keep) -> tuple:
            return (*[gr.skip()] * 4, html, gr.skip(), s, gr.skip())

        async def play(s, delay, *conf):
            if s is None or s.closed:
                setup = setup_of(*conf)
                said: list[str] = []
                starting = "starting the world"
                if setup.policy == "llm":
                    starting += " (the first start loads the model: ~30 s, more on a slow CPU)"
                yield note_only(f"<div>{escape(starting)}…</div>")
                def announce(line: str) -> None:  # the page shows the latest line; the server log keeps all
                    said.append(line)
                    print(line, file=sys.stderr)

                async for kind, value in waiting(lambda: make(setup, announce, playing=True),
                                                 lambda: said[-1] if said else starting):
                    if kind == "tick":
                        yield note_only(value)
                    else:
                        s = value
            if s.live.problem:  # the backend could not start: a world of no-ops is no demo
                s.playing = False
                yield (*[gr.skip()] * 4, _status(s, "not started"), gr.skip(), s, gr.Button(visible=True))
                return
            s.playing, s.delay = True, float(delay)
            while s.playing:
                began = time.monotonic()
                prev = s.turns[-1] if s.turns else None
                waits = "the model is deciding" if s.turns else "the first turn (the model warms up)"
                async for kind, value in waiting(s.step, lambda: f"turn {len(s.turns) + 1}: {waits}"):
                    if kind == "tick":
                        yield note_only(value, s)
                    else:
                        turn = value
                if turn is None:  # closed meanwhile (the pool made room, or the tab's State expired)
                    break
                if prev is not None and s.delay >= 0.3:
                    for t in IN_BETWEEN:
                        frame = await asyncio.to_thread(draw, turn, prev, t, size=(960, 600), portray=s.portray)
                        yield (frame, *[gr.skip()] * 7)
                        await asyncio.sleep(min(0.08, s.delay / 8))
                due = s.playing and turn.turn % SNAPSHOT_EVERY == 0
                yield await asyncio.to_thread(full, s, "", due)
                while s.playing and time.monotonic() - began < s.delay:
                    await asyncio.sleep(0.05)
                if s.over():
                    s.playing = False
                elif s.failing():
                    s.playing = False
                    yield await asyncio.to_thread(
                        full, s, f"paused: the backend answered nobody for {FAILED_TURNS_TO_PAUSE} turns", True)
                    return
            yield await asyncio.to_thread(full, s, "stopped; the trace is ready to download", True)

        def halt(s):
            if s is None:
                return gr.skip()
            s.playing = False
            return _status(s, "pausing after this turn")

        def one(s, *conf):
            s = s if s and not s.closed else make(setup_of(*conf))
            if s.playing:
                return (*[gr.skip()] * 4, _status(s, "already playing: pause first"), gr.skip(), s, gr.skip())
            if s.live.problem:
                return (*[gr.skip()] * 4, _status(s, "not started"), gr.skip(), s, gr.Button(visible=True))
            s.step()
            return full(s, "stepped", True)

        def renew(s, *conf):
            setup = setup_of(*conf)
            sessions.remove(s)
            s = make(setup)
            note = "ready: press Start or Step"
            return (None, None, panels.log_html([]), panels.cards_html(None), _status(s, note), None, s,
                    gr.Button(visible=bool(s.live.problem)))

        def ask(s, name, text=None):
            world = s.live.world if s is not None else None  # None once closed
            if world is None:
                return "<div>Start a world first.</div>"
            if name not in world.legends:
                return _status(s, f"this world has no legend {name!r}")
            s.requests.append((name, text))
            return _status(s, f"'{name}' begins next turn")

        start.click(play, [session, speed, *settings], views, api_name="play")
        fallback.click(lambda: "scripted", None, [pol], api_visibility="private").then(
            renew, [session, *settings], views, api_visibility="private")
        pause.click(halt, [session], [status], api_name="pause")
        step.click(one, [session, *settings], views, api_name="step")
        reset.click(renew, [session, *settings], views, api_name="reset")
        speed.change(lambda s, d: setattr(s, "delay", float(d)) if s else None, [session, speed], None,
                     api_visibility="private")
        tell.click(lambda s, n: ask(s, n) if n else gr.skip(), [session, legend], [status], api_name="legend")
        spread.click(lambda s, t: ask(s, "rumour", t) if (t or "").strip() else gr.skip(), [session, rumour],
                     [status], api_name="rumour")
        world.change(lambda w: gr.Dropdown(choices=legends_of(w), value=None), [world], [legend],
                     api_visibility="private")

        # --- branch from this turn: a second timeline of the tab's run, charted beside it ---------------
        with gr.Accordion("Branch from this turn", open=False, elem_id="branch-box"):
            with gr.Row():
                branch_at = gr.Number(None, label="first turn that differs (blank: the next)", precision=0, minimum=0,
                                      elem_id="branch-at")
                branch_legend = gr.Dropdown(legends_of(first), value=None, label="with a legend (optional)",
                                            elem_id="branch-legend")
                branch_turns = gr.Number(10, label="turns to play", precision=0, minimum=1, maximum=MAX_AHEAD,
                                         elem_id="branch-turns")
                branch_go = gr.Button("Branch", elem_id="branch")
            branch_status = gr.HTML(elem_id="branch-status")
            branch_charts = gr.Image(label="both timelines", show_label=False, type="pil", format="png",
                                     interactive=False, buttons=[], elem_id="branch-charts")
        branch = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda b: b and b.close())

        async def branch_off(s, b, at, name, ahead):
            """Fork the tab's run at `at` into a new branch (the old one is closed) and play it, then chart both."""
            if b is not None:
                b.close()
            if s is None or s.closed or not s.turns:
                yield None, None, "<div>Play a few turns first, then branch from one of them.</div>"
                return
            try:
                with s.lock:  # between two turns: the trace ends with a whole one
                    source = read_source(s.dir / "run" / TRACE)
                at = None if at is None or at == "" else int(at)
                async for kind, value in waiting(lambda: Branch(source, at, name or None, int(ahead or 10),
                                                                factory=policy_factory), lambda: "branching"):
                    if kind == "tick":
                        yield gr.skip(), gr.skip(), value
                    else:
                        b = value
            except (UserError, ValueError, TypeError, OverflowError) as exc:
                yield None, None, f"<div>cannot branch: {escape(str(exc))}</div>"
                return
            while not b.done:
                async for kind, value in waiting(b.step, lambda: f"branch turn {b.engine.turn}"):
                    yield b, gr.skip(), value if kind == "tick" else f"<div>branch: turn {value.turn} played</div>"
            picture = await asyncio.to_thread(b.picture, list(s.turns), s.portray)  # the run may play on meanwhile
            yield b, picture, f"<div>{escape(b.title)}: played {len(b.turns)} turns beside this run</div>"

        branch_go.click(branch_off, [session, branch, branch_at, branch_legend, branch_turns],
                        [branch, branch_charts, branch_status], api_name="branch")
        world.change(lambda w: gr.Dropdown(choices=legends_of(w), value=None), [world], [branch_legend],
                     api_visibility="private")
    # tabs must not queue behind each other: the shared model is the only thing they wait for
    return demo.queue(default_concurrency_limit=None, max_size=256)


def address(host: str | None, port: int | None) -> tuple[str, int]:
    """Flags win; else Gradio's own variables; else loopback:7860. A bad or taken port is a SystemExit with
    one `error:` line."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    if port is None:
        text = os.environ.get("GRADIO_SERVER_PORT", "7860")
        try:
            port = int(text)
        except ValueError:
            _fail(f"GRADIO_SERVER_PORT={text!r} is not a port number")
    if not 0 < port < 65536:
        _fail(f"port {port} is out of range: pass --port 1-65535")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            _fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}): pass another --port "
                  f"or set GRADIO_SERVER_PORT")
    return host, port


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="smallworlds web demo")
    p.add_argument("--policy", default=None, help="default policy (env SMALLWORLDS_POLICY, else llm)")
    p.add_argument("--backend", default=None, help="default backend (env SMALLWORLDS_BACKEND, else auto)")
    p.add_argument("--model", default=None, help="default model (env SMALLWORLDS_MODEL)")
    p.add_argument("--host", default=None, help="address to listen on (env GRADIO_SERVER_NAME, else 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (env GRADIO_SERVER_PORT, else 7860)")
    args = p.parse_args(argv)
    host, port = address(args.host, args.port)
    # SIGTERM (a supervisor, a closing terminal) must unwind like Ctrl-C so that exit hooks run: the model
    # backend stops its engine processes in one (the engine is built in a worker thread, which cannot set this)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.policy is not None and args.policy not in registry.names(registry.POLICIES):
        _fail(f"unknown policy {args.policy!r} (installed: {', '.join(registry.names(registry.POLICIES))})")
    build_demo(policy=args.policy, backend=args.backend, model=args.model).launch(server_name=host, server_port=port)


if __name__ == "__main__":
    main()
