"""Is the wood's economy alive? The scripted council over many seeds and years: the winter fuel crisis, trade
and mood year by year at 5 and 50 creatures, stale quotes, the price level, what each legend does to its good
and how fast the market recovers, and where the commons collapses or lasts.

    python -m bench economy [--seeds 20] [--turns 200] [--agents 5,50] [--png-dir docs/img] [--json PATH]

A year is four seasons (20 turns at the default season_turns=5). Every number is a mean ± sd over seeds.
"""
from __future__ import annotations

import argparse
import os
import statistics

import numpy as np

from agents.policies import scripted
from bench.machine import machine_info, write_result
from sim import Engine
from sim.config import typed_params, world_params
from sim.metrics import gini
from sim.policy import PolicyOptions
from worlds.wood import WoodWorld
from worlds.wood.state import FIREWOOD, GOODS
from worlds.wood.trader import CUSTOMARY

LEGEND_GOOD = {"bank_run": "honey", "tulip_mania": "mushrooms", "south_sea": "acorns", "drought": "berries",
               "early_frost": "firewood"}
FALLS = {"bank_run"}  # legends whose good should fall; the others should rise
LEGEND_AT = 45  # year 3, spring: the market has settled and winter is far


def play(agents: int, turns: int, seed: int, legends=None, **params) -> dict:
    """One scripted run, as per-turn columns."""
    world = WoodWorld(agents=agents, **params)
    engine = Engine(world, scripted(PolicyOptions(seed=seed)), seed=seed, legends=legends)
    cols: dict[str, list] = {k: [] for k in ("trades", "mood", "cold", "season", "prices", "cleared", "held",
                                             "gini", "pebble_gini", "pebbles")}
    for _ in range(turns):
        held = engine.state.stock.sum(0) > 0  # what someone could sell when the orders went in
        turn = engine.step()
        s = engine.state
        cols["trades"].append(turn.metrics["trades"])
        cols["mood"].append(float(s.mood.mean()))
        cols["cold"].append(float(s.cold.mean()))
        cols["season"].append(world.season_of(turn.turn))
        cols["prices"].append(s.prices.copy())
        cols["cleared"].append([any(e["kind"] == "trade" and e["good"] == g for e in turn.events) for g in GOODS])
        cols["held"].append(held)
        cols["gini"].append(turn.metrics["gini"])
        cols["pebble_gini"].append(gini(s.pebbles))
        cols["pebbles"].append(s.pebbles.copy())
    cols["trade"] = engine.state.trade.copy()
    cols["year_turns"] = 4 * world.season_turns
    return cols


def longest_stale(run: dict) -> int:
    """Most turns in a row that some good went without clearing while someone held it."""
    worst = 0
    for k in range(len(GOODS)):
        streak = 0
        for cleared, held in zip(run["cleared"], run["held"]):
            streak = 0 if cleared[k] or not held[k] else streak + 1
            worst = max(worst, streak)
    return worst


def price_level(prices: np.ndarray) -> float:
    """Geometric mean of every good's price over the price the wood started at."""
    return float(np.exp(np.mean(np.log(np.asarray(prices) / np.asarray(CUSTOMARY)))))


def per_year(run: dict) -> list[dict]:
    n = run["year_turns"]
    years = []
    for start in range(0, len(run["trades"]) - n + 1, n):
        span = range(start, start + n)
        season = [run["season"][t] for t in span]
        wood = [run["prices"][t][FIREWOOD] for t in span]
        autumn = [p for p, s in zip(wood, season) if s == "autumn"]
        winter = [p for p, s in zip(wood, season) if s == "winter"]
        years.append({
            "trades": statistics.mean(run["trades"][t] for t in span),
            "mood": statistics.mean(run["mood"][t] for t in span),
            "winter_mood": statistics.mean(m for t, m in zip(span, (run["mood"][t] for t in span)) if run["season"][t] == "winter"),
            "spring_mood": statistics.mean(run["mood"][t] for t in span if run["season"][t] == "spring"),
            "cold": statistics.mean(run["cold"][t] for t in span if run["season"][t] == "winter"),
            "fire_ratio": statistics.mean(winter) / statistics.mean(autumn),
            "level": statistics.mean(price_level(run["prices"][t]) for t in span),
            "gini": run["gini"][span[-1]],
            "pebble_gini": run["pebble_gini"][span[-1]],
        })
    return years


def woodcutter_rank(run: dict) -> int:
    """1 = the richest in pebbles after the first winter; the rank of the best-placed woodcutter."""
    pebbles = run["pebbles"][run["year_turns"] - 1]
    order = list(np.argsort(-pebbles, kind="stable"))
    return 1 + min(order.index(i) for i in np.flatnonzero(run["trade"] == FIREWOOD))


def ms(values) -> str:
    values = list(values)
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {sd:.2f}"


def scale_table(agents: int, turns: int, seeds: list[int], params: dict) -> dict:
    runs = [play(agents, turns, seed, **params) for seed in seeds]
    years = [per_year(r) for r in runs]
    n_years = len(years[0])
    rows = []
    print(f"\n### {agents} creatures, {turns} turns, {len(seeds)} seeds\n")
    print("| year | trades/turn | mood | winter mood → spring mood | cold in winter | firewood winter/autumn | price level | Gini (wealth) | Gini (pebbles) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for y in range(n_years):
        col = {k: [yr[y][k] for yr in years] for k in years[0][y]}
        rows.append({k: statistics.mean(v) for k, v in col.items()})
        print(f"| {y + 1} | {ms(col['trades'])} | {ms(col['mood'])} | {statistics.mean(col['winter_mood']):.2f} → "
              f"{statistics.mean(col['spring_mood']):.2f} | {100 * statistics.mean(col['cold']):.0f} % | "
              f"{ms(col['fire_ratio'])} | {ms(col['level'])} | {ms(col['gini'])} | {ms(col['pebble_gini'])} |")
    levels = [price_level(p) for r in runs for p in r["prices"]]
    result = {
        "agents": agents, "turns": turns, "seeds": seeds, "years": rows,
        "trades_last_over_first": [yr[-1]["trades"] / max(yr[0]["trades"], 1e-9) for yr in years],
        "min_year_mood": min(min(y["mood"] for y in yr) for yr in years),
        "longest_stale": [longest_stale(r) for r in runs],
        "price_level_range": [min(levels), max(levels)],
        "fire_ratio_years_1_3": [[yr[y]["fire_ratio"] for yr in years] for y in range(min(3, n_years))],
        "woodcutter_rank": [woodcutter_rank(r) for r in runs],
        "cold_in_winter": statistics.mean(y["cold"] for yr in years for y in yr),
        "spring_heals": statistics.mean(y["spring_mood"] - y["winter_mood"] for yr in years for y in yr[:-1]),
    }
    return result


def legend_table(agents: int, turns: int, seeds: list[int], params: dict) -> list[dict]:
    rows = []
    print(f"\n### Legends at turn {LEGEND_AT}, {agents} creatures, {len(seeds)} seeds\n")
    print("| legend | good | price before | extreme within 5 turns | change | turns to recover |")
    print("|---|---|---:|---:|---:|---:|")
    for legend, good in LEGEND_GOOD.items():
        k = GOODS.index(good)
        before, extreme, recover = [], [], []
        for seed in seeds:
            run = play(agents, turns, seed, legends={LEGEND_AT: [legend]}, **params)
            path = [p[k] for p in run["prices"]]
            b = path[LEGEND_AT - 1]
            window = path[LEGEND_AT:LEGEND_AT + 5]
            e = min(window) if legend in FALLS else max(window)
            at = LEGEND_AT + window.index(e)
            back = next((t - at for t in range(at, len(path)) if abs(path[t] - b) <= 0.25 * b), None)
            before.append(b), extreme.append(e), recover.append(back)
        change = [100 * (e - b) / b for b, e in zip(before, extreme)]
        recovered = [r for r in recover if r is not None]
        row = {"legend": legend, "good": good, "before": before, "extreme": extreme, "change_pct": change,
               "recover_turns": recover}
        rows.append(row)
        print(f"| {legend} | {good} | {ms(before)} | {ms(extreme)} | {ms(change)} % | "
              f"{ms(recovered) if recovered else '—'} ({len(recovered)}/{len(seeds)} seeds) |")
    return rows


COMMONS_GROWTH = (0.1, 0.2, 0.3, 0.5)
COMMONS_GREEDY = (0.0, 0.2, 1 / 3, 0.5, 0.7, 1.0)


def commons_map(seeds: list[int], turns: int = 100, fishers: int = 6) -> list[dict]:
    """Share of runs in which the lake collapses, over growth rate x share of greedy fishers."""
    from worlds.commons import CommonsWorld

    cells = []
    for growth in COMMONS_GROWTH:
        for greedy in COMMONS_GREEDY:
            lives, dead = [], 0
            for seed in seeds:
                engine = Engine(CommonsWorld(agents=fishers, growth=growth, greedy=greedy),
                                scripted(PolicyOptions(seed=seed)), seed=seed)
                lives.append(sum(1 for _ in engine.run(turns)))
                dead += engine.world.done(engine.state)
            cells.append({"growth": growth, "greedy": greedy, "collapsed": float(dead) / len(seeds),
                          "turns_lived": statistics.mean(lives)})
    print(f"\n### The commons: lakes collapsed within {turns} turns ({fishers} scripted fishers, {len(seeds)} seeds)\n")
    print("| growth \\ greedy share | " + " | ".join(f"{g:.2f}" for g in COMMONS_GREEDY) + " |")
    print("|---:|" + "---:|" * len(COMMONS_GREEDY))
    for growth in COMMONS_GROWTH:
        row = [c for c in cells if c["growth"] == growth]
        print(f"| {growth} | " + " | ".join(f"{100 * c['collapsed']:.0f} % ({c['turns_lived']:.0f})" for c in row) + " |")
    return cells


def targets(scales: list[dict], legends: list[dict], commons: list[dict]) -> list[tuple[str, bool, str]]:
    small = next((s for s in scales if s["agents"] == 5), scales[0])
    fire = [statistics.mean(year) for year in small["fire_ratio_years_1_3"]]
    ranks = small["woodcutter_rank"]
    out = [
        (f"firewood winter/autumn ≥ 1.5 in years 1–3 ({small['agents']} creatures)", all(f >= 1.5 for f in fire),
         ", ".join(f"{f:.2f}" for f in fire)),
        (f"woodcutter among the two richest after the first winter, most seeds ({small['agents']} creatures)", sum(r <= 2 for r in ranks) > len(ranks) / 2,
         f"{sum(r <= 2 for r in ranks)}/{len(ranks)} seeds"),
        (f"creatures go cold in winter, spring heals ({small['agents']} creatures)", small["cold_in_winter"] > 0 and small["spring_heals"] > 0,
         f"{100 * small['cold_in_winter']:.0f} % cold, spring mood {small['spring_heals']:+.2f} over winter"),
    ]
    for s in scales:
        tag = f"({s['agents']} creatures)"
        ratio = statistics.mean(s["trades_last_over_first"])
        lo, hi = s["price_level_range"]
        out += [
            (f"last year's trades ≥ 0.7 × the first {tag}", ratio >= 0.7, f"{ratio:.2f}"),
            (f"every year's mood ≥ 0.35 {tag}", s["min_year_mood"] >= 0.35, f"lowest {s['min_year_mood']:.2f}"),
            (f"no held good unquoted-uncleared > 10 turns {tag}", max(s["longest_stale"]) <= 10,
             f"longest {max(s['longest_stale'])} turns"),
            (f"price level within 0.5–3 × the start {tag}", lo >= 0.5 and hi <= 3, f"{lo:.2f}–{hi:.2f}"),
        ]
    for row in legends:
        change = statistics.mean(row["change_pct"])
        if row["legend"] == "bank_run":
            out.append(("bank run: honey ≥ 50 % down within 5 turns", change <= -50, f"{change:.0f} %"))
            rec = [r for r in row["recover_turns"] if r is not None]
            out.append(("bank run: honey back within 25 % of before in ~20 turns",
                        len(rec) == len(row["recover_turns"]) and statistics.mean(rec) <= 20,
                        f"{statistics.mean(rec):.1f} turns, {len(rec)}/{len(row['recover_turns'])} seeds" if rec else "never"))
    lasts = sum(c["collapsed"] == 0 for c in commons)
    dies = sum(c["collapsed"] == 1 for c in commons)
    out.append(("the commons: a region where the lake always lasts and one where it always dies",
                lasts > 0 and dies > 0, f"{lasts} cells always last, {dies} always collapse, of {len(commons)}"))
    return out


def plot(out_dir: str, params: dict) -> None:
    """economy.png: prices over three years of one 5-creature run (winters shaded) and a bank run at turn 45."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    plain, bank = play(5, 80, 0, **params), play(5, 80, 0, legends={LEGEND_AT: ["bank_run"]}, **params)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    for ax, run, title in ((axes[0], plain, "prices, 5 creatures, seed 0"),
                           (axes[1], bank, f"prices with a bank run at turn {LEGEND_AT}")):
        for k, good in enumerate(GOODS):
            ax.plot([p[k] for p in run["prices"]], label=good)
        ax.set_title(title)
        ax.set_xlabel("turn")
    axes[2].plot(plain["mood"], label="mood", color="green")
    axes[2].plot(plain["cold"], label="share cold", color="steelblue")
    axes[2].plot(plain["pebble_gini"], label="Gini (pebbles)", color="black")
    axes[2].set_title("mood, cold, pebble Gini")
    for ax in axes:
        for t, season in enumerate(plain["season"]):
            if season == "winter":
                ax.axvspan(t - 0.5, t + 0.5, color="#cde", alpha=0.5, lw=0)
        ax.legend(fontsize=7)
    axes[1].axvline(LEGEND_AT, color="red", ls=":", lw=1)
    fig.tight_layout()
    fig.savefig(f"{out_dir}/economy.png", dpi=90)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench economy", description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--turns", type=int, default=200)
    p.add_argument("--agents", default="5,50")
    p.add_argument("--legend-turns", type=int, default=80)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a wood parameter")
    p.add_argument("--png-dir", default=None, help="write economy*.png plots here")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    params = typed_params("wood", world_params(args.set))  # read by the wood's declared types, as --set is
    seeds = list(range(args.seeds))
    info = machine_info()
    flags = ", ".join(info.get("cpu_features", []))
    print(f"machine: {info['processor']} ({flags or 'no flags read'}), {info['cores']} cores; "
          f"wood parameters {params or 'default'}")
    scales = [scale_table(int(a), args.turns, seeds, params) for a in args.agents.split(",")]
    legends = legend_table(5, args.legend_turns, seeds, params)
    commons = commons_map(seeds[:10])
    print("\n| target | met | measured |\n|---|---|---|")
    checks = targets(scales, legends, commons)
    for name, ok, measured in checks:
        print(f"| {name} | {'yes' if ok else '**no**'} | {measured} |")
    if args.png_dir:
        plot(args.png_dir, params)
    write_result(args.json, "economy", params=params, scales=scales, legends=legends, commons=commons,
                 targets=[{"target": n, "met": bool(ok), "measured": m} for n, ok, m in checks])


if __name__ == "__main__":
    main()
