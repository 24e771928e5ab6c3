"""The Commons: fishers sharing a lake whose fish regrow, until greed empties it."""
from worlds.commons.world import CommonsWorld

__all__ = ["CommonsWorld"]
