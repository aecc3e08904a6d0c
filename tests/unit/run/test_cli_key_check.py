"""Issue 9, scope 4: a master key that does not open the store is refused by every command that
writes a secret (init on an existing store, connection add, key rotate), with exit code 2, the
expected key id named, and nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests_support_cli import SECRET_ENV, SECRET_OPTIONS, config_toml_for_examples
from typer.testing import CliRunner

from ml_connector.context import open_runtime
from ml_connector.run.cli import app
from ml_connector.store import KEY_ENV_VAR, MasterKey, generate_master_key
from ml_connector.store.tables import ConnectionRow, KeyCheck, StoredSecret

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in (KEY_ENV_VAR, "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    first = runner.invoke(app, ["init", "--json"])
    assert first.exit_code == 0, first.output
    return tmp_path / "home"


def _store_key_id(home: Path) -> str:
    return MasterKey.from_text((home / "master.key").read_text()).key_id


def _counts() -> tuple[int, int]:
    rt = open_runtime()
    try:
        with rt.sessions() as session:
            connections = session.scalar(select(func.count()).select_from(ConnectionRow))
            secrets = session.scalar(select(func.count()).select_from(StoredSecret))
            return int(connections or 0), int(secrets or 0)
    finally:
        rt.close()


def test_init_records_the_key_check(home: Path) -> None:
    rt = open_runtime()
    try:
        with rt.sessions() as session:
            check = session.get(KeyCheck, 1)
            assert check is not None
            assert check.key_id == _store_key_id(home)
            assert len(check.sealed) > 16
    finally:
        rt.close()
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0
    assert "opens this store" in again.output


def test_connection_add_with_a_wrong_key_exits_2_and_stores_nothing(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "acme.toml"
    config.write_text(config_toml_for_examples())
    wrong = generate_master_key()
    monkeypatch.setenv(KEY_ENV_VAR, wrong)
    result = runner.invoke(
        app, ["connection", "add", "acme", "--config", str(config), *SECRET_OPTIONS]
    )
    assert result.exit_code == 2, result.output
    assert _store_key_id(home) in result.output  # the key id it expected
    assert MasterKey.from_text(wrong).key_id in result.output
    assert wrong not in result.output
    monkeypatch.delenv(KEY_ENV_VAR)
    assert _counts() == (0, 0)
    # the right key still works
    ok = runner.invoke(app, ["connection", "add", "acme", "--config", str(config), *SECRET_OPTIONS])
    assert ok.exit_code == 0, ok.output
    assert _counts() == (1, 3)


def test_init_on_an_existing_store_with_a_wrong_key_exits_2(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV_VAR, generate_master_key())
    result = runner.invoke(app, ["init", "--json"])
    assert result.exit_code == 2, result.output
    assert _store_key_id(home) in result.output


def test_key_rotate_with_a_wrong_old_key_exits_2_and_changes_nothing(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "acme.toml"
    config.write_text(config_toml_for_examples())
    added = runner.invoke(
        app, ["connection", "add", "acme", "--config", str(config), *SECRET_OPTIONS]
    )
    assert added.exit_code == 0, added.output
    new_file = tmp_path / "new.key"
    assert runner.invoke(app, ["key", "generate", "--out", str(new_file)]).exit_code == 0
    monkeypatch.setenv(KEY_ENV_VAR, generate_master_key())
    result = runner.invoke(app, ["key", "rotate", "--new-key-file", str(new_file)])
    assert result.exit_code == 2, result.output
    assert _store_key_id(home) in result.output
    monkeypatch.delenv(KEY_ENV_VAR)
    rotated = runner.invoke(app, ["key", "rotate", "--new-key-file", str(new_file), "--json"])
    assert rotated.exit_code == 0, rotated.output
    new_id = json.loads(rotated.stdout)["new_key_id"]
    rt = open_runtime()
    try:
        with rt.sessions() as session:
            assert session.get(KeyCheck, 1).key_id == new_id  # type: ignore[union-attr]
    finally:
        rt.close()
