"""The wood's year as a council lives it: one run as per-turn columns, and the figures the wood is designed
to show, by year and season (the winter fuel crisis, the woodcutter's fortune, the wealth gap, trade).

Shared by `python -m bench quality` (model councils beside the scripted one) and its tests. A year is four
seasons of `season_turns` turns; the first winter starts at turn 3 * season_turns (15 by default), so a
bench that plays fewer turns never sees one.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field, replace

import numpy as np

import json_repair

from sim import Engine
from sim.agency import Tally
from sim.metrics import gini
from worlds.wood import WoodWorld
from worlds.wood.audit import DEAL_MISTAKES, DEALS, MISTAKES, deals, mistakes
from worlds.wood.state import FIREWOOD, GOODS, SEASONS
from worlds.wood.trader import CUSTOMARY

HONEY = GOODS.index("honey")


@dataclass
class Run:
    """One seeded run, turn by turn. Seasons are the calendar's (a legend's early frost is not counted as
    winter); wealth is pebbles plus goods at the price they last changed hands at."""

    agents: int
    season_turns: int
    trade: list[int]  # each creature's good (index into GOODS)
    season: list[str] = field(default_factory=list)
    trades: list[int] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)  # share of creatures cold this turn
    fire_price: list[float] = field(default_factory=list)  # firewood's market price after the turn
    fire_bids: list[int] = field(default_factory=list)  # buy-firewood orders placed this turn
    mood: list[float] = field(default_factory=list)
    level: list[float] = field(default_factory=list)  # geometric mean of price / customary price
    gini: list[float] = field(default_factory=list)  # wealth Gini after the turn
    wealth: list[list[float]] = field(default_factory=list)
    pebbles: list[list[int]] = field(default_factory=list)
    honey: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=lambda: {"valid": 0, "repaired": 0, "noop": 0})
    # self-defeating moves as the replies SAID them (worlds.wood.audit), before the parse path dropped them
    said: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MISTAKES + DEALS + DEAL_MISTAKES + (
        "dealing", "self_defeating_deals"), 0))
    noops: list[dict] = field(default_factory=list)
    agency: dict = field(default_factory=dict)

    @property
    def year_turns(self) -> int:
        return 4 * self.season_turns

    def woodcutters(self) -> list[int]:
        return [i for i, k in enumerate(self.trade) if k == FIREWOOD]


def play(policy, agents: int, turns: int, seed: int, legends=None, **params) -> Run:
    """Play one council (any Policy) through `turns` turns of the wood and keep the columns."""
    world = WoodWorld(agents=agents, **params)
    engine = Engine(world, policy, seed=seed, legends=legends)
    run = Run(agents, world.season_turns, engine.state.trade.tolist())
    for _ in range(turns):
        before = engine.state
        turn = engine.step()
        s = engine.state
        audit(run, world, before, turn)
        run.season.append(world.season_of(turn.turn))
        run.trades.append(turn.metrics["trades"])
        run.cold.append(float(s.cold.mean()))
        run.fire_price.append(float(s.prices[FIREWOOD]))
        run.fire_bids.append(sum(1 for d in turn.decisions for o in d.action.get("orders") or []
                                 if o[0] == "buy" and o[1] == "firewood"))
        run.mood.append(float(s.mood.mean()))
        run.level.append(float(np.exp(np.mean(np.log(s.prices / np.asarray(CUSTOMARY))))))
        run.gini.append(gini(s.wealth()))
        run.wealth.append(s.wealth().astype(float).tolist())
        run.pebbles.append(s.pebbles.tolist())
        run.honey.append(float(s.prices[HONEY]))
        for d in turn.decisions:
            run.statuses[d.status] += 1
            if d.status == "noop":
                run.noops.append({"turn": turn.turn, "agent": d.agent, "reason": d.reason,
                                  "reply": (d.reply or "")[:160]})
    run.agency = engine.agency.summary()
    engine.close()
    return run


def audit(run: Run, world: WoodWorld, before, turn) -> None:
    """Count what each reply said that defeats its own creature (a wrong order, a deal it cannot keep)."""
    for d in turn.decisions:
        i = before.position[d.agent]
        said = said_reply(d.reply)
        orders = said.get("orders")
        for m in mistakes(before, i, orders if isinstance(orders, list) else []):
            run.said[m] += 1
        if world.second_act:
            used, wrong = deals(before, i, said)
            for m in used + wrong:
                run.said[m] += 1
            run.said["dealing"] += bool(used)
            run.said["self_defeating_deals"] += bool(wrong)


def said_reply(reply: str | None) -> dict:
    """The reply as the model wrote it, repaired into a dict ({} when it is not one)."""
    try:
        data = json_repair.loads(reply or "")
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}


def seasons_of(run: Run) -> list[tuple[int, str, list[int]]]:
    """(year, season, turns) for every whole season the run played, in order."""
    out = []
    for start in range(0, len(run.trades) - run.season_turns + 1, run.season_turns):
        out.append((start // run.year_turns + 1, SEASONS[(start // run.season_turns) % 4],
                    list(range(start, start + run.season_turns))))
    return out


def season_rows(runs: list[Run]) -> list[dict]:
    """Per year and season, the mean over runs of: trades a turn, share of creatures cold, firewood's price,
    buy-firewood orders a turn, mood, price level, and the wealth Gini at the season's end."""
    rows = []
    for year, season, span in seasons_of(runs[0]):
        def mean(column: str) -> float:
            return statistics.mean(statistics.mean(getattr(r, column)[t] for t in span) for r in runs)
        rows.append({"year": year, "season": season, "trades": mean("trades"), "cold": mean("cold"),
                     "fire_price": mean("fire_price"), "fire_bids": mean("fire_bids"), "mood": mean("mood"),
                     "level": mean("level"), "gini_end": statistics.mean(r.gini[span[-1]] for r in runs),
                     "woodcutter_richest": sum(woodcutter_rank(r, span[-1], "wealth") == 1 for r in runs)})
    return rows


def fire_ratios(run: Run) -> list[float]:
    """Firewood's mean winter price over its mean autumn price, for each whole year."""
    out = []
    for y in range(len(run.trades) // run.year_turns):
        span = range(y * run.year_turns, (y + 1) * run.year_turns)
        autumn = [run.fire_price[t] for t in span if SEASONS[(t // run.season_turns) % 4] == "autumn"]
        winter = [run.fire_price[t] for t in span if SEASONS[(t // run.season_turns) % 4] == "winter"]
        out.append(statistics.mean(winter) / statistics.mean(autumn))
    return out


def winter_mean(run: Run, values: list[float]) -> float:
    """The mean of a per-turn column over the run's winter turns (0 when it played none)."""
    kept = [v for v, season in zip(values, run.season) if season == "winter"]
    return statistics.mean(kept) if kept else 0.0


def winter_cold(run: Run) -> float:
    """Share of creature-turns cold, over the winter turns."""
    return winter_mean(run, run.cold)


def woodcutter_rank(run: Run, t: int, by: str = "pebbles") -> int:
    """1 = the richest after turn t (by pebbles or wealth); the rank of the best-placed woodcutter."""
    values = np.asarray(getattr(run, by)[t], dtype=float)
    order = list(np.argsort(-values, kind="stable"))
    return 1 + min(order.index(i) for i in run.woodcutters())


def year_trades(run: Run) -> list[float]:
    n = run.year_turns
    return [statistics.mean(run.trades[y * n:(y + 1) * n]) for y in range(len(run.trades) // n)]


def overview(runs: list[Run]) -> dict:
    """The whole-run figures of one council over its seeds (issue targets read these)."""
    first_winter_end = runs[0].year_turns - 1
    years = [year_trades(r) for r in runs]
    ratios = [fire_ratios(r) for r in runs]
    n_years = min(len(y) for y in years)
    decisions = sum(sum(r.statuses.values()) for r in runs)
    return {
        "seeds": len(runs),
        "fire_ratio_by_year": [statistics.mean(r[y] for r in ratios) for y in range(n_years)],
        "winter_cold": statistics.mean(winter_cold(r) for r in runs),
        "woodcutter_top2_after_first_winter": sum(woodcutter_rank(r, first_winter_end) <= 2 for r in runs)
        if len(runs[0].trades) > first_winter_end else None,
        "median_trades": float(np.median([t for r in runs for t in r.trades])),
        "mean_trades": statistics.mean(t for r in runs for t in r.trades),
        "last_over_first_year_trades": statistics.mean(y[n_years - 1] / max(y[0], 1e-9) for y in years)
        if n_years else None,
        "mood": statistics.mean(statistics.mean(r.mood) for r in runs),
        "gini_mean": statistics.mean(statistics.mean(r.gini) for r in runs),
        "level": statistics.mean(statistics.mean(r.level) for r in runs),
        "fire_bids_winter": statistics.mean(winter_mean(r, r.fire_bids) for r in runs),
        "decisions": decisions,
        "noop_pct": round(100 * sum(r.statuses["noop"] for r in runs) / max(decisions, 1), 2),
        "repaired_pct": round(100 * sum(r.statuses["repaired"] for r in runs) / max(decisions, 1), 2),
    }


def pooled_agency(runs: list[Run]) -> dict:
    """The runs' agency tallies added up (sim.agency)."""
    return Tally.pooled([r.agency for r in runs]).summary()


def bank_run_move(policy_for, agents: int, seeds: list[int], at: int = 5, after: int = 6, **params) -> float:
    """Honey's lowest price within `after` turns of a bank run at turn `at`, against the turn before it,
    in percent (mean over seeds). `policy_for(seed)` builds the council for each seed."""
    moves = []
    for seed in seeds:
        run = play(policy_for(seed), agents, at + after, seed, legends={at: ["bank_run"]}, **params)
        before = run.honey[at - 1]
        moves.append(100 * (min(run.honey[at:]) - before) / before)
    return statistics.mean(moves)


class Hoarding:
    """A council in which one creature never sells what it holds: its sell orders and offers are struck from
    every reply it gives, so its larder only grows (and rots). Everything else is the council's own."""

    def __init__(self, policy, agent: str):
        self.policy, self.agent = policy, agent

    def decide(self, turn: int, asks):
        batch = self.policy.decide(turn, asks)
        reply = batch.replies.get(self.agent)
        said = said_reply(reply.text if reply else None)
        if said:
            said["orders"] = [o for o in said.get("orders") or [] if not (isinstance(o, list) and o[:1] == ["sell"])]
            said.pop("offer", None)
            batch.replies[self.agent] = replace(reply, text=json.dumps(said))
        return batch

    def describe(self, asks):
        return self.policy.describe(asks)


def hoarding_cost(policy_for, agents: int, turns: int, seeds: list[int], good: str, **params) -> dict:
    """The wealth of the first maker of `good` at the end of each run, trading as its council decides and
    hoarding (Hoarding), on the same seeds: what keeping a larder that rots costs."""
    maker = list(range(agents))[GOODS.index(good)]  # creature i makes good i % len(GOODS)
    kept, hoarded = [], []
    for seed in seeds:
        trading = play(policy_for(seed), agents, turns, seed, **params)
        name = WoodWorld(agents=agents).initial_state(np.random.default_rng(seed)).names[maker]
        hoarding = play(Hoarding(policy_for(seed), name), agents, turns, seed, **params)
        kept.append(trading.wealth[-1][maker])
        hoarded.append(hoarding.wealth[-1][maker])
    return {"good": good, "trading": statistics.mean(kept), "hoarding": statistics.mean(hoarded),
            "poorer_in": sum(h < k for h, k in zip(hoarded, kept)), "seeds": len(seeds)}


def plot(run: Run, title: str, path: str) -> None:
    """A run's year at a glance: firewood's price, creatures cold, each creature's wealth (winters shaded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    axes[0].plot(run.fire_price, color="saddlebrown", label="firewood price")
    axes[0].plot(run.fire_bids, color="gray", ls=":", label="buy-firewood orders")
    axes[1].plot([100 * c for c in run.cold], color="steelblue", label="% creatures cold")
    wealth = np.asarray(run.wealth)
    for i in range(run.agents):
        is_wood = run.trade[i] == FIREWOOD
        axes[2].plot(wealth[:, i], color="saddlebrown" if is_wood else None, lw=2.2 if is_wood else 0.8,
                     label=("woodcutter" if is_wood and i == run.woodcutters()[0] else None))
    axes[0].set_title("firewood")
    axes[1].set_title("cold")
    axes[2].set_title("each creature's wealth (pebbles + goods)")
    for ax in axes:
        for t, season in enumerate(run.season):
            if season == "winter":
                ax.axvspan(t - 0.5, t + 0.5, color="#cde", alpha=0.5, lw=0)
        ax.set_xlabel("turn")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
