"""`connection add|list|show|enable|disable`: validation before storage, secrets never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.run.commands import secrets_input

ROOT = Path(__file__).resolve().parents[3]
# The example mapping files ship inside the package (older checkouts: ./examples).
EXAMPLES = next(
    p
    for p in (ROOT / "src/ml_connector/examples", ROOT / "examples")
    if (p / "catalog.csv").exists()
)
runner = CliRunner()
LWA_SECRET = "lwa-secret-VALUE-1"
NA_TOKEN = "Atzr|na-token-VALUE-2"
ORACLE_SECRET = "oracle-secret-VALUE-3"
SECRET_ENV = {"T_LWA": LWA_SECRET, "T_NA": NA_TOKEN, "T_ORA": ORACLE_SECRET}
SECRET_OPTIONS = [
    "--lwa-client-secret-env",
    "T_LWA",
    "--refresh-token-env",
    "NA=T_NA",
    "--oracle-secret-env",
    "T_ORA",
]


def config_toml(*, charges: Path | str, catalog: Path | str, extra_oracle: str = "") -> str:
    return f"""
[amazon]
regions = ["NA"]
marketplace_ids = ["ATVPDKIKX0DER"]
lwa_client_id = "amzn1.application-oa2-client.test"

[oracle]
pod = "acme"
region = "us2"
identity_domain_url = "idcs-123"
client_id = "ml-connector"
scope = "urn:opc:resource:consumer::all"
business_unit = "US1 Business Unit"
ledger = "US Primary Ledger"
ledger_id = "300000046975971"
legal_entity = "ML Seller US LLC"
invoice_source = "Amazon Orders"
invoice_transaction_type = "Amazon Invoice"
credit_memo_transaction_type = "Amazon Credit Memo"
journal_source = "Amazon Settlements"
journal_category = "Amazon Settlement"
{extra_oracle}

[mappings]
charges = "{charges}"
catalog = "{catalog}"
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "home"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(
        config_toml(charges=EXAMPLES / "charges.toml", catalog=EXAMPLES / "catalog.csv")
    )
    return path


def _add(config_file: Path, *extra: str, name: str = "acme") -> Result:
    return runner.invoke(
        app, ["connection", "add", name, "--config", str(config_file), *SECRET_OPTIONS, *extra]
    )


def _no_secret_in(text: str) -> None:
    for value in SECRET_ENV.values():
        assert value not in text


def test_add_then_list_and_show_without_revealing_secrets(home: Path, config_file: Path) -> None:
    added = runner.invoke(
        app, ["connection", "add", "acme", "--config", str(config_file), *SECRET_OPTIONS]
    )
    assert added.exit_code == 0, added.output
    assert "added connection 'acme'" in added.output

    listed = runner.invoke(app, ["connection", "list", "--json"])
    assert listed.exit_code == 0
    rows = json.loads(listed.stdout)["connections"]
    assert rows == [
        {
            "name": "acme",
            "enabled": True,
            "regions": ["NA"],
            "marketplaces": ["ATVPDKIKX0DER"],
            "pod": "acme (us2)",
            "updated_at": rows[0]["updated_at"],
        }
    ]
    table = runner.invoke(app, ["connection", "list"])
    assert "acme" in table.output
    assert "ATVPDKIKX0DER" in table.output

    shown = runner.invoke(app, ["connection", "show", "acme", "--json"])
    body = json.loads(shown.stdout)
    assert body["secrets"] == [
        "lwa_client_secret",
        "lwa_refresh_token:na",
        "oracle_client_secret",
    ]
    assert body["config"]["oracle"]["business_unit"] == "US1 Business Unit"
    human = runner.invoke(app, ["connection", "show", "acme"])
    assert "oracle.business_unit" in human.output
    assert "lwa_refresh_token:na" in human.output
    for result in (added, listed, table, shown, human):
        _no_secret_in(result.output)


def test_relative_mapping_paths_are_read_next_to_the_config(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    for name in ("charges.toml", "catalog.csv"):
        (folder / name).write_text((EXAMPLES / name).read_text())
    path = folder / "acme.toml"
    path.write_text(config_toml(charges="charges.toml", catalog="catalog.csv"))
    result = _add(path)
    assert result.exit_code == 0, result.output


def test_disable_and_enable(home: Path, config_file: Path) -> None:
    assert _add(config_file).exit_code == 0
    assert runner.invoke(app, ["connection", "disable", "acme"]).exit_code == 0
    rows = json.loads(runner.invoke(app, ["connection", "list", "--json"]).stdout)["connections"]
    assert rows[0]["enabled"] is False
    assert runner.invoke(app, ["connection", "enable", "acme"]).exit_code == 0
    rows = json.loads(runner.invoke(app, ["connection", "list", "--json"]).stdout)["connections"]
    assert rows[0]["enabled"] is True


def test_unknown_connection_is_one_red_line(home: Path) -> None:
    result = runner.invoke(app, ["connection", "show", "nope"])
    assert result.exit_code == 2
    assert "no connection 'nope'" in result.stderr
    assert "Traceback" not in result.output


def test_invalid_config_names_the_file_and_field(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    text = config_toml(
        charges=EXAMPLES / "charges.toml",
        catalog=EXAMPLES / "catalog.csv",
        extra_oracle=f'client_secret = "{ORACLE_SECRET}"',
    ).replace('pod = "acme"', 'pod = "Not A Label"')
    path.write_text(text)
    result = _add(path)
    assert result.exit_code == 2
    err = result.stderr
    assert f"{path}: oracle.pod:" in err
    assert f"{path}: oracle.client_secret: Extra inputs are not permitted" in err
    _no_secret_in(result.output)


def test_not_toml_is_refused(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[amazon\n")
    result = _add(path)
    assert result.exit_code == 2
    assert "not valid TOML" in result.stderr


def test_bad_mapping_file_is_refused_with_its_problems(home: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,revenue_account\nMUG-01,not-an-account\n")
    path = tmp_path / "acme.toml"
    path.write_text(config_toml(charges=EXAMPLES / "charges.toml", catalog=catalog))
    result = _add(path)
    assert result.exit_code == 2
    assert "mapping files refused" in result.stderr
    assert "catalog.csv" in result.stderr
    listed = runner.invoke(app, ["connection", "list", "--json"])
    assert json.loads(listed.stdout)["connections"] == []


def test_missing_env_variable_is_named_and_nothing_is_stored(
    home: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("T_NA")
    result = _add(config_file)
    assert result.exit_code == 2
    assert "T_NA is not set" in result.stderr
    listed = runner.invoke(app, ["connection", "list", "--json"])
    assert json.loads(listed.stdout)["connections"] == []


def test_not_interactive_without_secret_options_fails_instead_of_hanging(
    home: Path, config_file: Path
) -> None:
    result = runner.invoke(app, ["connection", "add", "acme", "--config", str(config_file)])
    assert result.exit_code == 2
    assert "--lwa-client-secret-env" in result.stderr


def test_interactive_prompts_hide_input(
    home: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets_input, "interactive", lambda: True)
    typed = f"{LWA_SECRET}\n{NA_TOKEN}\n{ORACLE_SECRET}\n"
    result = runner.invoke(
        app, ["connection", "add", "acme", "--config", str(config_file)], input=typed
    )
    assert result.exit_code == 0, result.output
    assert "LWA client secret" in result.output
    _no_secret_in(result.output)


def test_duplicate_name_and_unknown_region_are_refused(home: Path, config_file: Path) -> None:
    assert _add(config_file).exit_code == 0
    again = _add(config_file)
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    # Another seller (its own LWA app), so only the region is wrong.
    other = config_file.with_name("other.toml")
    other.write_text(
        config_file.read_text().replace(
            "amzn1.application-oa2-client.test", "amzn1.application-oa2-client.other"
        )
    )
    region = _add(other, "--refresh-token-env", "EU=T_NA", name="other")
    assert region.exit_code == 2
    assert "EU" in region.stderr
