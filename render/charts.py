"""A run's numbers as one picture (matplotlib, no pyplot: figures are per call, so threads and sessions
never share one). Panels are picked from the metrics a world records, so any world gets charts:

    prices (any dict metric: one line per key) | wealth per creature, Gini in the title | Gini over time
    mood                                       | trades per turn                       | valid/repaired/noop
Worlds without some of these fill the free panels with their other numbers.
"""
from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from render import look
from render.view import goods_of, is_wood
from sim.records import Turn

STATUS = ("valid", "repaired", "noop")
SKIP = {*STATUS, "llm_calls", "turn_seconds"}
PANELS = 6


def charts(turns: list[Turn], size: tuple[int, int] = (960, 480)) -> Image.Image:
    """The dashboard for `turns` (oldest first) as a PIL image."""
    fig = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(2, 3).ravel()
    plots = _plots(turns)
    for ax, plot in zip(axes, plots):
        plot(ax)
        ax.tick_params(labelsize=7)
        ax.title.set_fontsize(9)
    for ax in axes[len(plots):]:
        ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return Image.open(buf).convert("RGB")


def _plots(turns: list[Turn]) -> list:
    if not turns:
        return []
    x = [t.turn for t in turns]
    last = turns[-1]
    series = lambda key: [t.metrics.get(key, np.nan) for t in turns]  # noqa: E731
    legends = [t.turn for t in turns if t.legends]
    plots = []
    for key, value in last.metrics.items():
        if isinstance(value, dict):
            plots.append(lambda ax, key=key: _lines(ax, x, legends, key, {k: [(t.metrics.get(key) or {}).get(k, np.nan)
                                                                     for t in turns] for k in last.metrics[key]}))
    if is_wood(last.state):
        plots.append(lambda ax: _wealth(ax, last))
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


def _lines(ax, x, legends, title, columns: dict[str, list]) -> None:
    _legends(ax, legends)
    for k, ys in columns.items():
        ax.plot(x, ys, label=k, color=np.array(look.colour_of(k)) / 255, lw=1.6)
    ax.set_title(title)
    ax.legend(fontsize=6, ncol=2, frameon=False)


def _line(ax, x, legends, ys, title) -> None:
    _legends(ax, legends)
    ax.plot(x, ys, color="#2a6f97", lw=1.6)
    if title == "mean mood":
        ax.set_ylim(0, 1)
    ax.set_title(title)


def _wealth(ax, turn: Turn) -> None:
    s = turn.state
    wealth = np.asarray(s["pebbles"], float) + np.asarray(s["stock"], float) @ np.asarray(s["prices"], float)
    goods = goods_of(turn)
    order = np.argsort(wealth)
    if len(wealth) > 100:  # a thousand bars cost a second to draw and read as one shape anyway
        ax.fill_between(np.arange(len(wealth)), wealth[order], color="#b07d3a", lw=0)
    else:
        colours = [np.array(look.colour_of(goods[s["trade"][i]] if goods else "")) / 255 for i in order]
        ax.bar(np.arange(len(wealth)), wealth[order], color=colours, width=0.8)
    ax.set_title(f"wealth per creature · Gini {turn.metrics.get('gini', 0):.3f}")
    ax.set_xticks([])


def _status(ax, x, counts: dict[str, list]) -> None:
    ys = [np.nan_to_num(np.asarray(counts[k], float)) for k in STATUS]
    ax.stackplot(x, *ys, labels=STATUS, colors=[np.array(look.STATUS_COLOURS[k]) / 255 for k in STATUS])
    ax.set_title("decisions: valid / repaired / no-op")
    ax.legend(fontsize=6, frameon=False, loc="lower left")
