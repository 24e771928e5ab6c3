"""`python -m sim run|replay|fork|sweep|describe|view ...`: the headless command line.

Errors a user can cause (unknown world, bad flag, unwritable --out, missing model) print one line and exit
with code 2. Commands from other packages (the viewer's `view`) come in through the "smallworlds.commands"
entry point group, so the engine imports none of them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from sim import describe, fork, intervention, registry, sweep
from sim.config import RunConfig, add_policy_flags, check_writable, world_params
from sim.engine import Engine
from sim.errors import MissingExtra, UsageError, UserError
from sim.fork import MAX_SEED, header_config, read_source
from sim.trace import CHECKPOINT, TRACE, DamagedRun, check_run_files, dump_line, read_checkpoint, read_header

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
    add_fork(sub.add_parser("fork", help="continue a trace from one of its turns, with another policy or legends"))
    sweep.add(sub.add_parser("sweep", help="run episodes over a grid of parameters x seeds, in parallel"))
    describe.add(sub.add_parser("describe", help="a world's parameters, legends, metrics and action schema"))
    for ep_name in registry.names(COMMANDS):
        # a command module declares its flags and a one-line HELP, and imports what it needs only when run
        command = registry.load(COMMANDS, ep_name)
        command.add(sub.add_parser(ep_name, help=getattr(command, "HELP", None)))
    try:
        args = parser.parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # which flags were given (see resume_engine)
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


DEFAULT_TURNS = 30


# --- run ---------------------------------------------------------------------------------------------
def add_run(p: argparse.ArgumentParser) -> None:
    add_world_flags(p)
    add_policy_flags(p)
    p.add_argument("--turns", type=int, default=None,
                   help=f"turns in all (default: {DEFAULT_TURNS}; with --resume, the run's length as last set)")
    p.add_argument("--seed", type=seed_value, default=0, help=f"0 to {MAX_SEED} (default: 0)")
    p.add_argument("--out", default=None, help="output directory (default: runs/WORLD-SEED)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--legend", action="append", default=[], metavar="NAME@TURN", help="start a legend at a turn")
    p.add_argument("--gif", default=None, help="also write an animated GIF of the run")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out or f"runs/{args.world}-{args.seed}")
    if args.turns is not None and args.turns < 0:
        raise UsageError("--turns must be >= 0")
    gif = gif_exporter(args.gif) if args.gif else None  # a bad --gif path fails now, not after the whole run
    if args.resume and (os.path.lexists(out / TRACE) or os.path.lexists(out / CHECKPOINT)):
        engine, turns = resume_engine(out, args)
    else:
        check_run_files(out, fresh=True)
        turns = DEFAULT_TURNS if args.turns is None else args.turns
        check_writable(out)
        config = run_config(args, turns=turns)
        check_fits(config)
        world = config.make_world()
        legends = parse_legends(args.legend, world)
        check_legends_happen(legends, turns)
        policy = config.make_policy(announce=_say(args.quiet))
        engine = Engine(world, policy, seed=config.seed, out=out, legends=legends, config=config.to_json())
    metrics = [turn.metrics for turn in progress(engine.run(turns), turns - engine.turn, args.quiet)]
    if not args.quiet:
        print_summary(metrics, out)
    if gif:
        gif(out / TRACE, args.gif)
    return 0


def past_header(trace: Path) -> bool:
    """Whether a trace holds anything after its header line. One that does not (a run killed before its
    first checkpoint was written) lost nothing, so `--resume` starts that run again."""
    try:
        with open(trace, "rb") as f:
            f.readline()
            return bool(f.read(1))
    except FileNotFoundError:
        return False


def seed_value(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number from 0 to {MAX_SEED}, not {text!r}") from None
    if not 0 <= seed <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a whole number from 0 to {MAX_SEED}, not {text}")
    return seed


def gif_exporter(path: str):
    """The GIF exporter, once `path` is known to be writable and the viewers extra to be installed."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--gif {path} is a folder: give a file name, e.g. {target / 'run.gif'}")
    if not target.parent.is_dir():
        raise UsageError(f"--gif {path}: the folder {target.parent} does not exist")
    if not os.access(target.parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"--gif {path}: permission denied; pick a path you can write")
    try:
        return registry.load(EXPORTERS, "gif")
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("--gif", exc) from exc


def check_legends_happen(legends: dict[int, list], turns: int) -> None:
    for turn, names in sorted(legends.items()):
        if turn >= turns:
            raise UsageError(f"--legend {names[0]}@{turn} would never start: --turns {turns} plays turns 0 to "
                             f"{turns - 1}; pick an earlier turn or more --turns")


PROBE_AGENTS = 200  # a run this size is measured to estimate what a bigger one needs
CHECK_FITS_ABOVE = 20_000  # smaller runs fit on any machine that runs Python
# peak memory of one turn per byte of its trace line and state: 13.7 (wood), 10.0 (commons) at 50 000 agents
MEMORY_PER_JSON_BYTE = 14


def check_fits(config: RunConfig) -> None:
    """Refuse an agent count whose turns cannot fit in memory, before allocating anything: one scripted turn
    of a PROBE_AGENTS world is measured, scaled up and compared with the memory available."""
    if config.agents is None or config.agents <= CHECK_FITS_ABOVE:
        return
    probe = config.replace(agents=PROBE_AGENTS, policy="scripted", council=None)
    world = probe.make_world()
    engine = Engine(world, probe.make_policy(), seed=probe.seed)
    per_agent = (len(dump_line(engine.step())) + len(dump_line(world.to_json(engine.state)))) / PROBE_AGENTS
    need = per_agent * MEMORY_PER_JSON_BYTE * config.agents
    free = available_memory()
    if free is not None and need > free:
        fits = int(free / (per_agent * MEMORY_PER_JSON_BYTE))
        raise UsageError(f"--agents {config.agents} needs about {need / 2**30:.0f} GiB per turn ({per_agent:.0f} "
                         f"bytes of trace per agent, measured at {PROBE_AGENTS}) and {free / 2**30:.1f} GiB are "
                         f"free: about {fits} agents fit")


def available_memory() -> int | None:
    """Bytes of memory the system can give this process now (Linux; None elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def run_config(args: argparse.Namespace, **fixed) -> RunConfig:
    """The RunConfig of the world and policy flags (add_world_flags, add_policy_flags, --seed)."""
    return RunConfig(world=args.world, agents=args.agents, params=world_params(args.set), seed=args.seed,
                     policy=args.policy, backend=args.backend, model=args.model, url=args.url,
                     council=args.council, temperature=args.temperature, **fixed)


def resume_engine(out: Path, args: argparse.Namespace) -> tuple[Engine, int]:
    """The engine of the run recorded in `out`, positioned where it stopped, and the turns it plays in all
    (--turns, else its length as last set: the first --turns, or a later --resume's, which summary.json and
    the checkpoint then record). A run killed before its first checkpoint (its trace holds only the header)
    starts again exactly as its header records it."""
    check_run_files(out, fresh=False)
    if not os.path.lexists(out / CHECKPOINT):
        if past_header(out / TRACE):
            raise UsageError(f"cannot resume {out}: it has a {TRACE} but no {CHECKPOINT} (deleted?), so nothing "
                             "says how much of the trace is good; start the run again with another --out")
        try:
            header = read_header(out / TRACE)
        except DamagedRun:
            raise DamagedRun(f"cannot resume {out}: its {TRACE} holds no whole header (the run was stopped as it "
                             f"began), so nothing says how it was set up; remove {out / TRACE} and start it "
                             "again") from None
        checkpoint = None
    else:
        checkpoint = read_checkpoint(out)  # refuses a damaged run, saying why, before anything is built or written
        header = read_header(out / TRACE)
    config = header_config(out / TRACE, header)
    # the length as last set: an earlier --resume with another --turns recorded it in the checkpoint
    recorded = checkpoint["config"].get("turns", config.turns) if checkpoint else config.turns
    turns = args.turns if args.turns is not None else recorded
    if turns is None:
        raise UsageError(f"{out} was recorded without a length: say how many turns to play in all with --turns")
    check_writable(out)
    refuse_changed_flags(args, config, header)
    policy = fork.policy_of(config, checkpoint["turn"] if checkpoint else 0, announce=_say(args.quiet))
    if checkpoint:
        engine = Engine.resume(out, config.make_world(), policy)
        engine.config = {**engine.config, "turns": turns}  # summary.json and later checkpoints say the new length
        return engine, turns
    try:  # the new start writes the header again (over the old one), as it was but for the versions (and --turns)
        return Engine(config.make_world(), policy, seed=config.seed, out=out,
                      config={**config.to_json(), "turns": turns},
                      interventions=intervention.scheduled_in(header)), turns
    except (DamagedRun, ValueError) as exc:
        raise DamagedRun(f"cannot resume {out}: the legends or patron acts its header schedules cannot be read "
                         f"({fork.first_error(exc)}); start the run again with another --out") from None


RESUMED_FLAGS = ("world", "agents", "seed", "policy", "backend", "model", "url", "council", "temperature")


def refuse_changed_flags(args: argparse.Namespace, config: RunConfig, header: dict) -> None:
    """A resumed run goes on exactly as it was recorded: a flag asking for something else is refused, not
    silently ignored. Only --turns (and where output goes) may change."""
    defaults = _run_defaults()
    given = {tok.split("=")[0] for tok in getattr(args, "argv", []) if tok.startswith("--")}
    changed = []
    recorded = {flag: getattr(config, flag) for flag in RESUMED_FLAGS}
    if recorded["agents"] is None:  # the world's default count: as many as the header lists
        recorded["agents"] = len(header.get("agents") or {}) or None
    for flag in RESUMED_FLAGS:
        value = getattr(args, flag)
        if (f"--{flag}" in given or value != defaults[flag]) and value != recorded[flag]:
            changed.append(f"--{flag} {value} (the run has {recorded[flag]})")
    asked = run_config(args).params if args.set else {}
    for key, value in asked.items():
        if value != config.params.get(key):
            changed.append(f"--set {key}={value} (the run has {config.params.get(key)})")
    if args.legend:
        scheduled = intervention.scheduled_in(header).items()
        recorded = {t: [e["name"] for e in n if e.get("by") == "legend"] for t, n in scheduled}
        if parse_legends(args.legend, registry.get_world(config.world)) != {t: n for t, n in recorded.items() if n}:
            changed.append(f"--legend {' '.join(args.legend)} (legends are scheduled when a run starts)")
    if changed:
        raise UsageError(f"--resume continues the run as it was recorded, but {'; '.join(changed)}: drop those "
                         "flags, or start a new run with another --out")


def _run_defaults() -> dict:
    parser = Parser()
    add_run(parser)
    return vars(parser.parse_args([]))


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


def print_summary(metrics: list[dict], out: Path) -> None:
    """A few lines about a finished run, from each turn's metrics (the turns themselves are not kept)."""
    if not metrics:
        print(f"no turns played; output in {out}")
        return
    last = metrics[-1]
    print(f"{len(metrics)} turns, output in {out}")
    if "prices" in last:
        print("prices: " + ", ".join(f"{g} {p:.1f}" for g, p in last["prices"].items()))
    if "trades" in last:
        print(f"trades per turn: median {statistics.median(m['trades'] for m in metrics):g}")
    if "gini" in last:
        print(f"gini: {metrics[0]['gini']:.3f} -> {last['gini']:.3f}")
    decided = sum(m.get(k, 0) for m in metrics for k in ("valid", "repaired", "noop"))
    noops = sum(m.get("noop", 0) for m in metrics)
    print(f"decisions: {decided}, no-ops: {noops}")


# --- replay ------------------------------------------------------------------------------------------
def add_replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", help="a trace.jsonl to replay")
    p.add_argument("--out", default=None, help="also write the replayed run here")
    p.set_defaults(func=replay)


def replay(args: argparse.Namespace) -> int:
    source = read_source(args.trace)
    if args.out is not None:
        check_replay_out(Path(args.out), source.path)
    config = source.config
    policy = config.replace(policy="replay").make_policy(trace=str(source.path))
    engine = Engine(config.make_world(), policy, seed=config.seed, out=args.out,
                    interventions=intervention.recorded(source.turns), config=config.to_json())
    for original, again in zip(source.turns, engine.run(len(source.turns))):
        if again.state != original.state:
            print(f"turn {original.turn}: the replayed state differs from the trace")
            return 1
    print(f"replayed {len(source.turns)} turns from {source.path}: every state identical")
    return 0


def check_replay_out(out: Path, source: Path, command: str = "replay") -> None:
    """Replaying or forking writes a whole new run: never into the folder it reads from, nor over another run."""
    if out.resolve() == source.parent.resolve():
        raise UsageError(f"{command} --out {out} is the folder of the trace being read, and writing there "
                         "would overwrite it: pick another folder")
    if os.path.lexists(out / TRACE):
        raise UsageError(f"{command} --out {out} already holds a run: pick another folder")
    check_run_files(out, fresh=True)
    check_writable(out)


# --- fork --------------------------------------------------------------------------------------------
def add_fork(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", help="the trace.jsonl (or run folder) to fork")
    p.add_argument("--at", type=int, required=True, help="the first turn that may differ (0 to the trace's length)")
    p.add_argument("--out", required=True, help="output directory of the fork")
    p.add_argument("--legend", action="append", default=[], metavar="NAME@TURN", help="start a legend at a turn")
    p.add_argument("--turns", type=int, default=None, help="turns in all (default: as many as the trace has)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_policy_flags(p, inherited=True)
    p.set_defaults(func=fork_run)


def fork_run(args: argparse.Namespace) -> int:
    source = read_source(args.trace)
    turns = len(source.turns) if args.turns is None else args.turns
    world = source.config.make_world()
    legends = parse_legends(args.legend, world)
    fork.schedule(source, args.at, legends, turns, world)  # every mistake refused before --out is touched
    out = Path(args.out)
    check_replay_out(out, source.path, "fork")
    changes = {flag: getattr(args, flag) for flag in ("policy", "backend", "model", "url", "council", "temperature")
               if getattr(args, flag) is not None}
    engine = fork.fork(source, args.at, out=out, legends=legends, turns=turns, changes=changes,
                       announce=_say(args.quiet))
    metrics = [turn.metrics for turn in progress(engine.run(turns), turns - engine.turn, args.quiet)]
    if not args.quiet:
        print(f"forked {source.path} at turn {args.at}")
        print_summary(metrics, out)
    return 0
