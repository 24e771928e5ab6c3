"""`python -m sim view [TRACE]`: the pygame desktop viewer. It plays a recorded trace, or a live run whose
engine steps in a background thread, and animates each turn with `scene.draw(turn, prev, t)`.

    keys   space pause · s / → one turn (paused) · + / - speed · l start the next legend (live) · q / esc quit
           t take a seat (live; again: the next agent, the patron, then leave): render/window/seat.py

The loop (`loop`) runs a given number of frames with scripted events, so tests drive it headless under
SDL_VIDEODRIVER=dummy. With --gif nothing opens: the frames go to a GIF instead.
"""
from __future__ import annotations

import argparse
import os
import queue
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from PIL import Image, ImageDraw

from render.paint import gif, look, scene
from render.live.run import open_run, policy_problem
from render.paint.view import Portraits, portrayer, world_from_header
from render.window.seat import PANEL_W, WindowSeat
from sim.config import RunConfig, world_params
from sim.errors import UsageError
from sim.records import Turn
from sim.trace import load_trace
from sim.world import World

SIZE = (960, 600)
HUD = 24  # the key help / status strip under the scene
SPEEDS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


# --- where turns come from ---------------------------------------------------------------------------
class TraceTurns:
    """Turns of a recorded trace, one after another."""

    live = False

    def __init__(self, turns: list[Turn], world: World | None):
        self.turns, self.world, self.i = turns, world, 0
        self.problem = None

    def next(self, wait: float = 0.0) -> Turn | None:
        if self.i >= len(self.turns):
            return None
        self.i += 1
        return self.turns[self.i - 1]

    def finished(self) -> bool:
        return self.i >= len(self.turns)

    def inject(self, name: str) -> None:
        raise RuntimeError("a recorded run cannot change: legends start only in a live run")

    def close(self) -> None:
        pass


class LiveTurns:
    """An engine stepping in a background thread. The queue holds one finished turn, so the engine runs at
    most one turn ahead of the picture; legends pass through `injects` and the thread starts them itself,
    because Engine.inject is not safe to call while a step is in progress."""

    live = True

    def __init__(self, config: RunConfig, turns: int | None):
        run = open_run(config)  # raises UsageError for a bad world; a broken policy becomes no-ops
        self.engine, self.world, self.problem = run.engine, run.world, run.problem
        self.limit = turns
        self.out: queue.Queue[Turn | None] = queue.Queue(maxsize=1)
        self.injects: queue.Queue[str] = queue.Queue()
        self.stop = threading.Event()
        self.error: str | None = None
        self.done = False
        self.thread = threading.Thread(target=self._work, name="engine", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            for turn in self.engine.run(self.limit):
                while not self.stop.is_set():
                    try:
                        self.out.put(turn, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self.stop.is_set():
                    break
                while not self.injects.empty():  # between two turns: the legend starts with the next one
                    self.engine.inject(self.injects.get_nowait())
        except Exception as exc:  # the world itself broke: show it, keep the window
            self.error = f"the engine stopped: {type(exc).__name__}: {exc}"[:200]
        finally:
            self.engine.close()
            self.done = True

    def next(self, wait: float = 0.0) -> Turn | None:
        try:
            return self.out.get(timeout=wait) if wait > 0 else self.out.get_nowait()
        except queue.Empty:
            return None

    def finished(self) -> bool:
        return self.done and self.out.empty()

    def inject(self, name: str) -> None:
        self.injects.put(name)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


# --- what is on screen -------------------------------------------------------------------------------
@dataclass
class Player:
    """The viewer's state, apart from pygame: which turn is shown, how far its animation is, paused or not."""

    source: TraceTurns | LiveTurns
    frames_per_turn: int = 24
    paused: bool = False
    speed: float = 1.0
    turn: Turn | None = None
    prev: Turn | None = None
    phase: float = 1.0  # 0 -> 1 through the current turn's animation
    note: str = ""  # a short message (legend started, nothing to step to), shown for a while
    note_frames: int = 0
    legend_at: int = 0
    quit: bool = False
    stepping: bool = False  # a step animates its turn even while paused
    seat: WindowSeat | None = None  # a person's seat in a live run

    def advance(self, wait: float = 0.0) -> bool:
        """Show the next turn if there is one (waiting up to `wait` seconds for a live engine)."""
        nxt = self.source.next(wait)
        if nxt is None:
            return False
        self.prev, self.turn, self.phase = self.turn, nxt, 0.0
        return True

    def tick(self) -> None:
        """One frame of time: animate, and take the next turn once this one is at rest."""
        if self.note_frames:
            self.note_frames -= 1
        if self.turn is None:
            self.advance()
            return
        if self.paused and not self.stepping:
            return
        self.phase = min(1.0, self.phase + self.speed / self.frames_per_turn)
        if self.phase >= 1.0:
            self.stepping = False
            if not self.paused:
                self.advance()

    def key(self, key: str) -> None:
        if key == "pause":
            self.paused = not self.paused
        elif key == "step":
            self.paused = True
            if not self.advance(wait=10.0 if self.source.live else 0.0):
                self.say("no more turns" if self.source.finished() else "the next turn is not ready yet")
            else:
                self.stepping = True
        elif key in ("faster", "slower"):
            i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - self.speed))
            self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + (1 if key == "faster" else -1)))]
            self.say(f"speed ×{self.speed:g}")
        elif key == "legend":
            self.start_legend()
        elif key == "seat":
            self.say(self.seat.cycle() if self.seat else "seats are taken only in a live run")
        elif key == "quit":
            self.quit = True

    def start_legend(self) -> None:
        world = self.source.world
        names = [n for n in (world.legends if world else {}) if n != "rumour"]
        if not self.source.live or not names:
            self.say("legends start only in a live run" if not self.source.live else "this world has no legends")
            return
        name = names[self.legend_at % len(names)]
        self.legend_at += 1
        self.source.inject(name)
        self.say(f"⚑ {world.legends[name]} begins next turn")

    def say(self, text: str, frames: int = 75) -> None:
        self.note, self.note_frames = text, frames

    def t(self) -> float:
        return gif.ease(self.phase)

    def status(self) -> str:
        """The right-hand side of the HUD."""
        if self.note_frames:
            return self.note
        problem = getattr(self.source, "error", None) or self.source.problem
        if self.turn is not None and not problem:
            problem = policy_problem(self.turn)
        if problem:
            return problem
        if self.source.finished():
            return "end of run"
        if self.turn is None or (self.phase >= 1.0 and not self.paused):
            return f"waiting for turn {0 if self.turn is None else self.turn.turn + 1}…"
        if not self.source.live:
            return f"recorded run · turn {self.turn.turn} of {self.source.turns[-1].turn}"
        return "live"


# --- pygame ------------------------------------------------------------------------------------------
KEYS = {"space": "pause", "s": "step", "right": "step", "+": "faster", "=": "faster", "[+]": "faster",
        "-": "slower", "[-]": "slower", "l": "legend", "t": "seat", "q": "quit", "escape": "quit"}


def _action(event) -> str | None:
    import pygame

    if event.type == pygame.QUIT:
        return "quit"
    if event.type != pygame.KEYDOWN:
        return None
    return KEYS.get(getattr(event, "unicode", "") or "") or KEYS.get(pygame.key.name(event.key))


def hud(player: Player, w: int) -> Image.Image:
    img = Image.new("RGB", (w, HUD), (18, 20, 22))
    d = ImageDraw.Draw(img)
    state = "❚❚ paused" if player.paused else "▶ playing"
    left = f"{state}  ×{player.speed:g}   space pause · s step · +/- speed · l legend · t seat · q quit"
    look.text_box(d, (8, HUD / 2), left, 12, fill=(200, 205, 200), anchor="lm")
    right = player.status()
    if right:
        right = right if len(right) <= 90 else right[:89] + "…"
        colour = (255, 200, 90) if player.note_frames else (240, 120, 110) if "unavailable" in right \
            or "stopped" in right or "failed" in right else (170, 180, 175)
        look.text_box(d, (w - 8, HUD / 2), right, 12, fill=colour, anchor="rm")
    return img


def _surface(img: Image.Image):
    import pygame

    return pygame.image.frombytes(img.tobytes(), img.size, "RGB")


def loop(player: Player, screen, *, frames: int | None = None, fps: int = 30,
         events: Mapping[int, list] | None = None) -> int:
    """Run the viewer: `frames` frames (None: until quit), posting `events[k]` before frame k. Returns the
    frames run. The scene is drawn again only when the picture can have changed."""
    import pygame

    clock = pygame.time.Clock()
    w, h = screen.get_size()
    size = (w, h - HUD)
    last_key, hud_key = None, None
    portray = Portraits(portrayer(player.source.world), keep=2)  # a turn is drawn in many frames, portrayed once
    n = 0
    while not player.quit and (frames is None or n < frames):
        for event in (events or {}).get(n, []):
            pygame.event.post(event)
        for event in pygame.event.get():
            if player.seat and event.type == pygame.KEYDOWN:  # a form being filled takes its keys first
                said = player.seat.key(pygame.key.name(event.key), getattr(event, "unicode", "") or "")
                if said:
                    player.say(said)
                if said is not None:
                    continue
            action = _action(event)
            if action:
                player.key(action)
        player.tick()
        gone = player.seat.departed() if player.seat else None
        if gone:
            player.say(gone)
        if player.seat and player.seat.refresh():
            last_key = None  # the panel came or went: paint the scene again under it
        if player.turn is not None:
            key = (id(player.turn), round(player.phase, 4))
            if key != last_key:
                picture = scene.draw(player.turn, player.prev, player.t(), size=size,
                                     portray=portray)
                screen.blit(_surface(picture), (0, 0))
                last_key = key
        if player.seat and player.seat.asked:
            screen.blit(_surface(player.seat.panel(h - HUD)), (w - min(PANEL_W, w), 0))
        status = (player.paused, player.speed, player.status())
        if status != hud_key:
            screen.blit(_surface(hud(player, w)), (0, h - HUD))
            hud_key = status
        pygame.display.flip()
        clock.tick(fps)
        n += 1
    return n


def open_window(size: tuple[int, int] = SIZE, title: str = "smallworlds"):
    import pygame

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    pygame.display.init()
    pygame.display.set_caption(title)
    return pygame.display.set_mode((size[0], size[1] + HUD))


# --- the command (flags in render/window/commands.py) ----------------------------------------------
def command(args: argparse.Namespace) -> int:
    if args.fps < 1:
        raise UsageError("--fps must be >= 1")
    if args.frames_per_turn is not None and args.frames_per_turn < 1:
        raise UsageError("--frames-per-turn must be >= 1")
    if args.turns is not None and args.turns < 0:
        raise UsageError("--turns must be >= 0")
    if not args.seat_timeout > 0:
        raise UsageError("--seat-timeout must be more than 0 seconds")
    trace = Path(args.trace) if args.trace else None
    if trace is not None and not trace.is_file():
        raise UsageError(f"no trace at {trace}")
    if args.gif:
        return write_gif(args, trace)
    source = open_source(args, trace)
    try:
        screen = open_window(title=f"smallworlds · {trace or args.world}")
        player = player_of(args, source)
        try:
            loop(player, screen, fps=args.fps)
        finally:
            if player.seat:  # a world waiting on the seat lets go now, not after its timeout
                player.seat.leave()
    finally:
        source.close()
        import pygame

        pygame.display.quit()
    return 0


def player_of(args: argparse.Namespace, source: TraceTurns | LiveTurns) -> Player:
    """The window's player for `source` as the flags set it: its pace and, for a live run, a seat the world
    waits --seat-timeout seconds for."""
    player = Player(source, frames_per_turn=args.frames_per_turn or 24,
                    seat=WindowSeat(source, args.seat_timeout) if source.live else None)
    if source.problem:
        player.say(source.problem, frames=10 * args.fps)
    return player


def open_source(args: argparse.Namespace, trace: Path | None) -> TraceTurns | LiveTurns:
    if trace is not None:
        header, turns = _load(trace)
        return TraceTurns(turns, world_from_header(header))
    return LiveTurns(live_config(args), args.turns)


def live_config(args: argparse.Namespace) -> RunConfig:
    return RunConfig(world=args.world, agents=args.agents, params=world_params(args.set), seed=args.seed,
                     turns=args.turns, policy=args.policy, backend=args.backend, model=args.model)


def _load(trace: Path):
    try:
        return load_trace(trace)
    except ValueError as exc:  # not a trace (or not JSON at all)
        raise UsageError(f"{trace} is not a smallworlds trace: {exc}") from exc


def write_gif(args: argparse.Namespace, trace: Path | None) -> int:
    fpt = args.frames_per_turn or 4
    if trace is not None:
        out = gif.export(trace, args.gif, frames_per_turn=fpt, max_turns=args.turns)
    else:  # a live run with no window: play it through, then draw it
        with tempfile.TemporaryDirectory() as tmp:
            run = open_run(live_config(args), out=tmp)
            if run.problem:
                print(f"warning: {run.problem}")
            if not list(run.engine.run(args.turns)):
                raise UsageError("no turns to draw: pass --turns 1 or more")
            out = gif.export(Path(tmp) / "trace.jsonl", args.gif, frames_per_turn=fpt)
    print(f"wrote {out}")
    return 0
