"""A run's numbers as one picture (matplotlib, no pyplot: figures are per call, so threads and sessions
never share one). Panels are picked from the metrics a world records, so any world gets charts:

    every dict metric (prices: one line per key) | the spread over agents of the number the world's theme
    names (wealth per creature) | Gini, mood, trades over time | the world's other numbers | valid/repaired/noop
Worlds without some of these fill the free panels with their other numbers.
"""
from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from render.paint import look
from render.paint.view import Portray, portrayed
from sim.portrayal import Portrait
from sim.records import ENGINE_METRICS, Turn

STATUS = ("valid", "repaired", "noop")
SKIP = set(ENGINE_METRICS)
PANELS = 6
SPREAD = "spread"  # the label of the one panel whose x axis is not turns


def charts(turns: list[Turn], size: tuple[int, int] = (960, 480), portray: Portray | None = None) -> Image.Image:
    """The dashboard for `turns` (oldest first) as a PIL image; `portray` (the world's drawing hook) gives
    the per-agent number to chart and the colours."""
    fig = _figure(size)
    _dashboard(fig, turns, portray)
    return _image(fig)


def compare(timelines: list[tuple[str, list[Turn]]], size: tuple[int, int] = (1800, 540),
            portray: Portray | None = None, mark: int | None = None) -> Image.Image:
    """Several timelines' dashboards side by side, each under its title, over the same span of turns, so
    that a panel on the left and the one beside it read alike (e.g. a run and a fork of it); `mark`: a turn
    to mark in every panel with a dashed line (where a fork began)."""
    fig = _figure(size)
    turns = [t.turn for _, timeline in timelines for t in timeline]
    first = min(turns, default=0)
    span = (first, max(max(turns, default=0), first + 1))  # one turn alone still gets an axis of width 1
    for sub, (title, timeline) in zip(np.atleast_1d(fig.subfigures(1, len(timelines))), timelines):
        sub.suptitle(title, fontsize=10)
        for ax in _dashboard(sub, timeline, portray):
            if ax.get_label() != SPREAD:  # every other panel has turns along x
                ax.set_xlim(*span)
                if mark is not None:
                    ax.axvline(mark, color="#555555", lw=0.8, ls="--")
    return _image(fig)


def _figure(size: tuple[int, int]) -> Figure:
    fig = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    fig.set_layout_engine("constrained")
    return fig


def _dashboard(fig, turns: list[Turn], portray: Portray | None) -> list:
    """Draw the panels of `turns` on `fig` (a figure or subfigure); the axes drawn on, in order."""
    axes = fig.subplots(2, 3).ravel()
    plots = _plots(turns, portrayed(turns[-1], portray) if turns else None)
    for ax, plot in zip(axes, plots):
        plot(ax)
        ax.tick_params(labelsize=7)
        ax.title.set_fontsize(9)
    for ax in axes[len(plots):]:
        ax.set_axis_off()
    return list(axes[:len(plots)])


def _image(fig: Figure) -> Image.Image:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return Image.open(buf).convert("RGB")


def _plots(turns: list[Turn], drawn: Portrait | None) -> list:
    if not turns:
        return []
    x = [t.turn for t in turns]
    last = turns[-1]
    colours = drawn.theme.colours if drawn else {}
    series = lambda key: [t.metrics.get(key, np.nan) for t in turns]  # noqa: E731
    legends = [t.turn for t in turns if t.legends]
    plots = []
    for key, value in last.metrics.items():
        if isinstance(value, dict):
            plots.append(lambda ax, key=key: _lines(ax, x, legends, key, {k: [(t.metrics.get(key) or {}).get(k, np.nan)
                                                                     for t in turns] for k in last.metrics[key]},
                                                    colours))
    if drawn and drawn.theme.spread:
        plots.append(lambda ax: _spread(ax, last, drawn))
    for key, title in (("gini", "Gini (wealth inequality)"), ("mood", "mean mood"), ("trades", "trades per turn")):
        if key in last.metrics:
            plots.append(lambda ax, key=key, title=title: _line(ax, x, legends, series(key), title))
    shown = {"gini", "mood", "trades"}
    for key, value in last.metrics.items():
        if len(plots) >= PANELS - 1:
            break
        if key not in SKIP | shown and isinstance(value, (int, float)) and not isinstance(value, bool):
            plots.append(lambda ax, key=key: _line(ax, x, legends, series(key), key))
    plots = plots[:PANELS - 1]
    plots.append(lambda ax: _status(ax, x, {k: series(k) for k in STATUS}))
    return plots


def _legends(ax, legends: list[int]) -> None:
    """Dotted red lines where legends began: the eye looks for their effect just after."""
    for t in legends:
        ax.axvline(t, color="#c0392b", lw=0.8, ls=":")


def _lines(ax, x, legends, title, columns: dict[str, list], colours: dict) -> None:
    _legends(ax, legends)
    for k, ys in columns.items():
        ax.plot(x, ys, label=k, color=np.array(look.colour_of(k, colours)) / 255, lw=1.6)
    ax.set_title(title)
    ax.legend(fontsize=6, ncol=2, frameon=False)


def _line(ax, x, legends, ys, title) -> None:
    _legends(ax, legends)
    ax.plot(x, ys, color="#2a6f97", lw=1.6)
    if title == "mean mood":
        ax.set_ylim(0, 1)
    ax.set_title(title)


def _spread(ax, turn: Turn, drawn: Portrait) -> None:
    """The theme's per-agent number over all agents, sorted, each bar in its agent's colour."""
    key = drawn.theme.spread
    ax.set_label(SPREAD)
    glyphs = [g for g in drawn.glyphs.values() if key in g.numbers]
    values = np.array([g.numbers[key] for g in glyphs], float)
    order = np.argsort(values)
    if len(values) > 100:  # a thousand bars cost a second to draw and read as one shape anyway
        ax.fill_between(np.arange(len(values)), values[order], color="#b07d3a", lw=0)
    else:
        colours = [np.array(glyphs[i].colour or look.colour_of(glyphs[i].role, drawn.theme.colours)) / 255
                   for i in order]
        ax.bar(np.arange(len(values)), values[order], color=colours, width=0.8)
    gini = turn.metrics.get("gini")
    ax.set_title(f"{key} per agent" + (f" · Gini {gini:.3f}" if isinstance(gini, (int, float)) else ""))
    ax.set_xticks([])


def _status(ax, x, counts: dict[str, list]) -> None:
    ys = [np.nan_to_num(np.asarray(counts[k], float)) for k in STATUS]
    ax.stackplot(x, *ys, labels=STATUS, colors=[np.array(look.STATUS_COLOURS[k]) / 255 for k in STATUS])
    ax.set_title("decisions: valid / repaired / no-op")
    ax.legend(fontsize=6, frameon=False, loc="lower left")
