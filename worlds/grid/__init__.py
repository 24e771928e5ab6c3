"""The Meadow: foragers on a grid who move, gather food that regrows, share with neighbours, and starve and
leave; wanderers arrive at the edges. The spatial example world: positions, a ground layer, agents that come
and go."""
from worlds.grid.world import GridWorld

__all__ = ["GridWorld"]
