"""HTML for the web page's event log and creature cards, from Turn records. Inline styles only: the page
may be mounted inside another app (Modal) whose CSS we do not control. Everything a model or a player wrote
is escaped."""
from __future__ import annotations

from html import escape
from render.paint import look
from render.paint.view import Figure, Portray, figures, portrayed
from sim.records import Turn

LOG_TURNS = 40
EACH_DECISION = 12  # up to this many agents the log lists every decision; beyond, only the unusual ones


def _rgb(c) -> str:
    return "#%02x%02x%02x" % tuple(c)


def _badge(status: str) -> str:
    return (f'<span style="background:{_rgb(look.STATUS_COLOURS.get(status, (120, 120, 120)))};color:#fff;'
            f'border-radius:4px;padding:0 4px;font-size:11px">{escape(status)}</span>')


def log_html(turns: list[Turn], limit: int = LOG_TURNS, portray: Portray | None = None) -> str:
    """The newest `limit` turns, newest first; each turn's lines come from the world's Portrait."""
    blocks = [_turn_block(t, portray) for t in reversed(turns[-limit:])]
    return ('<div id="event-log" style="max-height:420px;overflow-y:auto;font:13px/1.45 system-ui,sans-serif">'
            + "".join(blocks) + "</div>")


def _turn_block(turn: Turn, portray: Portray | None) -> str:
    drawn = portrayed(turn, portray)
    lines = []
    for e in turn.events:
        if e.get("kind") == "legend":
            lines.append(f'<div style="color:#b0182a;font-weight:600">⚑ legend: {escape(str(e.get("name")))}'
                         + (f' — “{escape(str(e["text"]))}”' if e.get("text") else "") + "</div>")
    if drawn.log is not None:
        lines += [f"<div>{escape(line)}</div>" for line in drawn.log]
    else:
        for e in turn.events:
            if e.get("kind") != "legend":
                detail = ", ".join(f"{k}={v}" for k, v in e.items() if k != "kind")[:160]
                lines.append(f"<div>• {escape(str(e.get('kind')))} {escape(detail)}</div>")
    actions = {name: g.action for name, g in drawn.glyphs.items()}
    for d in turn.decisions:
        say = d.action.get("say") if isinstance(d.action, dict) else None
        if say:
            lines.append(f'<div style="color:#555">❝ <b>{escape(d.agent)}</b>: “{escape(str(say))}”</div>')
    unusual = [d for d in turn.decisions if d.status != "valid" or d.backend == "human"]
    listed = turn.decisions if len(turn.decisions) <= EACH_DECISION else unusual[:EACH_DECISION]
    for d in listed:
        why = f' <i style="color:#888">{escape(d.reason)}</i>' if d.reason else ""
        who = f' <span class="human">👤 {escape(d.backend)}</span>' if d.backend == "human" else ""
        lines.append(f"<div>{_badge(d.status)} <b>{escape(d.agent)}</b>{who} "
                     f"{escape(actions.get(d.agent, ''))}{why}</div>")
    if len(turn.decisions) > EACH_DECISION:
        m = turn.metrics
        lines.append(f'<div style="color:#555">{len(turn.decisions)} decisions: {m.get("valid", 0)} valid, '
                     f'{m.get("repaired", 0)} repaired, {m.get("noop", 0)} no-op</div>')
    head = f"Turn {turn.turn}" + (f" · {escape(drawn.theme.title)}" if drawn.theme.title else "")
    return (f'<div class="turn" style="border-bottom:1px solid #ddd;padding:4px 2px">'
            f'<div style="font-weight:700">{head}</div>{"".join(lines)}</div>')


def cards_html(turn: Turn | None, portray: Portray | None = None) -> str:
    """One card per agent (or per group when there are too many), with its numbers and what it did."""
    if turn is None:
        return '<div style="color:#888">No creatures yet: press Start or Step.</div>'
    drawn = portrayed(turn, portray)
    cards = "".join(_card(f, drawn.theme.colours) for f in figures(turn, drawn))
    return f'<div style="display:flex;flex-wrap:wrap;gap:6px;font:12px/1.35 system-ui,sans-serif">{cards}</div>'


def _card(f: Figure, colours: dict) -> str:
    colour = _rgb(f.colour or look.colour_of(f.role, colours))
    who = escape(f.label) + (f" ×{f.count}" if f.count > 1 else "")
    kind = escape(" · ".join(x for x in (f.shape, f.role) if x))
    rows = [f'<div><b>{who}</b> <span style="color:#777">{kind}</span></div>']
    if f.at is not None:  # where it stands, as the world counts (a cell's column and row, or a point)
        rows.append(f'<div class="at">at {f.at[0]:.3g}, {f.at[1]:.3g}</div>')
    mean = " (mean)" if f.count > 1 else ""
    for k, v in list(f.numbers.items())[:4]:
        rows.append(f"<div>{escape(k)} {v:.3g}{mean}</div>")
    if f.held:
        chips = " ".join(f'<span style="border-left:8px solid {_rgb(look.colour_of(g, colours))};padding-left:3px">'
                         f"{escape(g)} {u:.3g}</span>" for g, u in f.held.items())
        rows.append(f"<div>{chips}</div>")
    if f.mood is not None:
        rows.append(f'<div title="mood {f.mood:.2f}" style="background:#ddd;height:6px;border-radius:3px">'
                    f'<div style="width:{100 * f.mood:.0f}%;height:6px;border-radius:3px;'
                    f'background:{_rgb(look.mood_colour(f.mood))}"></div></div>')
    status = " ".join(f"{_badge(s)}{'' if f.count == 1 else ' ' + str(c)}" for s, c in f.status.items())
    if f.count == 1 and f.action:
        status += f" {escape(f.action)}"
    if f.reason and f.count == 1:
        status += f'<div style="color:#a33">{escape(f.reason[:120])}</div>'
    if f.badge:
        status += f' <span style="color:#1f5fbf">{escape(f.badge)}</span>'
    rows.append(f"<div>{status}</div>")
    return (f'<div class="card" style="border:1px solid #ccc;border-top:4px solid {colour};border-radius:6px;'
            f'padding:4px 6px;width:190px;background:#fffdf7;color:#222">{"".join(rows)}</div>')
