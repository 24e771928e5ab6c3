"""Decision quality of a model council in the wood, over whole years, beside the scripted council on the same
seeds: the winter fuel crisis, the woodcutter's fortune, the wealth gap, trade, and how much the model decides
for itself (how often its replies are the worked example exactly, and where they depart).

    python -m bench quality [--model ID] [--agents 5] [--turns 60] [--seeds 0-9] [--setups 0,3]
                            [--bank-run-seeds 0,1] [--png PATH] [--json PATH]

A year is four seasons of five turns; the first winter is turns 15-19, so the default 60 turns are three
winters. On this CPU it runs the embedded SmolLM2-135M; on a CUDA machine with vLLM, pass nothing
(Qwen2.5-3B) or --model. Mistakes are counted from what a creature SAID (its reply, repaired), before the parse
path turned infeasible orders into no-ops, so a schema that forbids a mistake shows up as fewer mistakes.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass

from bench import year
from bench.machine import machine_info, write_result
from worlds.wood.audit import DEAL_MISTAKES, DEALS, MISTAKES
from worlds.wood.text import AIDS

ALL_AIDS = ",".join(AIDS)


@dataclass(frozen=True)
class Setup:
    label: str
    aids: str = ALL_AIDS
    schema: str = "creature"
    constrained: bool = True
    levers: str = ""  # the wood's market aids (worlds.wood.actions.LEVERS)

    def params(self) -> dict:
        return {"aids": self.aids, "schema": self.schema, "levers": self.levers}


SETUPS = [
    Setup("all aids, per-creature schema"),
    Setup("without the never-buy line", aids="shortfall,example"),
    Setup("without the shortfall roster", aids="never_buy,example"),
    Setup("without the worked example", aids="never_buy,shortfall"),
    Setup("no aids", aids=""),
    Setup("all aids, general schema", schema="general"),
    Setup("no aids, general schema", aids="", schema="general"),
    Setup("all aids, unconstrained decoding", constrained=False),
    # the market levers, one at a time and together (python -m bench quality --setups 0,8,9,10,11,12)
    Setup("+ price bands", levers="bands"),
    Setup("+ budget over orders", levers="budget"),
    Setup("+ best bid/ask shown", levers="book"),
    Setup("+ crossing example", levers="crossing"),
    Setup("all levers", levers="bands,budget,book,crossing"),
]
SCRIPTED = "scripted council (the world's heuristic)"


def seeds_from(text: str) -> list[int]:
    """"0-9" or "0,1,5"."""
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",") if s]


def said_per100(runs: list[year.Run]) -> dict:
    """Self-defeating moves per 100 decisions, and the share of dealing replies that defeat themselves."""
    n = max(sum(sum(r.statuses.values()) for r in runs), 1)
    total = {k: sum(r.said[k] for r in runs) for k in runs[0].said}
    out = {f"{m}_per100": round(100 * total[m] / n, 1) for m in MISTAKES + DEALS + DEAL_MISTAKES}
    out["dealing_pct"] = round(100 * total["dealing"] / n, 1)
    out["self_defeating_deal_pct"] = round(100 * total["self_defeating_deals"] / max(total["dealing"], 1), 1)
    return out


def progress(run: year.Run) -> str:
    """One run in a line: what a long bench prints as each seed finishes."""
    first = run.year_turns - 1
    rank = year.woodcutter_rank(run, first) if len(run.trades) > first else None
    return (f"trades/turn {statistics.mean(run.trades):.2f}, winter cold {100 * year.winter_cold(run):.0f} %, "
            f"firewood winter/autumn {', '.join(f'{x:.2f}' for x in year.fire_ratios(run)) or '—'}, woodcutter's "
            f"rank after winter 1: {rank or '—'}, no-ops {run.statuses['noop']}, example copied "
            f"{run.agency.get('exact', 0)}/{run.agency.get('decisions', 0)}")


def council_row(label: str, runs: list[year.Run]) -> dict:
    return {"council": label, **year.overview(runs), **said_per100(runs), "agency": year.pooled_agency(runs),
            "seasons": year.season_rows(runs), "noops": [n for r in runs for n in r.noops]}


def print_tables(rows: list[dict]) -> None:
    print("\n| council | trades/turn (median) | last/first year | winter cold | firewood winter/autumn by year | "
          "woodcutter top-2 after winter 1 | mood | wealth Gini (mean) | price level | no-op % | example copied |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratios = ", ".join(f"{x:.2f}" for x in r["fire_ratio_by_year"]) or "—"
        top2 = "—" if r["woodcutter_top2_after_first_winter"] is None else f"{r['woodcutter_top2_after_first_winter']}/{r['seeds']}"
        copied = r["agency"]["exact_share"]
        print(f"| {r['council']} | {r['mean_trades']:.2f} ({r['median_trades']:g}) | "
              f"{r['last_over_first_year_trades'] or 0:.2f} | {100 * r['winter_cold']:.1f} % | {ratios} | {top2} | "
              f"{r['mood']:.2f} | {r['gini_mean']:.3f} | {r['level']:.2f} | {r['noop_pct']} | "
              f"{'—' if copied is None else f'{100 * copied:.0f} %'} |")
    for r in rows:
        print(f"\n#### {r['council']}: by season (mean of {r['seeds']} seeds)\n")
        print("| year | season | trades/turn | cold | firewood price | buy-firewood orders/turn | mood | price level | "
              "Gini at its end | seeds whose woodcutter is richest at its end |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in r["seasons"]:
            print(f"| {s['year']} | {s['season']} | {s['trades']:.2f} | {100 * s['cold']:.0f} % | {s['fire_price']:.2f} | "
                  f"{s['fire_bids']:.2f} | {s['mood']:.2f} | {s['level']:.2f} | {s['gini_end']:.3f} | "
                  f"{s['woodcutter_richest']}/{r['seeds']} |")
    for r in rows:
        agency = r["agency"]
        if not agency["decisions"]:
            continue
        print(f"\n#### {r['council']}: the worked example beside each reply ({agency['decisions']} decisions, "
              f"{agency['noop']} unreadable, {agency['exact']} exactly the example)\n")
        print("| part | followed | changed | dropped | added |")
        print("|---|---:|---:|---:|---:|")
        for part, kinds in agency["parts"].items():
            print(f"| {part} | {kinds['followed']} | {kinds['changed']} | {kinds['dropped']} | {kinds['added']} |")
    print("\n| council | buys own good /100 | sells unheld /100 | sells winter fuel /100 | bids over purse /100 | "
          "replies dealing % | self-defeating deals % |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['council']} | {r['buys_own_good_per100']} | {r['sells_unheld_per100']} | "
              f"{r['sells_winter_fuel_per100']} | {r['bids_over_purse_per100']} | {r['dealing_pct']} | "
              f"{r['self_defeating_deal_pct']} |")
    for r in rows:
        for n in r["noops"][:20]:
            print(f"no-op under {r['council']!r}, turn {n['turn']}, {n['agent']}: {n['reason']} (reply {n['reply']!r})")


def targets(model: dict, bank_run: float | None, agents: int) -> list[tuple[str, bool, str]]:
    """A council's year, as the wood is designed to play it (the model council's, when one played)."""
    ratios = model["fire_ratio_by_year"]
    top2 = model["woodcutter_top2_after_first_winter"]
    out = [
        (f"firewood winter ≥ 1.5 × autumn in each year ({agents} creatures)", bool(ratios) and min(ratios) >= 1.5,
         ", ".join(f"{x:.2f}" for x in ratios) or "no whole year played"),
        (f"≤ 15 % of creature-turns cold in winter ({agents} creatures)", model["winter_cold"] <= 0.15,
         f"{100 * model['winter_cold']:.1f} %"),
        ("every reply parsed", model["noop_pct"] == 0, f"{model['noop_pct']} % no-ops"),
    ]
    if agents == 5:
        out += [
            ("woodcutter among the two richest after the first winter, ≥ 7 of 10 seeds",
             top2 is not None and top2 >= 0.7 * model["seeds"], f"{top2}/{model['seeds']} seeds"),
            ("median ≥ 3 market trades a turn", model["median_trades"] >= 3, f"median {model['median_trades']:g}"),
            ("last year's trades ≥ 0.7 × the first", (model["last_over_first_year_trades"] or 0) >= 0.7,
             f"{model['last_over_first_year_trades'] or 0:.2f}"),
        ]
    if bank_run is not None:
        out.append(("bank run moves honey ≥ 30 %", abs(bank_run) >= 30, f"{bank_run:+.1f} %"))
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench quality", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model id or folder (default: Qwen2.5-3B on GPU, embedded on CPU)")
    p.add_argument("--agents", type=int, default=5)
    p.add_argument("--turns", type=int, default=60, help="turns per run (20 = a year; default three winters)")
    p.add_argument("--seeds", default="0-9", help='"0-9" or "0,1,5"')
    p.add_argument("--setups", default="0", help="comma-separated setup numbers for the model council "
                   "(0: all aids; 3: without the worked example; see SETUPS; '' for the scripted council alone)")
    p.add_argument("--no-scripted", action="store_true", help="leave out the scripted council on the same seeds")
    p.add_argument("--bank-run-seeds", default="0,1", help="seeds for the bank-run check ('' for none)")
    p.add_argument("--hoarding", default="", help="comma-separated goods: for each, the scripted council's maker of "
                   "it made to hoard (never sell) beside it trading, same seeds")
    p.add_argument("--png", default=None, help="plot the first seed's year under the first setup here")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    from agents.backends.scripted import ScriptedBackend
    from agents.backends.vllm import VLLMBackend
    from agents.council import Council

    seeds = seeds_from(args.seeds)
    info = machine_info()
    print(f"machine: {info['processor']} ({', '.join(info.get('cpu_features', [])) or 'no flags read'}), "
          f"{info['cores']} cores; {info['cpu_plan']}", flush=True)
    chosen = [SETUPS[int(i)] for i in args.setups.split(",") if i]
    # only a model council needs the model: `--setups ''` plays the scripted council alone, in seconds
    backend = VLLMBackend(args.model, seed=seeds[0]) if chosen else None
    rows, first_runs = [], None
    for setup in chosen:  # a line per council as it finishes: a long run cut short still tells what it measured
        backend.constrained = setup.constrained
        runs = []
        for seed in seeds:
            runs.append(year.play(Council.of(backend), args.agents, args.turns, seed, **setup.params()))
            print(f"  {setup.label}, seed {seed}: {progress(runs[-1])}", file=sys.stderr, flush=True)
        first_runs = first_runs or runs
        rows.append(council_row(f"model: {setup.label}", runs))
    params = (chosen or SETUPS)[0].params()
    if not args.no_scripted:
        runs = [year.play(Council.of(ScriptedBackend(seed)), args.agents, args.turns, seed, **params) for seed in seeds]
        for seed, run in zip(seeds, runs):
            print(f"  scripted, seed {seed}: {progress(run)}", file=sys.stderr, flush=True)
        rows.append(council_row(SCRIPTED, runs))
    bank_seeds = seeds_from(args.bank_run_seeds)
    bank_run = None
    if bank_seeds:  # the first listed council: the model's, else the scripted one
        if backend is not None:
            backend.constrained = chosen[0].constrained
        policy_for = (lambda seed: Council.of(backend)) if backend else (lambda seed: Council.of(ScriptedBackend(seed)))
        bank_run = year.bank_run_move(policy_for, args.agents, bank_seeds, **params)
    model = backend.model if backend else "none (scripted council only)"
    print(f"\nmodel {model}, {args.agents} creatures, {args.turns} turns, seeds {args.seeds}")
    print_tables(rows)
    checks = targets(rows[0], bank_run, args.agents)
    print(f"\n| target ({rows[0]['council']}) | met | measured |\n|---|---|---|")
    for name, ok, measured in checks:
        print(f"| {name} | {'yes' if ok else '**no**'} | {measured} |")
    hoards = [year.hoarding_cost(lambda seed: Council.of(ScriptedBackend(seed)), args.agents, args.turns, seeds,
                                 good, **params) for good in args.hoarding.split(",") if good]
    if hoards:
        print("\n| the first maker of | its wealth at the end, trading | hoarding | seeds where hoarding left it poorer |")
        print("|---|---:|---:|---:|")
        for h in hoards:
            print(f"| {h['good']} | {h['trading']:.1f} | {h['hoarding']:.1f} | {h['poorer_in']} of {h['seeds']} |")
    if args.png and first_runs:
        year.plot(first_runs[0], f"model council ({model}), {args.agents} creatures, seed {seeds[0]}", args.png)
    write_result(args.json, "quality", model=model, agents=args.agents, turns=args.turns, seeds=seeds,
                 rows=rows, bank_run_pct=bank_run, bank_run_seeds=bank_seeds, hoarding=hoards,
                 targets=[{"target": n, "met": bool(ok), "measured": m} for n, ok, m in checks])


if __name__ == "__main__":
    main()
