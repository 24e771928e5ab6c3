"""The desktop viewer, headless (SDL's dummy video driver): its loop on a trace and on a live run with keys
pressed, and `python -m sim view TRACE --gif` from the command line."""
import os
import subprocess
import sys

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
pygame = pytest.importorskip("pygame")

from PIL import Image  # noqa: E402

from agents.backends.human import SEAT_TIMEOUT_S  # noqa: E402
from render.window import commands, viewer as window  # noqa: E402
from sim.config import RunConfig  # noqa: E402
from sim import registry  # noqa: E402
from sim.cli import COMMANDS, Parser  # noqa: E402
from sim.trace import load_trace  # noqa: E402
from tests.conftest import run_wood  # noqa: E402


def key(k, text=""):
    return pygame.event.Event(pygame.KEYDOWN, key=k, unicode=text, mod=0)


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_wood(turns=6, seed=4, out=out)
    return out / "trace.jsonl"


@pytest.fixture
def screen():
    surface = window.open_window((320, 200))
    yield surface
    pygame.display.quit()


def parse(argv):
    parser = Parser(prog="view")
    commands.add(parser)
    return parser.parse_args(argv)


def trace_player(trace, fpt=4):
    header, turns = load_trace(trace)
    return window.Player(window.TraceTurns(turns, None), frames_per_turn=fpt)


def test_trace_plays_through(trace, screen):
    player = trace_player(trace)
    ran = window.loop(player, screen, frames=40, fps=0)
    assert ran == 40
    assert player.turn.turn == 5 and player.source.finished()
    assert player.status().startswith("end of run")
    assert pygame.surfarray.array3d(screen).std() > 10  # something was drawn


def test_pause_step_speed_quit(trace, screen):
    player = trace_player(trace)
    events = {2: [key(pygame.K_SPACE, " ")], 5: [key(pygame.K_s, "s")], 8: [key(pygame.K_RIGHT)],
              9: [key(pygame.K_EQUALS, "+")], 10: [key(pygame.K_MINUS, "-"), key(pygame.K_MINUS, "-")]}
    window.loop(player, screen, frames=30, fps=0, events=events)
    assert player.paused
    assert player.turn.turn == 2  # turn 0 shown, then two steps; paused, nothing more
    assert player.speed == 0.5
    ran = window.loop(player, screen, frames=30, fps=0, events={3: [key(pygame.K_q, "q")]})
    assert ran == 4 and player.quit


def test_legend_key_in_a_trace_only_explains(trace, screen):
    player = trace_player(trace)
    window.loop(player, screen, frames=3, fps=0, events={1: [key(pygame.K_l, "l")]})
    assert "live run" in player.status()


def test_live_legend_reaches_the_engine(screen):
    source = window.LiveTurns(RunConfig(world="wood", agents=5, seed=2), turns=12)
    try:
        player = window.Player(source, frames_per_turn=2)
        assert player.advance(wait=10)
        window.loop(player, screen, frames=4, fps=0, events={0: [key(pygame.K_SPACE, " "), key(pygame.K_l, "l")]})
        assert player.paused and player.turn.turn == 0
        first = next(n for n in source.world.legends if n != "rumour")
        assert "begins next turn" in player.status()
        seen = []
        for _ in range(6):  # the legend starts within two turns: one may already be computed
            player.key("step")
            seen.append(player.turn)
        assert any(first in t.legends for t in seen)
    finally:
        source.close()
    assert not source.thread.is_alive()


def test_live_broken_policy_still_plays(screen):
    source = window.LiveTurns(RunConfig(world="wood", agents=3, policy="llm", backend="openai",
                                    model="nobody/nothing"), turns=2)
    try:
        player = window.Player(source, frames_per_turn=2)
        assert player.advance(wait=10)
        assert all(d.status == "noop" for d in player.turn.decisions)
        assert player.status()  # the reason is on screen
    finally:
        source.close()


def test_command_writes_gif_from_trace(trace, tmp_path):
    out = tmp_path / "view.gif"
    assert window.command(parse([str(trace), "--gif", str(out), "--frames-per-turn", "2"])) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 12


def test_command_writes_gif_live(tmp_path):
    out = tmp_path / "live.gif"
    assert window.command(parse(["--turns", "3", "--agents", "4", "--gif", str(out), "--frames-per-turn", "1"])) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 3


def test_seat_timeout_flag_sets_how_long_a_live_world_waits_for_the_seat():
    from sim.cli import UsageError

    args = parse(["--agents", "3", "--turns", "1", "--seat-timeout", "7.5"])
    source = window.open_source(args, None)
    try:
        assert window.player_of(args, source).seat.timeout == 7.5
    finally:
        source.close()
    assert parse([]).seat_timeout == SEAT_TIMEOUT_S
    with pytest.raises(UsageError, match="--seat-timeout must be more than 0"):
        window.command(parse(["--seat-timeout", "0"]))


def test_missing_trace_is_a_usage_error(tmp_path):
    from sim.cli import UsageError

    with pytest.raises(UsageError, match="no trace"):
        window.command(parse([str(tmp_path / "nope.jsonl")]))


@pytest.mark.skipif("view" not in registry.names(COMMANDS),
                    reason='`view` is not registered yet: add view = "render.window.commands" under '
                           '[project.entry-points."smallworlds.commands"] and reinstall')
def test_cli_view_gif(trace, tmp_path):
    out = tmp_path / "cli.gif"
    done = subprocess.run([sys.executable, "-m", "sim", "view", str(trace), "--gif", str(out)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    assert done.returncode == 0, done.stderr
    with Image.open(out) as gif:
        assert gif.n_frames == 6 * 4
