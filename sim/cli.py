"""`python -m sim run|replay|sweep|view ...`: the headless command line.

Errors a user can cause (unknown world, bad flag, unwritable --out, missing model) print one line and exit
with code 2. Commands from other packages (the viewer's `view`) come in through the "smallworlds.commands"
entry point group, so the engine imports none of them.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from sim import registry
from sim.engine import Engine
from sim.errors import MissingExtra, UsageError, UserError
from sim.policy import PolicyOptions
from sim.trace import CHECKPOINT, TRACE, iter_turns, read_header
from sim.world import param_names, validate_params

COMMANDS = "smallworlds.commands"
EXPORTERS = "smallworlds.exporters"


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: one line, exit 2
        raise UsageError(message)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m sim", description="smallworlds: multi-agent worlds driven by small models")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_run(sub.add_parser("run", help="run a world headless, writing a trace"))
    add_replay(sub.add_parser("replay", help="re-run a trace from its recorded replies and compare states"))
    from sim import sweep  # sim.sweep builds on this module's helpers, so it is imported once they exist
    sweep.add(sub.add_parser("sweep", help="run episodes over a grid of parameters x seeds, in parallel"))
    for ep_name in registry.names(COMMANDS):
        # a command module declares its flags and a one-line HELP, and imports what it needs only when run
        command = registry.load(COMMANDS, ep_name)
        command.add(sub.add_parser(ep_name, help=getattr(command, "HELP", None)))
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except (UserError, registry.UnknownName) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# --- shared flags ------------------------------------------------------------------------------------
def add_world_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--world", default="wood", help="registered world name (default: wood)")
    p.add_argument("--agents", type=int, default=None, help="number of agents (default: the world's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a world parameter")


def add_policy_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", default="scripted", help="scripted | llm | chaos | replay (default: scripted)")
    p.add_argument("--backend", default="auto",
                   help="for --policy llm: auto | vllm | embedded | openai | modal (default: auto)")
    p.add_argument("--model", default=None, help="model id or local path")
    p.add_argument("--url", default=None, help="OpenAI-compatible server base URL (openai backend)")
    p.add_argument("--council", default=None, help="JSON file assigning backends to agents or roles")
    p.add_argument("--temperature", type=float, default=0.7)


def world_params(pairs: list[str]) -> dict[str, Any]:
    """`--set KEY=VALUE` pairs as text; `make_world` reads each value by the type the world declares."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--set wants KEY=VALUE, got {pair!r}")
        params[key] = None if value.lower() in ("none", "null") else value
    return params


def typed_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` (text from `--set`, or JSON values from a trace) checked by the world's declared Params and
    read by their types; only the keys given, so a sweep's grid keeps its own axes."""
    full = validate_params(registry.get_world(name), params)
    names = param_names(registry.get_world(name).Params)
    return {key: full[key] for key in params if key in names}


def make_world(name: str, agents: Any, params: dict[str, Any]):
    """The world `name` with `agents` agents (None: the world's default) and parameters checked against its
    declared Params: an unknown key or a value out of bounds is a one-line UsageError naming the known ones."""
    cls = registry.get_world(name)
    typed = validate_params(cls, params)
    try:
        return cls(agents=agent_count(agents), **typed)  # keys as the constructor spells them (aliases)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, UserError):
            raise
        raise UsageError(f"world {name!r}: {exc}") from exc


def agent_count(value: Any) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"agents must be a whole number, at least 1 (got {value!r})") from None
    if n < 1 or n != float(value):
        raise UsageError(f"agents must be a whole number, at least 1 (got {value!r})")
    return n


def policy_options(args: argparse.Namespace, **overrides: Any) -> PolicyOptions:
    return PolicyOptions(backend=args.backend, model=args.model, url=args.url, seed=args.seed,
                         temperature=args.temperature, council=args.council, **overrides)


def make_policy(name: str, opts: PolicyOptions):
    return registry.load(registry.POLICIES, name)(opts)


def parse_legends(specs: list[str], world) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for spec in specs:
        name, sep, turn = spec.partition("@")
        if not sep or not turn.isdigit():
            raise UsageError(f"--legend wants NAME@TURN, got {spec!r}")
        if name not in world.legends:
            raise UsageError(f"unknown legend {name!r} (known: {', '.join(sorted(world.legends))})")
        out.setdefault(int(turn), []).append(name)
    return out


# --- run ---------------------------------------------------------------------------------------------
def add_run(p: argparse.ArgumentParser) -> None:
    add_world_flags(p)
    add_policy_flags(p)
    p.add_argument("--turns", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output directory (default: runs/WORLD-SEED)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--legend", action="append", default=[], metavar="NAME@TURN", help="start a legend at a turn")
    p.add_argument("--gif", default=None, help="also write an animated GIF of the run")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out or f"runs/{args.world}-{args.seed}")
    if args.turns < 0:
        raise UsageError("--turns must be >= 0")
    if args.resume and (out / CHECKPOINT).exists():
        engine = resume_engine(out, args)
    else:
        if args.resume and started_turns(out):
            raise UsageError(f"cannot resume: {out} has turns but no {CHECKPOINT}")
        if not args.resume and (out / TRACE).exists():
            raise UsageError(f"{out} already holds a run: pass --resume to continue it, or another --out")
        check_writable(out)
        world = make_world(args.world, args.agents, world_params(args.set))
        legends = parse_legends(args.legend, world)
        opts = policy_options(args, announce=_say(args.quiet))
        policy = make_policy(args.policy, opts)
        config = {"policy": args.policy, "backend": args.backend, "model": args.model, "url": args.url,
                  "council": args.council, "temperature": args.temperature, "turns": args.turns}
        engine = Engine(world, policy, seed=args.seed, out=out, legends=legends, config=config)
    turns = list(progress(engine.run(args.turns), args.turns - engine.turn, args.quiet))
    if not args.quiet:
        print_summary(turns, out)
    if args.gif:
        export_gif(out / TRACE, args.gif)
    return 0


def export_gif(trace: Path, path: str) -> None:
    try:
        export = registry.load(EXPORTERS, "gif")
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("--gif", exc) from exc
    export(trace, path)


def started_turns(out: Path) -> bool:
    """Whether a run in `out` got past its header (a run killed before its first turn restarts cleanly)."""
    return (out / TRACE).exists() and next(iter_turns(out / TRACE), None) is not None


def resume_engine(out: Path, args: argparse.Namespace) -> Engine:
    config = read_header(out / TRACE)["config"]
    world = make_world(config["world"], config.get("agents"), _world_params(config))
    opts = PolicyOptions(backend=config.get("backend", "auto"), model=config.get("model"), url=config.get("url"),
                         seed=config["seed"], temperature=config.get("temperature", 0.7),
                         council=config.get("council"), announce=_say(args.quiet))
    return Engine.resume(out, world, make_policy(config.get("policy", "scripted"), opts))


RUN_KEYS = {"world", "agents", "seed", "policy", "backend", "model", "url", "council", "temperature", "turns"}


def _world_params(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in RUN_KEYS}


def check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to {out}: {exc.strerror or exc}") from exc


def _say(quiet: bool):
    return (lambda line: None) if quiet else (lambda line: print(line, file=sys.stderr))


def progress(turns, total: int, quiet: bool):
    if quiet:
        yield from turns
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="turn", file=sys.stderr) as bar:
        for turn in turns:
            m = turn.metrics
            bar.set_postfix({k: m[k] for k in ("gini", "trades", "noop") if k in m}, refresh=False)
            bar.update()
            yield turn


def print_summary(turns: list, out: Path) -> None:
    if not turns:
        print(f"no turns played; output in {out}")
        return
    last = turns[-1].metrics
    print(f"{len(turns)} turns, output in {out}")
    if "prices" in last:
        print("prices: " + ", ".join(f"{g} {p:.1f}" for g, p in last["prices"].items()))
    if "trades" in last:
        print(f"trades per turn: median {statistics.median(t.metrics['trades'] for t in turns):g}")
    if "gini" in last:
        print(f"gini: {turns[0].metrics['gini']:.3f} -> {last['gini']:.3f}")
    decided = sum(t.metrics.get(k, 0) for t in turns for k in ("valid", "repaired", "noop"))
    noops = sum(t.metrics.get("noop", 0) for t in turns)
    print(f"decisions: {decided}, no-ops: {noops}")


# --- replay ------------------------------------------------------------------------------------------
def add_replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", help="a trace.jsonl to replay")
    p.add_argument("--out", default=None, help="also write the replayed run here")
    p.set_defaults(func=replay)


def replay(args: argparse.Namespace) -> int:
    path = Path(args.trace)
    if not path.exists():
        raise UsageError(f"no trace at {path}")
    header = read_header(path)
    recorded = list(iter_turns(path))
    config = header["config"]
    world = make_world(config["world"], config.get("agents"), _world_params(config))
    policy = make_policy("replay", PolicyOptions(seed=config["seed"], trace=str(path)))
    engine = Engine(world, policy, seed=config["seed"], out=args.out, legends=legends_of(recorded),
                    config={k: config[k] for k in RUN_KEYS & config.keys() if k not in ("world", "agents", "seed")})
    for original, again in zip(recorded, engine.run(len(recorded))):
        if again.state != original.state:
            print(f"turn {original.turn}: the replayed state differs from the trace")
            return 1
    print(f"replayed {len(recorded)} turns from {path}: every state identical")
    return 0


def legends_of(turns: list) -> dict[int, list]:
    """Every legend a recorded run started, with its turn and (for player rumours) its text."""
    out: dict[int, list] = {}
    for turn in turns:
        for event in turn.events:
            if event.get("kind") == "legend":
                out.setdefault(turn.turn, []).append((event["name"], event.get("text")))
    return out
