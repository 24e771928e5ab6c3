"""The web demo's Blocks: the page (render/web/page.py) with each click wired to its control
(render/web/controls.py) and the inputs it reads. `app.py` serves it; modal_deploy.py mounts it."""
from __future__ import annotations

import os

import gradio as gr

from render.live.run import PolicyFactory
from render.web.controls import Controls
from render.web.page import lay_out
from render.web.session import Sessions


def defaults(policy, backend, model) -> tuple[str, str, str]:
    return (policy or os.environ.get("SMALLWORLDS_POLICY", "llm"),
            backend or os.environ.get("SMALLWORLDS_BACKEND", "auto"),
            model if model is not None else os.environ.get("SMALLWORLDS_MODEL", ""))


def build_demo(policy_factory: PolicyFactory | None = None, *, policy: str | None = None,
               backend: str | None = None, model: str | None = None, sessions: Sessions | None = None) -> gr.Blocks:
    """The demo's Blocks. `policy_factory(name, PolicyOptions) -> Policy` replaces sim.cli.make_policy (the
    Modal deployment passes one); defaults come from the arguments, else SMALLWORLDS_POLICY / _BACKEND /
    _MODEL, else the embedded model (llm, auto)."""
    sessions = sessions or Sessions()
    with gr.Blocks(title="smallworlds") as demo:
        p = lay_out(sessions, *defaults(policy, backend, model))
        do = Controls(p, sessions, policy_factory)
        private = {"api_visibility": "private"}
        p.start.click(do.play, [p.session, p.speed, *p.settings], p.views, api_name="play")
        p.fallback.click(lambda: "scripted", None, [p.policy], **private).then(
            do.renew, [p.session, *p.settings], p.views, **private)
        p.pause.click(do.halt, [p.session], [p.status], api_name="pause")
        p.step.click(do.one, [p.session, *p.settings], p.views, api_name="step")
        p.reset.click(do.renew, [p.session, *p.settings], p.views, api_name="reset")
        p.speed.change(do.pace, [p.session, p.speed], None, **private)
        p.tell.click(do.tell, [p.session, p.legend], [p.status], api_name="legend")
        p.spread.click(do.spread, [p.session, p.rumour], [p.status], api_name="rumour")
        p.world.change(do.legends, [p.world], [p.legend, p.branch_legend, p.params], **private)
        p.branch_go.click(do.branch_off, [p.session, p.branch, p.branch_at, p.branch_legend, p.branch_turns],
                          [p.branch, p.branch_charts, p.branch_status, p.branch_download], api_name="branch")
    # tabs must not queue behind each other: the shared model is the only thing they wait for
    return demo.queue(default_concurrency_limit=None, max_size=256)
