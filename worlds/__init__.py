"""Worlds to run and to subclass. `worlds.get("wood")` finds any registered world, built-in or third-party."""
from sim.registry import get_world as get
from sim.registry import world_names as names

__all__ = ["get", "names"]
