"""The web demo's "World parameters" block: one box per parameter of the chosen world, built from the same
facts `python -m sim describe` prints (sim.describe.param_facts): the box is named after the parameter and
says its type, bounds, default and description. The values a tab changed are kept in a gr.State as {name:
value} (a box put back to its default, or left blank, drops out); the next world the tab makes (Start on a new
tab, Step, Reset) is made with them, and Controls.setup refuses a value out of bounds in one line that
names the box.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from sim import registry
from sim.describe import BOUNDS, param_facts, shown_default


def about(fact: dict[str, Any]) -> str:
    """A parameter's facts in one line, e.g. "int, >= 3, <= 1000000, default 20: starting pebbles"."""
    kind = "one of " + ", ".join(map(str, fact["choices"])) if fact["type"] == "choice" else fact["type"]
    bounds = [f"{sign} {fact['bounds'][attr]}" for attr, sign in BOUNDS if attr in fact["bounds"]]
    blank = " (blank: default)" if fact["optional"] else ""
    said = ", ".join([kind, *bounds, f"default {shown_default(fact)}{blank}"])
    return f"{said}: {fact['description']}" if fact["description"] else said


def box(fact: dict[str, Any]):
    """The input for one parameter. Numbers get no minimum or maximum: Gradio's own refusal names no box,
    while Controls.setup's does (the bounds are written under the box instead)."""
    common = {"label": fact["name"], "info": about(fact), "elem_id": f"param-{fact['name']}", "interactive": True}
    if fact["type"] == "choice":
        return gr.Dropdown([(str(c), c) for c in fact["choices"]], value=fact["default"], **common)
    if fact["type"] == "bool":
        return gr.Checkbox(bool(fact["default"]), **common)
    if fact["type"] in ("int", "float") and not fact["optional"]:
        return gr.Number(fact["default"], precision=0 if fact["type"] == "int" else None, **common)
    # text, and numbers that may be left blank (gr.Number sends 0 for an emptied box, not None)
    return gr.Textbox("" if fact["default"] is None else str(fact["default"]), **common)


def changed(params: dict | None, name: str, value: Any, default: Any) -> dict:
    """The tab's parameters after box `name` changed to `value`: a new dict, without `name` when the box
    holds the default again or was emptied."""
    kept = {k: v for k, v in (params or {}).items() if k != name}
    if value is None or value == "" or value == default or (default is not None and str(value) == str(default)):
        return kept
    return {**kept, name: value}


def params_block(world: gr.Dropdown, params: gr.State) -> None:
    """The block, inside the demo's Blocks: the chosen `world`'s boxes, each writing into `params`."""
    with gr.Accordion("World parameters (apply with Reset)", open=False, elem_id="params"):
        @gr.render(inputs=[world])
        def boxes(name: str | None):
            facts = param_facts(registry.get_world(name).Params) if name else []
            if not facts:
                gr.Markdown("This world has no parameters.")
            for fact in facts:
                b = box(fact)
                b.change(lambda p, v, n=fact["name"], d=fact["default"]: changed(p, n, v, d), [params, b], [params],
                         api_visibility="private")
