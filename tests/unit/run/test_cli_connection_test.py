"""`connection test` against both simulators: what works, what does not, in plain sentences."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector_sim.amazon import SimOptions as AmazonOptions
from ml_connector_sim.amazon import running_amazon_sim
from ml_connector_sim.oracle import running_oracle_sim
from ml_connector_sim.oracle.tenant import default_setup

ROOT = Path(__file__).resolve().parents[3]
# The example mapping files ship inside the package (older checkouts: ./examples).
EXAMPLES = next(
    p
    for p in (ROOT / "src/ml_connector/examples", ROOT / "examples")
    if (p / "catalog.csv").exists()
)
runner = CliRunner()
ORACLE_CLIENT = "ml-connector"
ORACLE_SECRET = "oracle-secret-VALUE"
LWA_SECRET = "sim-client-secret"
NA_TOKEN = "Atzr|sim-refresh-token-na"


@dataclass
class Sims:
    amazon_url: str
    amazon_token_url: str
    oracle_url: str


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    setup = default_setup()
    data = setup.model_dump(mode="json", by_alias=True)
    data["auth"]["strict"] = True
    data["auth"]["clients"] = [{"client_id": ORACLE_CLIENT, "client_secret": ORACLE_SECRET}]
    strict_setup = type(setup).model_validate(data)
    with (
        running_amazon_sim(options=AmazonOptions(strict_credentials=True)) as amazon,
        running_oracle_sim(strict_setup) as oracle,
    ):
        yield Sims(amazon.region_url("na"), amazon.token_url, oracle.base_url)


def _config(sims: Sims, tmp_path: Path) -> Path:
    path = tmp_path / "sim.toml"
    path.write_text(
        f"""
[amazon]
regions = ["NA"]
marketplace_ids = ["ATVPDKIKX0DER"]
lwa_client_id = "amzn1.application-oa2-client.simulator"
base_urls = {{ NA = "{sims.amazon_url}" }}
lwa_token_url = "{sims.amazon_token_url}"

[oracle]
pod = "sim"
region = "us2"
base_url = "{sims.oracle_url}"
identity_domain_url = "{sims.oracle_url}"
client_id = "{ORACLE_CLIENT}"
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

[mappings]
charges = "{EXAMPLES / "charges.toml"}"
catalog = "{EXAMPLES / "catalog.csv"}"
"""
    )
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "home"


def _add(
    sims: Sims,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    oracle_secret: str = ORACLE_SECRET,
    na_token: str = NA_TOKEN,
) -> None:
    monkeypatch.setenv("T_LWA", LWA_SECRET)
    monkeypatch.setenv("T_NA", na_token)
    monkeypatch.setenv("T_ORA", oracle_secret)
    args = ["connection", "add", "sim", "--config", str(_config(sims, tmp_path))]
    args += ["--lwa-client-secret-env", "T_LWA", "--refresh-token-env", "NA=T_NA"]
    args += ["--oracle-secret-env", "T_ORA"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def _checks(output: str) -> dict[tuple[str, str], dict[str, str]]:
    body = json.loads(output)
    return {(c["system"], c["check"]): c for c in body["checks"]}


def test_everything_works_against_the_simulators(
    sims: Sims, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(sims, tmp_path, monkeypatch)
    result = runner.invoke(app, ["connection", "test", "sim", "--json"])
    assert result.exit_code == 0, result.output
    checks = _checks(result.stdout)
    for key in [
        ("Mapping", "files"),
        ("Amazon NA", "login"),
        ("Amazon NA", "finances"),
        ("Amazon NA", "orders"),
        ("Oracle", "login"),
        ("Oracle", "invoices"),
    ]:
        assert checks[key]["status"] == "ok", checks[key]
    assert checks[("Oracle", "setup")]["status"] in ("ok", "unknown")
    human = runner.invoke(app, ["connection", "test", "sim"])
    assert human.exit_code == 0
    assert "✓" in human.output
    assert "Everything we could check works" in human.output
    for secret in (ORACLE_SECRET, LWA_SECRET, NA_TOKEN):
        assert secret not in human.output + result.output


def test_wrong_oracle_secret_is_a_clear_failure(
    sims: Sims, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(sims, tmp_path, monkeypatch, oracle_secret="wrong-secret-VALUE")
    result = runner.invoke(app, ["connection", "test", "sim", "--json"])
    assert result.exit_code == 1
    checks = _checks(result.stdout)
    assert checks[("Amazon NA", "login")]["status"] == "ok"
    login = checks[("Oracle", "login")]
    assert login["status"] == "failed"
    assert "refused the client id or secret" in login["message"]
    human = runner.invoke(app, ["connection", "test", "sim"])
    assert human.exit_code == 1
    assert "✗" in human.output
    assert "check(s) failed" in human.output
    assert "wrong-secret-VALUE" not in human.output + result.output


def test_revoked_refresh_token_asks_for_reauthorisation(
    sims: Sims, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(sims, tmp_path, monkeypatch, na_token="Atzr|revoked-VALUE")
    result = runner.invoke(app, ["connection", "test", "sim", "--json"])
    assert result.exit_code == 1
    login = _checks(result.stdout)[("Amazon NA", "login")]
    assert login["status"] == "failed"
    assert "authorise the app again" in login["message"]
    assert "revoked-VALUE" not in result.output


def test_unknown_connection(home: Path) -> None:
    result = runner.invoke(app, ["connection", "test", "nope"])
    assert result.exit_code == 2
    assert "no connection 'nope'" in result.stderr
