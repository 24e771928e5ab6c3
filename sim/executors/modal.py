"""`--executor modal`: cells fanned out over Modal containers by `.map` over the deployed `run_cell`.

    modal token new && modal deploy modal_deploy.py
    python -m sim sweep ... --executor modal --out sweeps/NAME   # traces on the Volume under /NAME/cells

`modal run modal_deploy.py::sweep` runs the same executor with the function of its own ephemeral app. What
crosses to Modal is the cells themselves (plain JSON data), each with its trace path moved onto the sweeps
Volume; what comes back is `sim.sweep.attempt`'s (cell, row, error). An input Modal lost (a container that
died, a timeout) comes back as an exception that does not say whose it was, so the cells with no answer at
the end are the lost ones, each reported with one of those errors.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from sim.errors import MissingExtra, UserError
from sim.executors import ExecutorOptions, Outcome, no_address, one_line

APP_NAME = "smallworlds"  # the app modal_deploy.py deploys; agents.backends.modal finds its Model class here too
FUNCTION = "run_cell"
SWEEPS = "/sweeps"  # where the sweeps Volume is mounted in run_cell's containers
DEPLOY = "modal deploy modal_deploy.py"


class ModalMap:
    def __init__(self, function: Any, folder: str):
        """`function`: a Modal Function running `sim.sweep.attempt` on one cell (modal_deploy.run_cell, or
        the deployed one found by name); `folder`: where on the sweeps Volume this sweep's traces go."""
        self.function = function
        self.folder = folder

    def sent(self, cell: dict) -> dict:
        """The cell as Modal receives it: its trace written to the Volume, under FOLDER/cells."""
        return {**cell, "out": f"{SWEEPS}/{self.folder}/cells/{Path(cell['out']).name}"}

    def run(self, cells: list[dict]) -> Iterator[Outcome]:
        waiting = {cell["key"]: cell for cell in cells}
        lost: list[str] = []
        outputs = self.function.map([self.sent(c) for c in cells], order_outputs=False, return_exceptions=True)
        for output in outputs:
            if isinstance(output, BaseException):
                lost.append(one_line(output))
                continue
            cell, row, error = output
            waiting.pop(cell["key"], None)
            yield cell, row, error
        for i, cell in enumerate(waiting.values()):
            yield cell, None, f"Modal returned no result: {lost[i] if i < len(lost) else 'the input was lost'}"


def deployed(app: str = APP_NAME, name: str = FUNCTION) -> Any:
    """The deployed `run_cell`, looked up now so a missing token or deployment is one line before any cell
    runs."""
    import modal

    return hydrated(modal.Function.from_name, app, name, "function")


def hydrated(lookup: Any, app: str, name: str, what: str, error: type[UserError] = UserError) -> Any:
    """A deployed Modal object (`lookup` is modal.Function.from_name or modal.Cls.from_name), hydrated now:
    no token, no such deployment or no answer from Modal is one `error` line naming what to run."""
    from modal import is_local
    from modal.exception import NotFoundError

    if is_local() and not has_token():  # inside a Modal container the task's own identity is used
        raise error(f"no Modal token: run `modal token new`, then `{DEPLOY}`")
    try:
        found = lookup(app, name)
        found.hydrate()
    except NotFoundError:
        raise error(f"Modal app {app!r} has no {what} {name!r}: run `{DEPLOY}` first") from None
    except Exception as exc:
        raise error(f"cannot reach Modal: {one_line(exc)}") from None
    return found


def has_token() -> bool:
    """Whether Modal credentials are configured (env MODAL_TOKEN_ID/SECRET or ~/.modal.toml)."""
    from modal.config import config

    return bool(config.get("token_id") and config.get("token_secret"))


def make(options: ExecutorOptions) -> ModalMap:
    no_address("modal", options)
    try:
        import modal  # noqa: F401  (checked here, so a missing extra is said before the sweep starts)
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("--executor modal", exc) from None
    return ModalMap(deployed(), Path(options.out).resolve().name)
