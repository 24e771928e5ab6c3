"""Decision quality of a model council in the wood: how often replies are valid, repaired or no-ops, how
often creatures say self-defeating things, and what each of the seed project's prompt interventions and the
per-creature schemas buy. Plus trades, Gini, and how prices answer each legend.

    python -m bench quality [--model ID] [--agents 5] [--turns 6] [--seeds 0,1,2] [--json PATH]

On this CPU it runs the embedded SmolLM2-135M; on a CUDA machine with vLLM, pass nothing (Qwen2.5-3B) or
--model. Mistakes are counted from what a creature SAID (its reply, repaired), before the parse path turned
infeasible orders into no-ops, so a schema that forbids a mistake shows up as fewer mistakes. The second
act's deals are counted the same way: how often replies make offers, accept them and lend (per 100
decisions), and what share of those moves is self-defeating (worlds.wood.audit.deals).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass

import json_repair
import numpy as np

from bench.machine import write_result
from worlds.wood.audit import DEAL_MISTAKES, DEALS, MISTAKES, deals, mistakes
from worlds.wood.text import AIDS

ALL_AIDS = ",".join(AIDS)


@dataclass(frozen=True)
class Setup:
    label: str
    aids: str = ALL_AIDS
    schema: str = "creature"
    constrained: bool = True
    levers: str = ""  # the wood's market aids (worlds.wood.actions.LEVERS)


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
LEGEND_GOOD = {"bank_run": "honey", "tulip_mania": "mushrooms", "south_sea": "acorns", "drought": "berries",
               "early_frost": "firewood"}


def play(backend, setup: Setup, agents: int, turns: int, seed: int, legends=None) -> dict:
    """One seeded run; returns per-decision counts and the metric paths."""
    from agents.council import Council
    from sim import Engine
    from worlds.wood import WoodWorld

    world = WoodWorld(agents=agents, aids=setup.aids, schema=setup.schema, levers=setup.levers)
    backend.constrained = setup.constrained
    engine = Engine(world, Council.of(backend), seed=seed, legends=legends)
    counts = {"decisions": 0, "valid": 0, "repaired": 0, "noop": 0, "dealing": 0, "self_defeating_deals": 0,
              **{m: 0 for m in MISTAKES + DEALS + DEAL_MISTAKES}}
    path = {"trades": [], "gini": [], "prices": []}
    noops = []
    for _ in range(turns):
        before = engine.state
        turn = engine.step()
        for d in turn.decisions:
            counts["decisions"] += 1
            counts[d.status] += 1
            if d.status == "noop":
                noops.append({"turn": turn.turn, "agent": d.agent, "reason": d.reason, "reply": d.reply})
            i = before.position[d.agent]
            said = said_reply(d.reply)
            orders = said.get("orders")
            for m in mistakes(before, i, orders if isinstance(orders, list) else []):
                counts[m] += 1
            if world.second_act:
                used, wrong = deals(before, i, said)
                for m in used + wrong:
                    counts[m] += 1
                counts["dealing"] += bool(used)
                counts["self_defeating_deals"] += bool(wrong)
        path["trades"].append(turn.metrics["trades"])
        path["gini"].append(turn.metrics["gini"])
        path["prices"].append(turn.metrics["prices"])
    return {"counts": counts, "noops": noops, **path}


def said_reply(reply: str | None) -> dict:
    """The reply as the model wrote it, repaired into a dict ({} when it is not one)."""
    try:
        data = json_repair.loads(reply or "")
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}


def summarize(setup: Setup, runs: list[dict]) -> dict:
    total = {k: sum(r["counts"][k] for r in runs) for k in runs[0]["counts"]}
    n = max(total["decisions"], 1)
    per_run_noop = [r["counts"]["noop"] / max(r["counts"]["decisions"], 1) for r in runs]
    return {
        "setup": setup.label,
        "decisions": total["decisions"],
        **{f"{k}_pct": round(100 * total[k] / n, 1) for k in ("valid", "repaired", "noop")},
        "noop_pct_spread": round(100 * statistics.pstdev(per_run_noop), 1),
        **{f"{m}_per100": round(100 * total[m] / n, 1) for m in MISTAKES + DEALS + DEAL_MISTAKES},
        # a reply may make several deals; a decision counts once when any of its deals defeats itself
        "dealing_pct": round(100 * total["dealing"] / n, 1),
        "self_defeating_deal_pct": round(100 * total["self_defeating_deals"] / max(total["dealing"], 1), 1),
        "trades_per_turn": round(float(np.mean([np.mean(r["trades"]) for r in runs])), 2),
        "median_trades_per_turn": float(np.median([t for r in runs for t in r["trades"]])),
        "trades_by_seed": [r["trades"] for r in runs],  # each seed's trades, turn by turn
        "gini_first": round(float(np.mean([r["gini"][0] for r in runs])), 3),
        "gini_last": round(float(np.mean([r["gini"][-1] for r in runs])), 3),
        "noops": [n for r in runs for n in r["noops"]],
    }


def legend_response(backend, agents: int, turns: int, seeds: list[int], at: int = 2, setup: Setup = SETUPS[0],
                    names: list[str] | None = None) -> list[dict]:
    """Price of each legend's good the turn before it, and its extreme in the turns after (mean of seeds)."""
    rows = []
    for legend, good in LEGEND_GOOD.items():
        if names and legend not in names:
            continue
        before, extreme = [], []
        for seed in seeds:
            run = play(backend, setup, agents, turns, seed, legends={at: [legend]})
            prices = [p[good] for p in run["prices"]]
            before.append(prices[at - 1])
            after = prices[at:]
            extreme.append(min(after) if legend in ("bank_run",) else max(after))
        b, e = float(np.mean(before)), float(np.mean(extreme))
        rows.append({"legend": legend, "good": good, "price_before": round(b, 2), "price_after": round(e, 2),
                     "change_pct": round(100 * (e - b) / b, 1)})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench quality", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model id or folder (default: Qwen2.5-3B on GPU, embedded on CPU)")
    p.add_argument("--agents", type=int, default=5)
    p.add_argument("--turns", type=int, default=6)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--setups", default=None, help="comma-separated setup numbers (default: all)")
    p.add_argument("--no-legends", action="store_true")
    p.add_argument("--legend-setup", type=int, default=0, help="the setup number the legends run under")
    p.add_argument("--legends", default="", help=f"comma-separated legends to play (default: all of "
                   f"{', '.join(LEGEND_GOOD)})")
    p.add_argument("--legend-seeds", default=None, help="seeds the legends run with (default: the first two)")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    from agents.backends.vllm import VLLMBackend

    seeds = [int(s) for s in args.seeds.split(",")]
    backend = VLLMBackend(args.model, seed=seeds[0])
    chosen = [SETUPS[int(i)] for i in args.setups.split(",")] if args.setups else SETUPS
    rows = []
    for setup in chosen:  # a line per setup as it finishes: a long run cut short still tells what it measured
        rows.append(summarize(setup, [play(backend, setup, args.agents, args.turns, seed) for seed in seeds]))
        r = rows[-1]
        print(f"done: {r['setup']}: valid {r['valid_pct']} %, no-op {r['noop_pct']} %, trades/turn "
              f"{r['trades_per_turn']} (median {r['median_trades_per_turn']:g}), dealing {r['dealing_pct']} %",
              file=sys.stderr, flush=True)
    legend_seeds = [int(s) for s in args.legend_seeds.split(",")] if args.legend_seeds else seeds[:2]
    legends = [] if args.no_legends else legend_response(backend, args.agents, args.turns, legend_seeds,
                                                         setup=SETUPS[args.legend_setup],
                                                         names=[n for n in args.legends.split(",") if n])
    print(f"model {backend.model}, {args.agents} creatures, {args.turns} turns, seeds {args.seeds}\n")
    print("| setup | valid % | repaired % | no-op % | buys own good /100 | sells unheld /100 | sells winter fuel /100 | bids over purse /100 | trades/turn (median) | Gini first → last |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['setup']} | {r['valid_pct']} | {r['repaired_pct']} | {r['noop_pct']} ± {r['noop_pct_spread']} | "
              f"{r['buys_own_good_per100']} | {r['sells_unheld_per100']} | {r['sells_winter_fuel_per100']} | "
              f"{r['bids_over_purse_per100']} | {r['trades_per_turn']} ({r['median_trades_per_turn']:g}) | "
              f"{r['gini_first']} → {r['gini_last']} |")
    print("\n| setup | replies dealing % | offers /100 | accepts /100 | loans /100 | self-defeating deals % |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['setup']} | {r['dealing_pct']} | {r['offers_per100']} | {r['accepts_per100']} | "
              f"{r['loans_per100']} | {r['self_defeating_deal_pct']} |")
    for r in rows:
        for n in r["noops"]:
            print(f"no-op in {r['setup']!r}, turn {n['turn']}, {n['agent']}: {n['reason']} (reply {(n['reply'] or '')[:160]!r})")
    if legends:
        print("\n| legend | good | price before | extreme after | change |")
        print("|---|---|---:|---:|---:|")
        for r in legends:
            print(f"| {r['legend']} | {r['good']} | {r['price_before']} | {r['price_after']} | {r['change_pct']} % |")
    write_result(args.json, "quality", model=backend.model, agents=args.agents, turns=args.turns, seeds=seeds,
                 rows=rows, legends=legends)


if __name__ == "__main__":
    main()
