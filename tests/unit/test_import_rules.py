"""DESIGN.md §8 import rules, checked on the source text so the tree stays honest."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

IO_MODULES = {
    "httpx",
    "sqlalchemy",
    "alembic",
    "requests",
    "socket",
    "urllib",
    "psycopg",
    "uvicorn",
    "fastapi",
    "structlog",
    "ml_connector.remote",
    "ml_connector.store",
    "ml_connector.flow",
    "ml_connector.run",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(folder: Path, forbidden: set[str]) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(folder)} imports {name}")
    return found


def test_connector_never_imports_the_simulators() -> None:
    assert _violations(SRC / "ml_connector", {"ml_connector_sim"}) == []


def test_simulators_never_import_the_connector() -> None:
    assert _violations(SRC / "ml_connector_sim", {"ml_connector"}) == []


def test_domain_is_pure() -> None:
    assert _violations(SRC / "ml_connector" / "domain", IO_MODULES) == []


def test_remote_never_imports_store_or_flow() -> None:
    forbidden = {"ml_connector.store", "ml_connector.flow", "ml_connector.run"}
    assert _violations(SRC / "ml_connector" / "remote", forbidden) == []


def test_no_utils_modules() -> None:
    names = {p.stem for p in SRC.rglob("*.py")} | {p.name for p in SRC.rglob("*") if p.is_dir()}
    assert not names & {"utils", "helpers", "misc"}


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import httpx\nfrom ml_connector_sim.amazon import app\n")
    assert _violations(tmp_path, {"ml_connector_sim"}) == ["bad.py imports ml_connector_sim.amazon"]
    assert _violations(tmp_path, IO_MODULES) == ["bad.py imports httpx"]
