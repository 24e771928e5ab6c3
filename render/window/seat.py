"""The desktop window's seat: `t` takes a seat (each press moves to the next agent, then the patron, then
leaves), and while the world asks the seat, a panel over the scene shows the agent's observation and the
form built from its own action schema (render/paint/form.py).

    keys in the form   ↑/↓ (or tab) field · ←/→ change the value (choices cycle, numbers step)
                       typing edits a text field (backspace deletes) · enter submits

The world waits up to the seat's timeout (agents/backends/human.py), then the seat no-ops, as on the web.
When the agent played leaves the world, the status line says so and the seat ends.
"""
from __future__ import annotations

import textwrap

from PIL import Image, ImageDraw

from agents.backends.human import SEAT_TIMEOUT_S
from render.paint import form, look
from render.live.seat import PATRON, Asked, Seating

PANEL_W = 380
ROW = 18


class WindowSeat:
    def __init__(self, source, timeout: float = SEAT_TIMEOUT_S):
        self.seating = Seating.of(source.engine) if getattr(source, "live", False) else None
        self.timeout = timeout
        self.at = -1  # index into seating.choices() of the seat taken; -1: none
        self.asked: Asked | None = None
        self.values: list = []
        self.focus = 0

    def cycle(self) -> str:
        """`t`: the next seat in turn (every agent, then the patron), then leave; returns a line to show."""
        if self.seating is None:
            return "seats are taken only in a live run"
        choices = self.seating.choices()
        self.at += 1
        if self.at >= len(choices):
            self.leave()
            return "you left the seat: every agent follows its policy"
        try:
            return self.seating.take(choices[self.at], self.timeout)
        except ValueError as exc:
            self.at = -1
            return str(exc)

    def leave(self) -> None:
        if self.seating is not None:
            self.seating.leave()
        self.at, self.asked = -1, None

    def departed(self) -> str | None:
        """A line once the agent played has left the world (the seat has then ended), else None."""
        said = self.seating.departed() if self.seating is not None else None
        if said:
            self.at, self.asked = -1, None
        return said

    def refresh(self) -> bool:
        """Follow the seat: a new question brings a fresh form. True when the panel changed."""
        asked = self.seating.asked() if self.seating is not None else None
        if (asked and asked.key) == (self.asked and self.asked.key):
            return False
        self.asked, self.values, self.focus = asked, form.defaults(asked.fields) if asked else [], 0
        return True

    def key(self, name: str, text: str = "") -> str | None:
        """A key pressed while a form is shown: consumed (returns a line to show, or "") or not (None)."""
        if self.asked is None or not self.asked.fields and name not in ("return", "enter"):
            return None
        fields = self.asked.fields
        f = fields[self.focus] if fields else None
        if name in ("return", "enter"):
            said = self.seating.submit(self.asked, self.values)
            if self.asked.who == PATRON:
                self.asked = None  # a fresh patron form next frame
            return said
        if name in ("up", "down", "tab"):
            self.focus = (self.focus + (-1 if name == "up" else 1)) % len(fields)
            return ""
        if name in ("left", "right"):
            self.values[self.focus] = form.step(f, self.values[self.focus], -1 if name == "left" else 1)
            return ""
        if f.kind == "string":
            current = self.values[self.focus] or ""
            if name == "backspace":
                self.values[self.focus] = current[:-1]
                return ""
            if text and text.isprintable() and (f.max_length is None or len(current) < f.max_length):
                self.values[self.focus] = current + text
                return ""
        return None

    def panel(self, height: int) -> Image.Image:
        """The form over the right of the scene: whom you play, what it sees, the fields, the time left."""
        img = Image.new("RGB", (PANEL_W, height), (250, 248, 240))
        d = ImageDraw.Draw(img)
        asked = self.asked
        left = asked.seconds_left()
        head = f"you play {asked.who}" + (f" · {left:.0f} s left" if left is not None else "")
        look.text_box(d, (10, 12), head, 13, anchor="lm", bold=True)
        y = 30
        for line in textwrap.wrap(asked.text, 58)[:8]:
            look.text_box(d, (10, y), line, 11, fill=(70, 70, 70), anchor="lm")
            y += 14
        y += 6
        greyed = form.hidden(asked.fields, self.values)
        for k, (f, value, hidden) in enumerate(zip(asked.fields, self.values, greyed)):
            if y > height - 2 * ROW:
                break
            if k == self.focus:
                d.rectangle((4, y - ROW / 2, PANEL_W - 4, y + ROW / 2), fill=(255, 226, 150))
            ink = (160, 160, 160) if hidden else (20, 20, 20)
            look.text_box(d, (10, y), f.label, 12, fill=ink, anchor="lm")
            look.text_box(d, (PANEL_W - 10, y), f"‹ {form.shown(f, value)} ›", 12, fill=ink, anchor="rm")
            y += ROW
        help_ = "↑↓ field · ←→ change · type text · enter submit · t next seat"
        look.text_box(d, (10, height - 12), help_, 11, fill=(90, 90, 90), anchor="lm")
        return img
