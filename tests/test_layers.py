"""The code's layers hold: no import circle anywhere in the project (imports inside functions count: a lazy
import still ties two files together), `sim` imports nothing above it, and render/'s four layers import only
the layers before them (painters never reach a live run)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "worlds", "agents", "render", "bench")
RENDER_ORDER = ("render.paint", "render.live", "render.window", "render.web")  # each may import those before it


def modules() -> dict[str, Path]:
    found = {"app": ROOT / "app.py", "modal_deploy": ROOT / "modal_deploy.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports, anywhere in the file (a package's own __init__ is left out: it
    only marks the folder)."""
    out = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` folders up
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        out |= {t for t in targets if t in known and not (ROOT / t.replace(".", "/") / "__init__.py").exists()}
    return out - {name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_anywhere():
    assert cycles(graph()) == []


def test_sim_imports_nothing_above_it():
    wrong = {(m, t) for m, ts in graph().items() if m.startswith("sim") for t in ts
             if t.split(".")[0] in ("worlds", "agents", "render", "bench", "app")}
    assert not wrong


def test_render_layers_import_only_the_layers_before_them():
    def layer(module: str) -> int | None:
        return next((i for i, p in enumerate(RENDER_ORDER) if module.startswith(p + ".")), None)

    wrong = []
    for module, targets in graph().items():
        mine = layer(module)
        for target in targets:
            theirs = layer(target)
            if mine is not None and theirs is not None and theirs > mine:
                wrong.append(f"{module} imports {target}")
    assert not wrong
    assert all(layer(m) is not None for m in graph() if m.startswith("render.") and m.count(".") > 1)
