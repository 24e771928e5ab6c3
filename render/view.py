"""What a viewer shows, read from one Turn record: figures (a creature, or a whole group when there are too
many to draw one by one) and flows (goods that changed hands). Worlds the viewers know (the wood) give kinds,
goods, pebbles and moods; any other world still gives agents by role, their decisions and what they said."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping

from sim.records import Turn

MAX_FIGURES = 60  # beyond this a scene draws one figure per group: 1000 sprites are noise, not a picture


@dataclass
class Figure:
    key: str  # agent name, or the group's role when aggregated
    label: str
    role: str
    kind: str = ""  # the sprite to draw ("" for worlds the viewers do not know)
    count: int = 1  # creatures this figure stands for
    mood: float | None = None  # mean, in [0, 1]
    pebbles: float | None = None  # mean
    goods: dict[str, float] = field(default_factory=dict)  # held, mean per creature
    status: dict[str, int] = field(default_factory=dict)  # decision status -> count
    say: str = ""
    action: str = ""  # what it did this turn, in a few words
    reason: str = ""  # why its reply was repaired or became a no-op
    cold: bool = False
    numbers: dict[str, float] = field(default_factory=dict)  # other per-agent columns (unknown worlds)


@dataclass
class Flow:
    source: str  # figure keys
    target: str
    good: str
    units: int
    price: float


def is_wood(state: Mapping) -> bool:
    return all(k in state for k in ("names", "kinds", "trade", "pebbles", "stock", "mood", "prices"))


def goods_of(turn: Turn) -> list[str]:
    prices = turn.metrics.get("prices")
    return list(prices) if isinstance(prices, dict) else []


def agents_of(turn: Turn) -> list[str]:
    names = turn.state.get("names")
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    return [d.agent for d in turn.decisions]


def creatures(turn: Turn, roles: Mapping[str, str] | None = None) -> list[Figure]:
    """One figure per agent, whatever the world."""
    state, agents = turn.state, agents_of(turn)
    decided = {d.agent: d for d in turn.decisions}
    wood = is_wood(state)
    goods = goods_of(turn)
    columns = {} if wood else _agent_columns(state, len(agents))
    out = []
    for i, name in enumerate(agents):
        d = decided.get(name)
        if wood:
            role = goods[state["trade"][i]] if goods else str(state["trade"][i])
        else:
            role = (roles or {}).get(name, "")
        fig = Figure(key=name, label=name, role=role)
        if d is not None:
            fig.status = {d.status: 1}
            fig.say = str(d.action.get("say") or "")
            fig.action = describe(d.action)
            fig.reason = d.reason or ""
        if wood:
            fig.kind = state["kinds"][i]
            fig.mood = float(state["mood"][i])
            fig.pebbles = float(state["pebbles"][i])
            fig.goods = {g: float(u) for g, u in zip(goods, state["stock"][i]) if u}
            fig.cold = bool(state.get("cold", [0] * len(agents))[i])
        else:
            fig.numbers = {k: float(v[i]) for k, v in columns.items()}
            if "mood" in fig.numbers:
                fig.mood = max(0.0, min(1.0, fig.numbers.pop("mood")))
        out.append(fig)
    return out


def figures(turn: Turn, roles: Mapping[str, str] | None = None, limit: int = MAX_FIGURES) -> list[Figure]:
    """Figures to draw: every creature, or one per role when there are more than `limit`."""
    each = creatures(turn, roles)
    return each if len(each) <= limit else group(each)


def group(each: list[Figure]) -> list[Figure]:
    by_role: dict[str, list[Figure]] = {}
    for f in each:
        by_role.setdefault(f.role, []).append(f)
    out = []
    for role, members in by_role.items():
        n = len(members)
        fig = Figure(key=role, label=f"{role or 'agents'}", role=role, kind=members[0].kind, count=n)
        fig.mood = _mean([m.mood for m in members])
        fig.pebbles = _mean([m.pebbles for m in members])
        for m in members:
            for g, u in m.goods.items():
                fig.goods[g] = fig.goods.get(g, 0.0) + u / n
            for s, c in m.status.items():
                fig.status[s] = fig.status.get(s, 0) + c
        fig.cold = sum(m.cold for m in members) > n / 2
        fig.numbers = {k: _mean([m.numbers.get(k) for m in members]) for k in members[0].numbers}
        speakers = [m for m in members if m.say]
        if speakers:
            fig.say = f"{speakers[0].label}: {speakers[0].say}"
        out.append(fig)
    return out


def flows(turn: Turn, shown: list[Figure], roles: Mapping[str, str] | None = None) -> list[Flow]:
    """Goods that moved this turn, between the figures shown (pairing each trade's sellers with its buyers
    in order, since a cleared market records who sold and who bought but not to whom)."""
    keys = {f.key for f in shown}
    owner = {}
    if not all(f.count == 1 for f in shown):
        owner = role_of_each(turn, roles)
    out: dict[tuple, Flow] = {}
    for e in turn.events:
        if e.get("kind") != "trade":
            continue
        for seller, buyer, units in _pairs(e.get("sellers", []), e.get("buyers", [])):
            s, b = owner.get(seller, seller), owner.get(buyer, buyer)
            if s not in keys or b not in keys or s == b:
                continue
            flow = out.setdefault((s, b, e["good"]), Flow(s, b, e["good"], 0, float(e.get("price", 0))))
            flow.units += units
    return list(out.values())


def role_of_each(turn: Turn, roles: Mapping[str, str] | None = None) -> dict[str, str]:
    """Agent -> role, as `creatures` assigns it, without building figures (flows need only this)."""
    state, agents = turn.state, agents_of(turn)
    if is_wood(state):
        goods = goods_of(turn)
        return {n: goods[k] if goods else str(k) for n, k in zip(agents, state["trade"])}
    return {a: (roles or {}).get(a, "") for a in agents}


def _pairs(sellers: list, buyers: list):
    sellers = [[n, u] for n, u in sellers]
    i = 0
    for buyer, want in buyers:
        while want > 0 and i < len(sellers):
            take = min(want, sellers[i][1])
            yield sellers[i][0], buyer, take
            want -= take
            sellers[i][1] -= take
            if sellers[i][1] == 0:
                i += 1


def describe(action: dict) -> str:
    """An action in a few words: wood orders as 'sell 3 honey @9', anything else as compact JSON."""
    orders = action.get("orders")
    if isinstance(orders, list):
        parts = [f"{o.get('side')} {o.get('qty')} {o.get('good')} @{o.get('price')}" for o in orders
                 if isinstance(o, dict)]
        return ", ".join(parts) or "waits"
    rest = {k: v for k, v in action.items() if k != "say"}
    return json.dumps(rest, separators=(",", ":"))[:80] if rest else "waits"


def _agent_columns(state: Mapping, n: int) -> dict[str, list]:
    """Per-agent numeric columns of an unknown world's state (lists as long as the agent list)."""
    return {k: v for k, v in state.items()
            if isinstance(v, list) and len(v) == n and n > 0 and all(isinstance(x, (int, float)) for x in v)
            and not isinstance(v[0], bool)}


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None
