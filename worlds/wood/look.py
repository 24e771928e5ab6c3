"""How the wood is drawn: creatures as their animals around a market stall, coloured by the good they make,
with their pebbles, wealth, mood and larder; goods flying seller -> buyer for every trade; seasons and
snow; prices on the ticker; and the year's story in the title every viewer shows (the top bar, the web
log's turn heads): how near winter is, who is cold, what firewood costs and what the woodcutters hold.
Reads only a Turn record (the state's JSON form), as every viewer must."""
from __future__ import annotations

from sim.portrayal import Arrow, Glyph, Portrait, Theme, describe
from sim.records import Turn
from worlds.wood.state import FIREWOOD, GOODS, turns_to_winter

COLOURS = {"acorns": (176, 125, 58), "honey": (244, 196, 48), "berries": (142, 68, 173),
           "mushrooms": (231, 76, 60), "firewood": (107, 66, 38)}
BOOKKEEPING = ("eat", "rot", "make", "burn")  # charted, not logged


def portrait(turn: Turn, season_turns: int = 5) -> Portrait:
    s = turn.state
    prices = s["cleared"] if "cleared" in s else s["prices"]  # wealth at the price goods last changed hands at
    decided = {d.agent: d.action for d in turn.decisions}
    glyphs = {}
    for i, name in enumerate(s["names"]):
        held = {g: float(u) for g, u in zip(GOODS, s["stock"][i]) if u}
        wealth = s["pebbles"][i] + sum(u * p for u, p in zip(s["stock"][i], prices))
        glyphs[name] = Glyph(label=name, role=GOODS[s["trade"][i]], shape=s["kinds"][i],
                             numbers={"pebbles": float(s["pebbles"][i]), "wealth": round(float(wealth), 2)},
                             mood=float(s["mood"][i]), held=held, badge="❄" if s["cold"][i] else "",
                             action=orders(decided.get(name)))
    season = s.get("season", "")
    theme = Theme(background="market", season=season, weather="snow" if season == "winter" else "",
                  colours=COLOURS, title=story(s, season_turns), spread="wealth")
    return Portrait(glyphs, trades(turn), theme, banner(turn), log(turn))


def story(s: dict, season_turns: int) -> str:
    """The winter fuel crisis in one line, for the state after a turn: "Winter · 2 of 5 cold · firewood 9.5 ▲
    · woodcutter Thorn 31 pebbles", or before it "Autumn · winter in 3 turns · firewood 4.0"."""
    season = str(s.get("season", ""))
    try:
        price, before = float(s["prices"][FIREWOOD]), float(s["last_prices"][FIREWOOD])
        cutters = [i for i, k in enumerate(s["trade"]) if k == FIREWOOD]
        purses = sorted(((int(s["pebbles"][i]), s["names"][i]) for i in cutters), reverse=True)
        cold, n = sum(1 for c in s["cold"] if c), len(s["names"])
    except (KeyError, IndexError, TypeError, ValueError):  # a record from another version: the season alone
        return season.capitalize()
    trend = " ▲" if price > before * 1.05 else " ▼" if price < before * 0.95 else ""
    parts = [season.capitalize()]
    if season == "winter":
        parts.append(f"{cold} of {n} cold" if cold else "no one cold")
    elif isinstance(s.get("turn"), int):
        left = turns_to_winter(season, s["turn"], season_turns)
        parts.append("winter next turn" if left == 1 else f"winter in {left} turns")
    parts.append(f"firewood {price:.1f}{trend}")
    if len(purses) == 1:
        parts.append(f"woodcutter {purses[0][1]} {purses[0][0]} pebbles")
    elif purses:
        parts.append(f"woodcutters hold {sum(p for p, _ in purses)} pebbles ({purses[0][1]} {purses[0][0]})")
    return " · ".join(parts)


def orders(action: dict | None) -> str:
    """'sell 3 honey @9, buy 1 acorns @4', or 'waits'."""
    if not action:
        return ""
    parts = [f"{o.get('side')} {o.get('qty')} {o.get('good')} @{o.get('price')}" for o in action.get("orders", [])
             if isinstance(o, dict)]
    return ", ".join(parts) or ("waits" if "orders" in action else describe(action))


def trades(turn: Turn) -> list[Arrow]:
    """One arrow per seller -> buyer pair of each cleared good. The call market records who sold and who
    bought but not to whom, so sellers are paired with buyers in order."""
    out = []
    for e in turn.events:
        if e.get("kind") != "trade":
            continue
        sellers = [[n, u] for n, u in e.get("sellers", [])]
        i = 0
        for buyer, want in e.get("buyers", []):
            while want > 0 and i < len(sellers):
                take = min(want, sellers[i][1])
                out.append(Arrow(sellers[i][0], buyer, e["good"], float(take)))
                want -= take
                sellers[i][1] -= take
                if sellers[i][1] == 0:
                    i += 1
    return out


def banner(turn: Turn) -> tuple[str, str]:
    """(title, rumour) of the legend in force: one that began this turn, else a still-active effect."""
    said = [e.get("text", "") for e in turn.events if e.get("kind") == "rumour"]
    rumours = turn.state.get("rumours") or []
    active = [e for e in turn.state.get("effects") or [] if isinstance(e, dict)
              and e.get("from", 0) <= turn.turn < e.get("until", 0)]
    if not (turn.legends or active):
        return "", ""
    line = (said or rumours or [""])[-1]
    title, sep, text = str(line).partition(": ")
    if not sep:
        name = (turn.legends or [active[-1].get("legend", "legend")])[-1]
        title, text = name.replace("_", " ").title(), str(line)
    return title, text.strip('"') if text.startswith('"') else text


def log(turn: Turn) -> list[str]:
    lines = []
    for e in turn.events:
        kind = e.get("kind")
        if kind == "rumour":
            lines.append(f"⚑ {e.get('text', '')}")
        elif kind == "trade":
            buyers = ", ".join(f"{n} {u}" for n, u in e.get("buyers", [])[:8])
            sellers = ", ".join(f"{n} {u}" for n, u in e.get("sellers", [])[:8])
            lines.append(f"⇄ {e.get('good')} ×{e.get('units')} @{e.get('price')}: {sellers} → {buyers}")
        elif kind == "cold":
            lines.append(f"❄ {e.get('count')} creatures cold")
        elif kind not in BOOKKEEPING and kind != "legend":
            lines.append(f"• {kind} " + ", ".join(f"{k}={v}" for k, v in e.items() if k != "kind")[:160])
    return lines
