"""The Gradio web demo: each tab's Session and the pool that bounds them (session.py), what each click does,
as updates keyed by component (controls.py), the page layout (page.py), both wired into Blocks (demo.py),
and the seat block (seat.py). `app.py` at the repository root serves it."""
