"""`sim amazon|oracle --print-config`: a configuration that works against the simulators as
started, with the credentials they accept (issue 11: nothing said how to point a connection at
them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests_support_cli import EXAMPLES
from tests_support_sim_config import Sims, both_simulators, exported, printed_config, runner

from ml_connector.run.cli import app
from ml_connector_sim.oracle import SimOptions as OracleOptions
from ml_connector_sim.oracle import running_oracle_sim

MAPPINGS = f"""
[mappings]
charges = "{EXAMPLES / "charges.toml"}"
catalog = "{EXAMPLES / "catalog.csv"}"
"""


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    with both_simulators() as running:
        yield running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "home"


def test_the_printed_blocks_name_the_port_and_the_simulators_credentials() -> None:
    amazon = printed_config("amazon", 8611, "--time-scale", "50")
    assert (
        'base_urls = { NA = "http://127.0.0.1:8611/na", EU = "http://127.0.0.1:8611/eu"' in amazon
    )
    assert 'lwa_token_url = "http://127.0.0.1:8611/auth/o2/token"' in amazon
    assert "rate_limit_scale = 50.0" in amazon
    assert exported(amazon) == {
        "SIM_LWA_SECRET": "sim-client-secret",
        "SIM_NA_TOKEN": "Atzr|sim-refresh-token-na",
        "SIM_EU_TOKEN": "Atzr|sim-refresh-token-eu",
        "SIM_FE_TOKEN": "Atzr|sim-refresh-token-fe",
    }
    oracle = printed_config("oracle", 8122)
    assert 'base_url = "http://127.0.0.1:8122"' in oracle
    assert 'identity_domain_url = "http://127.0.0.1:8122"' in oracle
    assert 'business_unit = "US1 Business Unit"' in oracle
    assert 'ledger_currency = "USD"' in oracle


def test_print_config_does_not_serve() -> None:
    # CliRunner would block for ever if the command started uvicorn.
    assert "[oracle]" in printed_config("oracle", 8123)
    assert "[amazon]" in printed_config("amazon", 8612, "--marketplaces", "US")


def test_a_connection_from_the_printed_blocks_passes_connection_test(
    sims: Sims, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    amazon = printed_config("amazon", sims.amazon_port, "--strict")
    oracle = printed_config("oracle", sims.oracle_port)
    config = tmp_path / "sim.toml"
    config.write_text(amazon + "\n" + oracle + MAPPINGS)
    for name, value in exported(amazon + oracle).items():
        monkeypatch.setenv(name, value)
    options = [
        "--lwa-client-secret-env",
        "SIM_LWA_SECRET",
        "--oracle-secret-env",
        "SIM_ORACLE_SECRET",
    ]
    for region in ("NA", "EU", "FE"):
        options += ["--refresh-token-env", f"{region}=SIM_{region}_TOKEN"]
    added = runner.invoke(app, ["connection", "add", "sim", "--config", str(config), *options])
    assert added.exit_code == 0, added.output
    tested = runner.invoke(app, ["connection", "test", "sim", "--json"])
    assert tested.exit_code == 0, tested.output
    checks = json.loads(tested.stdout)["checks"]
    assert {c["status"] for c in checks} <= {"ok", "unknown"}, checks
    logins = [c for c in checks if c["check"] == "login" and c["status"] == "ok"]
    assert {c["system"] for c in logins} == {"Amazon NA", "Amazon EU", "Amazon FE", "Oracle"}


def test_a_wrong_refresh_token_is_refused_by_the_strict_simulator(
    sims: Sims, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same check must be able to fail: the strict simulator refuses other credentials.
    amazon = printed_config("amazon", sims.amazon_port, "--strict")
    oracle = printed_config("oracle", sims.oracle_port)
    config = tmp_path / "sim.toml"
    config.write_text(amazon + "\n" + oracle + MAPPINGS)
    for name, value in exported(amazon + oracle).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SIM_EU_TOKEN", "Atzr|not-the-simulators-token")
    options = [
        "--lwa-client-secret-env",
        "SIM_LWA_SECRET",
        "--oracle-secret-env",
        "SIM_ORACLE_SECRET",
    ]
    for region in ("NA", "EU", "FE"):
        options += ["--refresh-token-env", f"{region}=SIM_{region}_TOKEN"]
    assert (
        runner.invoke(
            app, ["connection", "add", "sim", "--config", str(config), *options]
        ).exit_code
        == 0
    )
    tested = runner.invoke(app, ["connection", "test", "sim", "--json"])
    assert tested.exit_code == 1, tested.output
    failed = {
        (c["system"], c["check"])
        for c in json.loads(tested.stdout)["checks"]
        if c["status"] == "failed"
    }
    assert failed == {("Amazon EU", "login")}


@pytest.mark.parametrize("secret", [None, "not-the-simulators-secret"], ids=["printed", "wrong"])
def test_the_block_printed_with_strict_auth_logs_in_to_a_strict_simulator(
    sims: Sims, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    # Verifier of issue 11: --strict-auth --print-config advertised "client id ml-connector with
    # any non-empty client secret", which the strict simulator (default setup) refused.
    with running_oracle_sim(options=OracleOptions(strict_auth=True)) as strict_oracle:
        port = int(strict_oracle.base_url.rsplit(":", 1)[1])
        amazon = printed_config("amazon", sims.amazon_port, "--strict")
        oracle = printed_config("oracle", port, "--strict-auth")
        assert "any non-empty" not in oracle
        assert "client id ml-connector (below) with this client secret only" in oracle
        config = tmp_path / "sim.toml"
        config.write_text(amazon + "\n" + oracle + MAPPINGS)
        for name, value in exported(amazon + oracle).items():
            monkeypatch.setenv(name, value)
        if secret is not None:
            monkeypatch.setenv("SIM_ORACLE_SECRET", secret)
        options = ["--lwa-client-secret-env", "SIM_LWA_SECRET"]
        options += ["--oracle-secret-env", "SIM_ORACLE_SECRET"]
        for region in ("NA", "EU", "FE"):
            options += ["--refresh-token-env", f"{region}=SIM_{region}_TOKEN"]
        added = runner.invoke(app, ["connection", "add", "sim", "--config", str(config), *options])
        assert added.exit_code == 0, added.output
        tested = runner.invoke(app, ["connection", "test", "sim", "--json"])
    checks = json.loads(tested.stdout)["checks"]
    oracle_login = {c["status"] for c in checks if (c["system"], c["check"]) == ("Oracle", "login")}
    if secret is None:
        assert tested.exit_code == 0, tested.output
        assert oracle_login == {"ok"}
    else:
        assert tested.exit_code == 1, tested.output
        assert oracle_login == {"failed"}


def test_docs_show_what_the_commands_print() -> None:
    cli_md = (Path(__file__).resolve().parents[3] / "docs/cli.md").read_text(encoding="utf-8")
    assert printed_config("amazon", 8600, "--marketplaces", "US,CA") in cli_md
    assert printed_config("oracle", 8100) in cli_md
