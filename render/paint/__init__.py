"""Painters: pure functions from Turn records (and the world's Portrait of each) to pictures and HTML, and
from an action schema to a form. Nothing here starts, steps or steers an engine."""
