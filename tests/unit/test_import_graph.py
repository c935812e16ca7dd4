"""The import graph of `shared/` runs one way (DESIGN.md "Shape"): api → services → repositories →
db/models, with `http` and `jobs` as wiring that imports no service, read from the modules' own
imports so that a later change cannot quietly add an upward import or a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"

# Lowest first. A module may import modules of its own layer or of lower layers, never higher ones.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        ("shared.errors", "shared.observability", "shared.tokens", "shared.webhook_url", "shared.startup"),
    ),
    ("core", ("shared.settings", "shared.db", "shared.models", "shared.webhook_client")),
    ("repositories", ("shared.repositories",)),
    ("wiring", ("shared.http", "shared.jobs", "shared.alerts")),
    ("services", ("shared.services",)),
    ("api", ("shared.api",)),
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(SHARED.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (SHARED.parent / relative).with_suffix(".py").exists() or (SHARED.parent / relative).is_dir()


def _imports(path: Path) -> set[str]:
    """Every `shared` module `path` imports, at any depth of the file (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("shared"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if _is_module(candidate) else node.module)
    return found


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in SHARED.rglob("*.py")}


def _layer(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    if module == "shared":
        return -1
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in {__file__}")


def test_every_import_runs_down_the_layers() -> None:
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in _graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_the_import_graph_has_no_cycle() -> None:
    graph = _graph()
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        if state.get(module) == "active":
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        state[module] = "active"
        for target in sorted(graph.get(module, ())):
            visit(target, [*path, module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])


def test_wiring_imports_no_service() -> None:
    for module, targets in _graph().items():
        if _layer(module) == 3:
            assert not [t for t in targets if _layer(t) >= 4], module
