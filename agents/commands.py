"""`python -m sim prompt --world W --agent NAME [--seed S --turn T]`: the exact chat messages and JSON schema
a model would get for one agent's decision, without loading a model. Registered under the
"smallworlds.commands" entry point group like the viewer's `view`; the flags load without the world or the
prompt code, which `prompt` imports when run.

The run up to turn T is played by the scripted policy (the world's heuristic) from seed S, so the same
flags always show the same prompt.
"""
from __future__ import annotations

import argparse
import json

from sim.errors import UsageError

HELP = "print the messages and schema a model gets for one agent's decision"


def add(parser: argparse.ArgumentParser) -> None:
    parser.description = ("print the exact chat messages and JSON schema a model would get for one agent at "
                          "one turn (turns before it are played by the world's heuristic)")
    parser.add_argument("--world", default="wood", help="registered world name (default: wood)")
    parser.add_argument("--agent", default=None, help="the agent's name (default: the first agent)")
    parser.add_argument("--agents", type=int, default=None, help="number of agents (default: the world's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a world parameter")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--turn", type=int, default=0, help="the turn whose prompt to show (default: 0)")
    parser.add_argument("--json", action="store_true", help="one JSON object: messages, schema, max_tokens")
    parser.set_defaults(func=prompt)


def prompt(args: argparse.Namespace) -> int:
    from agents.prompts import max_tokens_for, messages
    from sim.variants import for_decoding

    ask = ask_at(args)
    shown = {"agent": ask.agent, "turn": ask.turn, "messages": messages(ask), "schema": for_decoding(ask.schema),
             "max_tokens": max_tokens_for(ask.schema)}
    if args.json:
        print(json.dumps(shown, indent=1))
        return 0
    for message in shown["messages"]:
        print(f"--- {message['role']} ---")
        print(message["content"])
    print(f"--- schema (reply budget: {shown['max_tokens']} tokens) ---")
    print(json.dumps(shown["schema"], indent=1))
    return 0


def ask_at(args: argparse.Namespace):
    """The Ask the engine builds for `args.agent` at `args.turn`, after a scripted run to that turn."""
    from agents.policies import scripted
    from sim.config import make_world, world_params
    from sim.engine import Engine
    from sim.policy import Ask, PolicyOptions

    if args.turn < 0:
        raise UsageError("--turn must be >= 0")
    world = make_world(args.world, args.agents, world_params(args.set))
    engine = Engine(world, scripted(PolicyOptions(seed=args.seed)), seed=args.seed)
    while engine.turn < args.turn:
        if world.done(engine.state):
            raise UsageError(f"world {args.world!r} ended at turn {engine.turn}, before --turn {args.turn}")
        engine.step()
    names = world.agents(engine.state)
    agent = args.agent if args.agent is not None else (names[0] if names else None)
    if agent not in names:
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise UsageError(f"no agent {agent!r} acts at turn {args.turn} (agents: {shown or 'none'})")
    return Ask(world, engine.state, agent, engine.turn)
