"""docs/map.md stays true: every file and folder it names in backticks exists, and it names every folder of
render/ (the layers a reader looks for there)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "map.md"


def named_paths(text: str) -> set[str]:
    """Backticked words that look like paths: a folder ending in / or a file with an extension."""
    return {m for m in re.findall(r"`([^`\s]+)`", text) if m.endswith("/") or re.search(r"\.(py|md|toml)$", m)}


def test_every_path_the_map_names_exists():
    names = named_paths(MAP.read_text())
    assert len(names) > 30
    missing = sorted(n for n in names if not (ROOT / n).exists())
    assert not missing, f"docs/map.md names paths that do not exist: {missing}"


def test_the_map_names_every_layer_of_render():
    layers = {f"render/{p.name}/" for p in (ROOT / "render").iterdir() if (p / "__init__.py").exists()}
    assert layers and layers <= named_paths(MAP.read_text())


def test_a_path_that_is_gone_is_caught():
    assert "sim/nowhere.py" in named_paths("see `sim/nowhere.py` and `a word`")
    assert not (ROOT / "sim/nowhere.py").exists()
