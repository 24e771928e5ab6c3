"""check_world's report: problems collected in the order found, each once, and the JSON helpers its parts share."""
from __future__ import annotations

import contextlib
import json
import textwrap
import traceback
from typing import Any

MAX_PROBLEMS = 40
TRACEBACK_FRAMES = 8  # of a hook that raised, shown under its problem


class Report:
    """Problems in the order found, each reported once (for its first agent and turn)."""

    def __init__(self):
        self.problems: list[str] = []
        self._seen: set = set()

    def add(self, message: str, key: object = None) -> None:
        key = message if key is None else key
        if key not in self._seen and len(self.problems) < MAX_PROBLEMS:
            self._seen.add(key)
            self.problems.append(message)

    @contextlib.contextmanager
    def guard(self, what: str, fix: str):
        """Turn an exception inside the block into a problem instead of ending the check: one line saying
        what raised and the fix, then the exception's own traceback (its innermost TRACEBACK_FRAMES frames,
        where a hook's bug lies), indented. `what` may name an agent and turn; the same failure of the same
        hook elsewhere is not reported again."""
        try:
            yield
        except Exception as exc:
            first_line = (str(exc).strip().splitlines() or [""])[0][:200]
            inner = exc.__traceback__.tb_next  # from the block's first frame on, not this one
            frames = "".join(traceback.format_exception(type(exc), exc, inner, limit=-TRACEBACK_FRAMES)).rstrip()
            self.add(f"{what} raised {type(exc).__name__}: {first_line} (fix: {fix})\n"
                     + textwrap.indent(frames, "    "), key=(what.split(" for ")[0], type(exc), fix))


def json_text(data: Any, what: str, report: Report) -> str | None:
    try:
        return json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        report.add(f"{what} is not plain JSON ({exc}): convert numpy values with int(), float() or .tolist(), "
                   "and keep NaN and infinity out")
        return None


def dumps(data: Any) -> str:
    """Canonical JSON text of a world's JSON form (numpy leftovers are tolerated here, reported elsewhere)."""
    return json.dumps(data, sort_keys=True, default=str)
