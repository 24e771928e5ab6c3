"""Viewers, in four layers; each imports only the layers above it in this list (tests/test_layers.py):

    paint/    painters: a Turn record (or an action schema) in, pixels or HTML out; they read records and never
              start or steer a run (scene, charts, panels, gif, the seat's form)
    live/     live runs: start an engine from a RunConfig, take a person's seat in it, branch it
    window/   the pygame desktop app (`python -m sim view`)
    web/      the Gradio web demo (`python app.py`): session pool, controls, page layout
"""
