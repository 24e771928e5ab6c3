"""Price and Gini paths of the default wood run (5 creatures, 30 turns, seed 7, scripted council) and of the
same run with a bank run on the honey keeper at turn 10; numbers and PNG plots for docs/RESULTS.md.

    python -m bench paths [--seeds 7] [--png-dir docs/img] [--json PATH]
"""
from __future__ import annotations

import argparse
import os
import statistics

from agents.policies import scripted
from bench.machine import write_result
from sim import Engine
from sim.policy import PolicyOptions
from worlds.wood import WoodWorld

BANK_RUN_AT = 10


def play(seed: int, legends=None) -> list:
    return list(Engine(WoodWorld(), scripted(PolicyOptions(seed=seed)), seed=seed, legends=legends).run(30))


def summary(seed: int) -> dict:
    plain, bank = play(seed), play(seed, {BANK_RUN_AT: ["bank_run"]})
    honey_before = bank[BANK_RUN_AT - 1].metrics["prices"]["honey"]
    honey_low = min(t.metrics["prices"]["honey"] for t in bank[BANK_RUN_AT:BANK_RUN_AT + 5])
    wood = [t.metrics["prices"]["firewood"] for t in plain]
    return {
        "seed": seed,
        "median_trades": statistics.median(t.metrics["trades"] for t in plain),
        "gini_turn0": plain[0].metrics["gini"],
        "gini_turn15": plain[15].metrics["gini"],
        "honey_before_bank_run": honey_before,
        "honey_low_within_5": honey_low,
        "honey_fall_pct": round(100 * (1 - honey_low / honey_before), 1),
        "firewood_autumn": round(statistics.mean(wood[10:15]), 2),
        "firewood_winter": round(statistics.mean(wood[15:20]), 2),
        "noop": sum(t.metrics["noop"] for t in plain),
        "_paths": (plain, bank),
    }


def plot(plain: list, bank: list, out_dir: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, turns, mark in (("default_run", plain, None), ("bank_run", bank, BANK_RUN_AT)):
        fig, (prices, gini) = plt.subplots(1, 2, figsize=(10, 3.6))
        x = [t.turn for t in turns]
        for good in turns[0].metrics["prices"]:
            prices.plot(x, [t.metrics["prices"][good] for t in turns], label=good)
        gini.plot(x, [t.metrics["gini"] for t in turns], color="black")
        for ax in (prices, gini):
            ax.axvspan(15, 19.5, color="#cde", alpha=0.5, lw=0)  # winter
            if mark is not None:
                ax.axvline(mark, color="red", ls=":", lw=1)
            ax.set_xlabel("turn")
        prices.set_title("prices (pebbles)" + (" · bank run at turn 10" if mark else ""))
        prices.legend(fontsize=7, ncol=2)
        gini.set_title("Gini of wealth")
        fig.tight_layout()
        path = f"{out_dir}/{name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench paths")
    p.add_argument("--seeds", default="7,0,1,2,3,4,5,6,8,9")
    p.add_argument("--png-dir", default="docs/img")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    rows = [summary(int(s)) for s in args.seeds.split(",")]
    keys = ["median_trades", "gini_turn0", "gini_turn15", "honey_before_bank_run", "honey_low_within_5",
            "honey_fall_pct", "firewood_autumn", "firewood_winter"]
    print("| seed | " + " | ".join(keys) + " |\n|" + "---:|" * (len(keys) + 1))
    for r in rows:
        print(f"| {r['seed']} | " + " | ".join(f"{r[k]:g}" for k in keys) + " |")
    print("| mean | " + " | ".join(f"{statistics.mean(r[k] for r in rows):.3g}" for k in keys) + " |")
    write_result(args.json, "paths", rows=[{k: v for k, v in r.items() if k != "_paths"} for r in rows])
    plot(*rows[0]["_paths"], args.png_dir)


if __name__ == "__main__":
    main()
