"""A second timeline beside a live run: a fork of the run on screen from one of its turns (sim.fork), played in
its own folder, and both timelines' charts side by side. The web demo's "branch from this turn" is this."""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from PIL import Image

from render.paint.charts import compare
from render.paint.view import Portray
from sim.fork import Source, fork
from sim.records import Turn
from sim.trace import TRACE

MAX_AHEAD = 200  # turns a branch may play; its turns are kept (slimmed) for the charts


class Branch:
    """A fork of `source` whose turns from `at` on (None: the turn after the source's last) are its own,
    starting `legend` (if any) at `at`, `ahead` turns long. Its policy is the source's, built by `factory`
    (as RunConfig.make_policy's); its folder lies under `root` (None: the system's temp folder). Raises
    sim.errors.UserError (a turn outside the source, a policy that cannot start) or ValueError (an unknown
    legend), leaving nothing behind."""

    def __init__(self, source: Source, at: int | None, legend: str | None, ahead: int, *,
                 factory: Callable | None = None, announce: Callable[[str], None] = lambda line: None,
                 root: Path | None = None):
        self.at = len(source.turns) if at is None else at
        self.legend, self.ahead = legend, max(1, min(ahead, MAX_AHEAD))
        self.dir = Path(tempfile.mkdtemp(prefix="smallworlds-branch-", dir=root))
        try:
            self.engine = fork(source, self.at, out=self.dir / "run", legends={self.at: [legend]} if legend else None,
                               turns=self.at + self.ahead, factory=factory, announce=announce)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.turns: list[Turn] = []  # the branch's own turns; all but the newest keep only what charts read

    @property
    def done(self) -> bool:
        return self.engine.turn >= self.at + self.ahead or self.engine.world.done(self.engine.state)

    def step(self) -> Turn:
        turn = self.engine.step()
        if self.turns:
            self.turns[-1] = dataclasses.replace(self.turns[-1], state={}, decisions=[], events=[])
        self.turns.append(turn)
        return turn

    @property
    def trace(self) -> Path:
        """The branch's own trace: the source's turns before `at`, then the branch's (read it between steps)."""
        return self.dir / "run" / TRACE

    @property
    def title(self) -> str:
        return f"branch from turn {self.at}" + (f" with {self.legend}" if self.legend else "")

    def picture(self, run: list[Turn], portray: Portray | None = None) -> Image.Image:
        """The run's charts (`run`: its turns, oldest first) and the branch's side by side. The branch's
        turns before `at` are the run's own, so they are drawn from `run`."""
        before = [t for t in run if t.turn < self.at]
        return compare([("this run", run), (self.title, before + self.turns)], portray=portray, mark=self.at)

    def close(self) -> None:
        self.engine.close()
        shutil.rmtree(self.dir, ignore_errors=True)
