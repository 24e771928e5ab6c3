"""The pygame desktop app: `python -m sim view` (its flags in commands.py, the window in viewer.py, the seat
panel in seat.py)."""
