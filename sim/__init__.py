"""smallworlds engine: worlds, the turn loop, parsing and repair, traces."""
__version__ = "0.1.0"

from sim.engine import Engine  # noqa: E402
from sim.policy import Ask, Batch, Policy, Reply  # noqa: E402
from sim.records import Decision, Turn  # noqa: E402
from sim.world import Outcome, World  # noqa: E402

__all__ = ["Ask", "Batch", "Decision", "Engine", "Outcome", "Policy", "Reply", "Turn", "World", "__version__"]
