"""docs/configuration.md is rendered from the configuration model and cannot drift from it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.run.config_reference import REGENERATE, render
from ml_connector.store import ConnectionConfig

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "docs/configuration.md"
runner = CliRunner()


def _sections() -> dict[str, type[BaseModel]]:
    found = {}
    for name, field in ConnectionConfig.model_fields.items():
        assert isinstance(field.annotation, type)
        assert issubclass(field.annotation, BaseModel)
        found[name] = field.annotation
    return found


def test_docs_configuration_md_is_up_to_date() -> None:
    current = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    assert current == render(), f"docs/configuration.md is stale: run `{REGENERATE}`"


def test_every_setting_has_a_row_with_a_description() -> None:
    text = render()
    for section, model in _sections().items():
        assert f"## `[{section}]`" in text
        for key, field in model.model_fields.items():
            assert field.description, f"{section}.{key} has no Field(description=...)"
            assert f"| `{section}.{key}` |" in text


def test_rows_show_type_constraints_and_defaults() -> None:
    rows = {line.split(" | ")[0]: line for line in render().splitlines() if line.startswith("| `")}
    assert "| **required** |" in rows["| `amazon.marketplace_ids`"]
    assert 'list of "NA", "EU" or "FE" (at least 1)' in rows["| `amazon.regions`"]
    assert '| `"USD"` |' in rows["| `oracle.ledger_currency`"]
    assert "integer (≥ 1, ≤ 800) | `30` |" in rows["| `cadences.initial_history_days`"]
    assert '"split" or "tax_code" | `"split"` |' in rows["| `accounting.vat_inclusive`"]
    assert "| `ATVPDKIKX0DER` | US | NA | Amazon.com | USD |" in render()


def test_the_command_prints_and_writes_the_reference(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["connection", "reference"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == render()
    target = tmp_path / "configuration.md"
    written = runner.invoke(app, ["connection", "reference", "--out", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == render()
    refused = runner.invoke(
        app, ["connection", "reference", "--out", str(tmp_path / "no/such/dir/c.md")]
    )
    assert refused.exit_code == 1
    assert "cannot write" in refused.stderr


def test_readme_and_cli_docs_link_the_reference() -> None:
    assert "docs/configuration.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "configuration.md" in (ROOT / "docs/cli.md").read_text(encoding="utf-8")
