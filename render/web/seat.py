"""The web demo's "Take a seat" block: play one creature of this tab's world (its observation and a form
built from its own action schema, each turn the world asks; an array's slots past its "how many" are
hidden until the count reaches them) or the patron. The logic is render/live/seat.py's,
shared with the window; this file only lays it out in Gradio and wires the events.

A timer (active while a seat is taken) follows the seat once a second: a new question changes `key`, and
`key` changing renders the question's form afresh; when the seated creature has left the world, the note
says so and the seat ends. API (gradio_client): /seat_take (who, seconds),
/seat_question (what is asked now, as JSON), /seat_answer (reply JSON text), /seat_leave.
"""
from __future__ import annotations

import contextlib
import json
from html import escape

import gradio as gr

from agents.backends.human import SEAT_TIMEOUT_S
from render.paint import form
from render.paint.form import Field
from render.live.seat import PATRON, Asked, Seating


def _seating(s) -> Seating | None:
    engine = s.live.engine if s is not None else None  # None once the session is closed
    return Seating.of(engine) if engine is not None else None


def _line(text: str) -> str:
    return f"<div>{escape(text)}</div>"


def _component(f: Field, i: int, visible: bool):
    common = {"label": f.label, "elem_id": f"seat-field-{i}", "visible": visible}
    if f.kind == "count":
        return gr.Radio(list(range(int(f.low or 0), int(f.high) + 1)), value=f.default, **common)
    if f.kind == "enum":
        return gr.Dropdown([(str(c), c) for c in f.choices], value=f.default, **common)
    if f.kind in ("integer", "number") and (f.optional or f.omittable):
        # gr.Number sends 0 for an untouched empty box; a text box left empty stays empty, so the key is left out
        low, high = ("" if bound is None else f"{bound:g}" for bound in (f.low, f.high))
        return gr.Textbox("" if f.default is None else str(f.default), placeholder=f"{low}–{high}", **common)
    if f.kind in ("integer", "number"):
        return gr.Number(f.default, precision=0 if f.kind == "integer" else None, minimum=f.low, maximum=f.high,
                         **common)
    if f.kind == "boolean":
        return gr.Checkbox(bool(f.default), **common)
    return gr.Textbox(f.default or "", max_length=f.max_length, **common)


def seat_block(session: gr.State) -> None:
    """The block, inside the demo's Blocks; `session` is the tab's Session state."""
    with gr.Accordion("Take a seat", open=False, elem_id="seat") as box:
        gr.Markdown("Play one creature (each turn the world waits for your answer, then it no-ops) or "
                    "the patron (each act you submit is applied at the start of the next turn).")
        with gr.Row():
            who = gr.Dropdown([], label="play", allow_custom_value=True, elem_id="seat-who", scale=2)
            wait = gr.Number(SEAT_TIMEOUT_S, label="seconds the world waits", precision=0, minimum=1, maximum=600,
                             elem_id="seat-wait", scale=1)
        with gr.Row():
            take = gr.Button("Take the seat", elem_id="seat-take")
            leave = gr.Button("Leave the seat", elem_id="seat-leave")
        note = gr.HTML(elem_id="seat-note")
        key = gr.State(None)
        timer = gr.Timer(1.0, active=False)

        @gr.render(inputs=[session, key], triggers=[key.change])
        def show(s, k):
            seating = _seating(s)
            asked = seating.asked() if seating else None
            if asked is not None and k is not None and list(asked.key) == list(k):
                _form(asked, session, note)

    box.expand(_choices, [session], [who], api_visibility="private")
    take.click(_sit, [session, who, wait], [note, key, timer], api_name="seat_take")
    leave.click(_stand, [session], [note, key, timer], api_name="seat_leave")
    timer.tick(_follow, [session, key], [key, note, timer], api_visibility="private", show_progress="hidden")
    gr.Button(visible=False).click(_question, [session], [gr.Textbox(visible=False)], api_name="seat_question")
    gr.Button(visible=False).click(_answer, [session, gr.Textbox(visible=False)], [note], api_name="seat_answer")


def _form(asked: Asked, session: gr.State, note: gr.HTML) -> None:
    """The question's observation and form, inside the seat's gr.render; Submit answers it."""
    gr.HTML(f'<pre id="seat-observation" style="white-space:pre-wrap">{escape(asked.text)}</pre>')
    groups: list[tuple] = []  # (array slot or None, [(index, field)]): one slot's fields side by side
    for i, f in enumerate(asked.fields):
        slot = f.path[:-1] if len(f.path) > 1 and isinstance(f.path[-2], int) else None
        if slot is not None and groups and groups[-1][0] == slot:
            groups[-1][1].append((i, f))
        else:
            groups.append((slot, [(i, f)]))
    past = form.hidden(asked.fields, form.defaults(asked.fields))
    fields = []
    for slot, members in groups:
        with gr.Row() if slot is not None else contextlib.nullcontext():
            fields += [_component(f, i, not past[i]) for i, f in members]
    submit = gr.Button("Submit", variant="primary", elem_id="seat-submit")

    def slots(*values):  # a "how many" or a variant's branch changed: show the slots it counts, the branch chosen
        return [gr.update(visible=not h) for h in form.hidden(asked.fields, list(values))]

    for f, component in zip(asked.fields, fields):
        if f.kind == "count" or f.chooses:
            component.change(slots, fields, fields, api_visibility="private", show_progress="hidden")

    def send(s, *values):
        seating = _seating(s)
        return _line(seating.submit(asked, list(values)) if seating else "this world has closed")

    submit.click(send, [session, *fields], [note], api_visibility="private")


def _choices(s):
    seating = _seating(s)
    names = seating.choices() if seating else []
    return gr.Dropdown(choices=names, value=seating.who if seating and seating.who else None)


def _sit(s, name, seconds):
    seating = _seating(s)
    if seating is None:
        return _line("Start, Step or Reset a world first."), None, gr.Timer(active=False)
    try:
        said = seating.take(name or "", float(seconds or SEAT_TIMEOUT_S))
    except ValueError as exc:
        return _line(f"error: {exc}"), None, gr.skip()
    return _line(said), None, gr.Timer(active=True)


def _stand(s):
    seating = _seating(s)
    if seating is not None:
        seating.leave()
    return _line("you left the seat: every creature follows its policy"), None, gr.Timer(active=False)


def _follow(s, k):
    """Once a second while seated: a new question changes the key (and so the form)."""
    seating = _seating(s)
    if seating is None:
        return gr.skip(), gr.skip(), gr.Timer(active=False)
    gone = seating.departed()
    if gone:
        return None, _line(gone), gr.Timer(active=False)
    if seating.who is None:
        return gr.skip(), gr.skip(), gr.Timer(active=False)
    asked = seating.asked()
    new = list(asked.key) if asked else None
    if asked is None:
        line = f"you play {seating.who}: the world asks you when its next turn begins (Step or Start)"
    elif asked.who == PATRON:
        line = "you are the patron: submit an act for the next turn"
    else:
        line = f"turn {asked.key[1]}: the world is waiting for you · {asked.seconds_left():.0f} s left"
    return (new if new != k else gr.skip()), (_line(line) if new != k or asked else gr.skip()), gr.skip()


def _question(s) -> str:
    seating = _seating(s)
    asked = seating.asked() if seating else None
    if asked is None:
        return ""
    return json.dumps({"key": list(asked.key), "who": asked.who, "text": asked.text,
                       "fields": [f.label for f in asked.fields]})


def _answer(s, text):
    seating = _seating(s)
    asked = seating.asked() if seating else None
    if asked is None:
        return _line("nothing is asked of your seat now")
    return _line(seating.answer(asked, text or ""))
