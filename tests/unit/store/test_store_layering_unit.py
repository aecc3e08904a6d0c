"""The store stays a leaf: it never reaches into the flow, the remote clients or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

STORE = Path(__file__).resolve().parents[3] / "src" / "ml_connector" / "store"
FORBIDDEN = ("ml_connector.flow", "ml_connector.remote", "ml_connector.run", "ml_connector_sim")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_store_imports_no_higher_layer() -> None:
    paths = sorted(STORE.rglob("*.py"))
    assert len(paths) > 10  # we are looking at the real package
    found = [
        f"{path.relative_to(STORE)}: {name}"
        for path in paths
        for name in _imported(path)
        if name.startswith(FORBIDDEN)
    ]
    assert found == []


def test_every_store_module_stays_small() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in STORE.rglob("*.py")}
    assert max(sizes.values()) < 400, sizes
