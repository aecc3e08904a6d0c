"""Issue 9, scope 2 at the command line: `connection add` refuses a URL credentials must not go
to (exit 2, nothing stored); `connection show` says where each side's credentials go and marks
loopback as a simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests_support_cli import SECRET_ENV, SECRET_OPTIONS, config_toml_for_examples
from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.store import KEY_ENV_VAR

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in (KEY_ENV_VAR, "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "home"


@pytest.mark.parametrize(
    ("amazon", "oracle"),
    [
        ('lwa_token_url = "http://169.254.169.254/latest/meta-data"', ""),
        ('base_urls = { NA = "https://sellingpartnerapi-na.amazon.com.evil.com" }', ""),
        ('base_urls = { NA = "https://sellingpartnerapi-na.amazon.com@evil.com" }', ""),
        ("", 'base_url = "https://fusion.evil.example"\nallow_remote_base_url = true'),
    ],
)
def test_add_refuses_a_url_credentials_must_not_go_to(
    home: Path, tmp_path: Path, amazon: str, oracle: str
) -> None:
    config = tmp_path / "acme.toml"
    config.write_text(config_toml_for_examples(extra_amazon=amazon, extra_oracle=oracle))
    result = runner.invoke(
        app, ["connection", "add", "acme", "--config", str(config), *SECRET_OPTIONS]
    )
    assert result.exit_code == 2, result.output
    assert "refused" in result.output
    listed = runner.invoke(app, ["connection", "list", "--json"])
    assert json.loads(listed.stdout)["connections"] == []


def test_show_marks_loopback_endpoints_as_simulators(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "acme.toml"
    config.write_text(
        config_toml_for_examples(
            extra_amazon='base_urls = { NA = "http://127.0.0.1:9100/na" }',
            extra_oracle='base_url = "http://127.0.0.1:9200"',
        )
    )
    added = runner.invoke(
        app, ["connection", "add", "acme", "--config", str(config), *SECRET_OPTIONS]
    )
    assert added.exit_code == 0, added.output
    shown = json.loads(runner.invoke(app, ["connection", "show", "acme", "--json"]).stdout)
    endpoints = shown["endpoints"]
    assert endpoints["amazon.base_urls.NA"] == "http://127.0.0.1:9100/na (loopback: simulator)"
    assert endpoints["amazon.lwa_token_url"] == "https://api.amazon.com/auth/o2/token"
    assert endpoints["oracle.base_url"] == "http://127.0.0.1:9200 (loopback: simulator)"
    text = runner.invoke(app, ["connection", "show", "acme"]).stdout
    assert "(loopback: simulator)" in text
