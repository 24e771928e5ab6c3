"""The web page's layout (`lay_out`, one screen) and its components by name (`Page`): the controls
(render/web/controls.py) return updates keyed by these, and render/web/demo.py wires clicks to controls."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from render.live.branch import MAX_AHEAD
from render.paint import panels
from render.web.params import params_block
from render.web.seat import seat_block
from render.web.session import Sessions
from sim import registry
from sim.engine import MAX_RUMOUR_CHARS

SESSION_TTL_S = 3 * 3600
DEFAULT_CREATURES = 5  # the creatures box starts here, and a blank box means it
BACKENDS = ["auto", "vllm", "embedded", "openai", "modal"]


@dataclass
class Page:
    """Every component a control reads or updates, by name."""

    session: gr.State
    scene: gr.Image
    charts: gr.Image
    cards: gr.HTML
    world: gr.Dropdown
    agents: gr.Number
    seed: gr.Number
    policy: gr.Dropdown
    backend: gr.Dropdown
    model: gr.Textbox
    params: gr.State
    start: gr.Button
    pause: gr.Button
    step: gr.Button
    reset: gr.Button
    speed: gr.Slider
    legend: gr.Dropdown
    tell: gr.Button
    rumour: gr.Textbox
    spread: gr.Button
    download: gr.DownloadButton
    status: gr.HTML
    fallback: gr.Button
    log: gr.HTML
    branch: gr.State
    branch_at: gr.Number
    branch_legend: gr.Dropdown
    branch_turns: gr.Number
    branch_go: gr.Button
    branch_status: gr.HTML
    branch_charts: gr.Image
    branch_download: gr.DownloadButton

    @property
    def settings(self) -> list:
        """The inputs a new world is made from, in Controls.setup's order."""
        return [self.world, self.agents, self.seed, self.policy, self.backend, self.model, self.params]

    @property
    def views(self) -> list:
        """What a played turn may update."""
        return [self.scene, self.charts, self.log, self.cards, self.status, self.download, self.session,
                self.fallback]


def legends_of(world: str) -> list[str]:
    return sorted(registry.get_world(world).legends)


def _image(name: str, label: str) -> gr.Image:
    return gr.Image(label=label, show_label=False, type="pil", format="png", interactive=False, buttons=[],
                    elem_id=name)


def lay_out(sessions: Sessions, policy: str, backend: str, model: str) -> Page:
    """The components, inside the caller's Blocks: the world and its charts on the left, the controls and
    the event log on the right, the seat and the branch under them."""
    worlds = registry.world_names()
    first = "wood" if "wood" in worlds else worlds[0]
    c: dict = {"session": gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=sessions.remove)}
    gr.Markdown("## smallworlds · small language models living in a small world")
    with gr.Row():
        with gr.Column(scale=3):
            c["scene"], c["charts"] = _image("scene", "the world"), _image("charts", "charts")
            c["cards"] = gr.HTML(panels.cards_html(None), elem_id="cards")
        with gr.Column(scale=2):
            with gr.Row():
                c["world"] = gr.Dropdown(worlds, value=first, label="world")
                # bounds are checked in Controls.setup, whose refusal names the box (Gradio's own names no box)
                c["agents"] = gr.Number(DEFAULT_CREATURES, label="creatures", precision=0)
                c["seed"] = gr.Number(0, label="seed", precision=0)
            with gr.Row():
                c["policy"] = gr.Dropdown(registry.names(registry.POLICIES), value=policy, label="policy")
                c["backend"] = gr.Dropdown(BACKENDS, value=backend, label="backend", allow_custom_value=True)
                c["model"] = gr.Textbox(model, label="model (blank: auto)")
            c["params"] = gr.State({})  # the world parameters this tab changed: {name: value}
            params_block(c["world"], c["params"])
            with gr.Row():
                c["start"] = gr.Button("▶ Start", variant="primary", elem_id="start")
                c["pause"] = gr.Button("❚❚ Pause", elem_id="pause")
                c["step"] = gr.Button("Step", elem_id="step")
                c["reset"] = gr.Button("↺ Reset (apply settings)", elem_id="reset")
            c["speed"] = gr.Slider(0, 3, value=0.5, step=0.1, label="seconds between turns", elem_id="speed")
            with gr.Row():
                c["legend"] = gr.Dropdown(legends_of(first), label="legend", scale=2, elem_id="legend")
                c["tell"] = gr.Button("Tell it now", elem_id="tell", scale=1)
            with gr.Row():
                c["rumour"] = gr.Textbox(label="your own rumour", elem_id="rumour", max_length=MAX_RUMOUR_CHARS,
                                         scale=2, placeholder="e.g. the honey bees are leaving the wood")
                c["spread"] = gr.Button("Spread it", elem_id="spread", scale=1)
            c["download"] = gr.DownloadButton("⬇ Download trace", value=None, elem_id="download")
            c["status"] = gr.HTML(elem_id="status")
            c["fallback"] = gr.Button("Use the scripted policy", elem_id="use-scripted", visible=False)
            c["log"] = gr.HTML(label="events", elem_id="log")
            seat_block(c["session"])  # "Take a seat": play a creature or the patron (render/web/seat.py)
    with gr.Accordion("Branch from this turn", open=False, elem_id="branch-box"):
        with gr.Row():
            c["branch_at"] = gr.Number(None, label="first turn that differs (blank: the next)", precision=0,
                                       minimum=0, elem_id="branch-at")
            c["branch_legend"] = gr.Dropdown(legends_of(first), value=None, label="with a legend (optional)",
                                             elem_id="branch-legend")
            c["branch_turns"] = gr.Number(10, label="turns to play", precision=0, minimum=1, maximum=MAX_AHEAD,
                                          elem_id="branch-turns")
            c["branch_go"] = gr.Button("Branch", elem_id="branch")
        c["branch_status"] = gr.HTML(elem_id="branch-status")
        c["branch_charts"] = _image("branch-charts", "both timelines")
        c["branch_download"] = gr.DownloadButton("⬇ Download the branch's trace", value=None,
                                                 elem_id="branch-download")
    c["branch"] = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda b: b and b.close())
    return Page(**c)
