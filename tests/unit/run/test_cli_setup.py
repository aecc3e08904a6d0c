"""`init` and `key generate|rotate`: a fresh install, re-runs, and rotation that keeps secrets."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ml_connector.context import open_runtime
from ml_connector.run.cli import app
from ml_connector.store import (
    LWA_CLIENT_SECRET,
    AmazonSettings,
    ConnectionConfig,
    MappingFiles,
    OracleSettings,
    add_connection,
    get_secret,
    put_secret,
)

runner = CliRunner()
SECRET_VALUE = "super-secret-value-123"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "home"
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(path))
    return path


def _config(tmp_path: Path) -> ConnectionConfig:
    return ConnectionConfig(
        amazon=AmazonSettings(regions=["NA"], marketplace_ids=["ATVPDKIKX0DER"], lwa_client_id="c"),
        oracle=OracleSettings(
            pod="pod",
            region="us2",
            identity_domain_url="idcs-x",
            client_id="c",
            scope="s",
            business_unit="BU",
            ledger="L",
            legal_entity="LE",
            invoice_source="S",
            invoice_transaction_type="T",
            credit_memo_transaction_type="CM",
            journal_source="JS",
            journal_category="JC",
            ledger_id="1",
        ),
        mappings=MappingFiles(catalog=tmp_path / "c.csv", charges=tmp_path / "c.toml"),
    )


def _store_secret(tmp_path: Path) -> None:
    rt = open_runtime(require_key=True)
    try:
        with rt.sessions() as session, session.begin():
            row = add_connection(session, "acme", _config(tmp_path))
            put_secret(session, rt.require_keyring(), row.id, LWA_CLIENT_SECRET, SECRET_VALUE)
    finally:
        rt.close()


def _read_secret() -> str:
    rt = open_runtime(require_key=True)
    try:
        with rt.sessions() as session:
            return get_secret(session, rt.require_keyring(), 1, LWA_CLIENT_SECRET).reveal()
    finally:
        rt.close()


def test_init_creates_home_key_and_schema_then_is_idempotent(home: Path) -> None:
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    assert "created the key file" in first.output
    key_file = home / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (home / "ml-connector.db").exists()
    key_text = key_file.read_text()
    assert key_text.strip() not in first.output

    again = runner.invoke(app, ["init", "--json"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["schema"]
    assert any("kept the existing key file" in step for step in report["steps"])
    assert key_file.read_text() == key_text


def test_init_with_key_in_environment_writes_no_key_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml_connector.store import generate_master_key

    monkeypatch.setenv("ML_CONNECTOR_MASTER_KEY", generate_master_key())
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert "ML_CONNECTOR_MASTER_KEY" in result.output
    assert not (home / "master.key").exists()


def test_init_refuses_a_world_readable_key_file(home: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    (home / "master.key").chmod(0o644)
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 2
    assert "chmod 600" in result.stderr
    assert "Traceback" not in result.output


def test_key_generate_writes_0600_file_and_prints_only_the_id(tmp_path: Path, home: Path) -> None:
    target = tmp_path / "new.key"
    result = runner.invoke(app, ["key", "generate", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().strip() not in result.output
    assert "k-" in result.output
    again = runner.invoke(app, ["key", "generate", "--out", str(target)])
    assert again.exit_code == 2
    assert "already exists" in again.stderr


def test_key_rotate_reencrypts_secrets_and_swaps_the_file(tmp_path: Path, home: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    _store_secret(tmp_path)
    key_file = home / "master.key"
    old_text = key_file.read_text()

    result = runner.invoke(app, ["key", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["re_encrypted"] == 1
    assert report["verified"] == 1
    assert report["old_key_id"] != report["new_key_id"]
    assert key_file.read_text() != old_text
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (home / "master.key.old").exists()
    assert not (home / "master.key.new").exists()
    assert _read_secret() == SECRET_VALUE
    assert SECRET_VALUE not in result.output


def test_key_rotate_with_a_given_key_file(tmp_path: Path, home: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    _store_secret(tmp_path)
    new = tmp_path / "next.key"
    assert runner.invoke(app, ["key", "generate", "--out", str(new)]).exit_code == 0
    result = runner.invoke(app, ["key", "rotate", "--new-key-file", str(new)])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 secret(s)" in result.output
    assert (home / "master.key").read_text() == new.read_text()
    assert _read_secret() == SECRET_VALUE


def test_key_rotate_from_environment_needs_a_new_key_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml_connector.store import generate_master_key

    monkeypatch.setenv("ML_CONNECTOR_MASTER_KEY", generate_master_key())
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["key", "rotate"])
    assert result.exit_code == 2
    assert "--new-key-file" in result.stderr


def test_commands_without_a_key_tell_the_user_to_run_init(home: Path) -> None:
    result = runner.invoke(app, ["key", "rotate"])
    assert result.exit_code == 2
    assert "init" in result.stderr
    assert "Traceback" not in result.output
