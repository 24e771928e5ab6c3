"""`python -m sim view`: its flags, declared here without importing the viewer, so `python -m sim --help`
and every other subcommand work on the core install; the viewer (pillow, pygame) loads only when run."""
from __future__ import annotations

import argparse

from agents.backends.human import SEAT_TIMEOUT_S
from sim.errors import MissingExtra

HELP = "watch a trace or a live run in a pygame window, or write it as a GIF"
GIF_TURNS = 30  # a live run written to a GIF needs an end


def add(parser: argparse.ArgumentParser) -> None:
    parser.description = "watch a run: a recorded trace, or a live run (the engine steps while you watch)"
    parser.add_argument("trace", nargs="?", default=None, help="a trace.jsonl to play (default: a live run)")
    parser.add_argument("--world", default="wood", help="live: registered world name (default: wood)")
    parser.add_argument("--agents", type=int, default=None, help="live: number of agents (default: the world's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="live: a world parameter")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--policy", default="scripted", help="live: scripted | llm | chaos (default: scripted)")
    parser.add_argument("--backend", default="auto",
                        help="live, --policy llm: auto | vllm | embedded | openai | modal")
    parser.add_argument("--model", default=None, help="live: model id or local path")
    parser.add_argument("--turns", type=int, default=None, help="live: stop after this many turns (default: "
                        f"no end; {GIF_TURNS} with --gif)")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--frames-per-turn", type=int, default=None,
                        help="animation frames per turn (default: 24 in the window, 4 in a GIF)")
    parser.add_argument("--seat-timeout", type=float, default=SEAT_TIMEOUT_S, metavar="SECONDS",
                        help=f"live: how long the world waits for a seat you took (t) before it no-ops "
                             f"(default: {SEAT_TIMEOUT_S:g})")
    parser.add_argument("--gif", default=None, metavar="PATH", help="write an animated GIF instead of a window")
    parser.set_defaults(func=view)


def view(args: argparse.Namespace) -> int:
    try:
        from render.window import viewer as window
        if not args.gif:
            import pygame  # noqa: F401  (a GIF needs only pillow)
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("the GIF export" if args.gif else "the desktop viewer", exc) from exc
    if args.gif and args.trace is None and args.turns is None:
        args.turns = GIF_TURNS
    return window.command(args)
