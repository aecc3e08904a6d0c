"""A marketplace id typed in lower case or pasted with spaces is read as Amazon spells it.

Verifier of issue 11: "atvpdkikx0der" was refused as "a country code, not a marketplace id",
and " A2EUQ1WTGCTBG2" was recognised as Amazon.ca and then refused for a missing
`[customers. A2EUQ1WTGCTBG2]`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from tests_support_cli import SECRET_ENV, SECRET_OPTIONS, config_toml_for_examples
from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.store.config_model import marketplace_problem

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "home"


def _add_with(tmp_path: Path, marketplaces: str) -> Result:
    config = tmp_path / "acme.toml"
    config.write_text(
        config_toml_for_examples().replace(
            'marketplace_ids = ["ATVPDKIKX0DER"]', f"marketplace_ids = {marketplaces}"
        )
    )
    return runner.invoke(
        app, ["connection", "add", "acme", "--config", str(config), *SECRET_OPTIONS]
    )


def _stored_ids() -> list[str]:
    shown = runner.invoke(app, ["connection", "show", "acme", "--json"])
    assert shown.exit_code == 0, shown.output
    ids: list[str] = json.loads(shown.stdout)["config"]["amazon"]["marketplace_ids"]
    return ids


def test_a_lower_case_id_is_stored_upper_case_with_a_note(home: Path, tmp_path: Path) -> None:
    result = _add_with(tmp_path, '["atvpdkikx0der"]')
    assert result.exit_code == 0, result.output
    assert "country code" not in result.output
    assert (
        "note: amazon.marketplace_ids: read 'atvpdkikx0der' as 'ATVPDKIKX0DER' (Amazon.com)"
        in result.stderr
    )
    assert _stored_ids() == ["ATVPDKIKX0DER"]


def test_surrounding_spaces_are_stripped(home: Path, tmp_path: Path) -> None:
    result = _add_with(tmp_path, '["ATVPDKIKX0DER", " A2EUQ1WTGCTBG2 "]')
    assert result.exit_code == 0, result.output
    assert "customers" not in result.output
    assert "read ' A2EUQ1WTGCTBG2 ' as 'A2EUQ1WTGCTBG2' (Amazon.ca)" in result.stderr
    assert _stored_ids() == ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]


def test_a_country_code_in_lower_case_is_still_a_country_code(home: Path, tmp_path: Path) -> None:
    result = _add_with(tmp_path, '["us"]')
    assert result.exit_code == 2
    assert "'us' is a country code, not a marketplace id: Amazon.com is 'ATVPDKIKX0DER'" in (
        result.stderr
    )


def test_the_problem_text_of_an_id_in_the_wrong_case_gives_the_spelling() -> None:
    # What `sync` says of a stored id the model did not read (the same words as `add`).
    assert marketplace_problem("atvpdkikx0der", ["NA"]) == (
        "'atvpdkikx0der' is Amazon.com's marketplace id in the wrong case: write 'ATVPDKIKX0DER'"
    )
