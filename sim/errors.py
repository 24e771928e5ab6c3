"""The errors a user can cause and fix, shared by every layer: the CLI prints each as one `error:` line and
exits with code 2. They live in `sim` so that `agents`, `render` and third-party packages can raise them
without `sim` importing any of those packages."""
from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; the message is one line that says what to do."""


class UsageError(UserError):
    """A mistake in how a command was called (a bad flag or value)."""


class BackendUnavailable(UserError):
    """A backend that cannot start because of something the user can fix (a package to install, a model
    path, a server URL)."""


# which extra of pyproject.toml brings each optional top-level module
EXTRA_OF = {"PIL": "viewers", "pygame": "viewers", "matplotlib": "viewers", "gradio": "web", "httpx": "http",
            "pettingzoo": "rl", "gymnasium": "rl", "pandas": "sweep", "modal": "modal", "ray": "ray", "vllm": "cpu",
            "torch": "cpu", "transformers": "cpu"}


class MissingExtra(UserError):
    """A feature whose optional dependencies are not installed; says which extra brings them."""

    def __init__(self, feature: str, module: str, extra: str | None = None):
        self.module = module.split(".")[0]
        self.extra = extra or EXTRA_OF.get(self.module, "dev")
        super().__init__(f"{feature} needs {self.module}, which is not installed: "
                         f"pip install 'smallworlds[{self.extra}]' (in a checkout: pip install -e '.[{self.extra}]')")

    @classmethod
    def of(cls, feature: str, exc: ModuleNotFoundError) -> "MissingExtra":
        return cls(feature, exc.name or str(exc))
