"""How the commons is drawn: fishers round a lake whose fish stock stands large in the middle, coloured by
temperament, each with its catch; messages in speech bubbles; the legend in force in the banner. Reads
only a Turn record, as every viewer must."""
from __future__ import annotations

from sim.portrayal import Glyph, Portrait, Theme, describe
from sim.records import Turn

COLOURS = {"cautious": (46, 134, 171), "fair": (94, 160, 80), "greedy": (214, 90, 49)}


def portrait(turn: Turn) -> Portrait:
    s = turn.state
    decided = {d.agent: d.action for d in turn.decisions}
    glyphs = {name: Glyph(label=name, role=s["temperament"][i], shape="",
                          numbers={"caught": float(s["caught"][i]), "last catch": float(s["last_catch"][i])},
                          action=describe(decided[name]) if name in decided else "")
              for i, name in enumerate(s["names"])}
    theme = Theme(background="water", colours=COLOURS, centre="stock", title=f"{s['stock']} fish in the lake",
                  spread="caught")
    return Portrait(glyphs, [], theme, banner(turn), log(turn))


def banner(turn: Turn) -> tuple[str, str]:
    """(title, rumour) of a legend that began this turn or whose effect still lasts."""
    active = [e for e in turn.state.get("effects") or [] if e.get("from", 0) <= turn.turn < e.get("until", 0)]
    if not (turn.legends or active):
        return "", ""
    said = (turn.state.get("rumours") or [""])[-1]
    title, sep, text = str(said).partition(": ")
    if not sep:
        title = (turn.legends or [active[-1]["legend"]])[-1].replace("_", " ").title()
    return title, text.strip('"')


def log(turn: Turn) -> list[str]:
    lines = []
    for e in turn.events:
        kind = e.get("kind")
        if kind == "catch":
            lines.append(f"🎣 caught {e['units']} of {e['asked']} asked")
        elif kind in ("outsiders", "regrowth"):
            lines.append(f"• {kind}: {e['units']} fish")
        elif kind == "collapse":
            lines.append(f"✖ the lake collapsed at {e['stock']} fish")
        elif kind == "rumour":
            lines.append(f"⚑ {e.get('text', '')}")
    return lines
