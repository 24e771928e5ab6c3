"""How the meadow is drawn: each forager on its cell (Glyph.at = (column, row)), the food lying on every cell
as the ground layer, shares as arrows between neighbours, newcomers marked, the drought in the banner.
Reads only a Turn record, as every viewer must."""
from __future__ import annotations

from sim.portrayal import Arrow, Glyph, Ground, Portrait, Theme, began, describe
from sim.records import Turn

COLOURS = {"settler": (94, 160, 80), "wanderer": (214, 140, 49), "food": (46, 125, 50)}


def portrait(turn: Turn, most: int) -> Portrait:
    s = turn.state
    decided = {d.agent: d.action for d in turn.decisions}
    glyphs = {name: Glyph(label=name, role=s["kind"][i], numbers={"food": float(s["food"][i])},
                          held={"food": float(s["food"][i])}, at=(s["col"][i], s["row"][i]),
                          badge="✦" if name in s["arrived"] else "",
                          action=describe(decided[name]) if name in decided else "just arrived")
              for i, name in enumerate(s["names"])}
    arrows = [Arrow(e["from"], e["to"], "food", e["amount"]) for e in turn.events
              if e.get("kind") == "share" and e["from"] in glyphs and e["to"] in glyphs]
    theme = Theme(colours=COLOURS, centre="population", ticker=["population", "food_ground", "arrivals", "departures"],
                  title="Drought" if s["drought"] else "", season="autumn" if s["drought"] else "", spread="food")
    ground = Ground(cells=s["ground"], label="food", most=most)
    return Portrait(glyphs, arrows, theme, banner(turn), log(turn), ground=ground)


def banner(turn: Turn) -> tuple[str, str]:
    """The legend that began this turn, or the drought still in force."""
    title, text = began(turn)
    if title or not turn.state["drought"]:
        return title, text
    return "Drought", f"{turn.state['drought']} more turns"


def log(turn: Turn) -> list[str]:
    lines = []
    for e in turn.events:
        kind = e.get("kind")
        if kind == "share":
            lines.append(f"🤝 {e['from']} gave {e['to']} {e['amount']} food")
        elif kind == "starve":
            lines.append(f"✖ {e['agent']} starved and left")
        elif kind == "arrive":
            lines.append(f"✦ {e['agent']} wandered in at column {e['col']}, row {e['row']}")
        elif kind == "rumour":
            lines.append(f"⚑ {e['text']}")
    return lines
