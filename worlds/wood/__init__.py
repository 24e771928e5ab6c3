"""The Thousand Token Wood economy."""
from worlds.wood.world import WoodWorld

__all__ = ["WoodWorld"]
