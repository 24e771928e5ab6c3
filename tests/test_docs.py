"""Every ```python block of docs/worlds.md runs, in order, in one namespace: the guide cannot rot."""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "worlds.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_every_python_block_in_the_guide_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # anything a block writes lands here
    blocks = python_blocks(GUIDE.read_text())
    assert len(blocks) >= 6
    module = types.ModuleType("docs_worlds")  # a real module, as a reader's script would be
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for k, block in enumerate(blocks):
        # dont_inherit: the blocks must not pick up this file's `from __future__ import annotations`
        exec(compile(block, f"{GUIDE.name} block {k + 1}", "exec", dont_inherit=True), module.__dict__)
    assert "coins created in 5 turns" in capsys.readouterr().out


def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    readme = GUIDE.parent.parent / "README.md"
    (block,) = python_blocks(readme.read_text())
    exec(compile(block, "README.md", "exec", dont_inherit=True), {})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 30 and printed[0].startswith("0 ")


def test_the_guides_hook_tables_name_every_public_name_of_world():
    """The three tables under "## The hooks" (core, for models, features) against the class itself: a hook
    added to World without a row, or a row for a hook that is gone, fails here."""
    from sim.world import World

    section = GUIDE.read_text().split("\n## The hooks\n", 1)[1].split("\n## ", 1)[0]
    tiers = re.findall(r"^### (.+)$", section, flags=re.MULTILINE)
    assert [t.split(":")[0] for t in tiers] == ["Core", "For models", "Features"]
    rows = [row for row in section.splitlines() if row.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Za-z_]\w*)[`(]", row.split(" | ")[0])}
    public = {name for name in [*vars(World), *World.__annotations__] if not name.startswith("_")}
    assert not public - documented, f"World hooks missing from the guide's tables: {sorted(public - documented)}"
    assert not documented - public, f"rows in the guide's tables for no hook of World: {sorted(documented - public)}"
