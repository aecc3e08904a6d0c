"""A database URL or a master key the store cannot use: one line that says which and why.

Verifier of issue 11: `--db mysql://x` ended in "unexpected failure (ModuleNotFoundError …)"
with exit 1, an unreachable PostgreSQL spanned two lines (libpq's hint), and a malformed
ML_CONNECTOR_MASTER_KEY was reported without naming the variable.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ml_connector.run.cli import app

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "home"


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize(
    ("url", "needles"),
    [
        ("mysql://x", ["'mysql://x'", "'mysql'", "does not support", "sqlite", "postgresql"]),
        ("oracle://u:hunter2@h/db", ["'oracle'", "***", "sqlite", "postgresql"]),
        ("not a url", ["not a URL", "sqlite", "postgresql"]),
        ("postgresql+psycopg2://u@h/db", ["'psycopg2'", "not installed", "postgresql://"]),
    ],
    ids=["mysql", "oracle-with-password", "not-a-url", "driver-not-installed"],
)
def test_an_unsupported_database_url_is_one_line_exit_2(
    home: Path, url: str, needles: list[str]
) -> None:
    result = runner.invoke(app, ["--db", url, "connection", "list"])
    assert result.exit_code == 2, result.output
    line = _one_line(result.stderr)
    for needle in needles:
        assert needle in line
    assert "unexpected failure" not in line
    assert "hunter2" not in result.output


def test_an_unreachable_postgresql_is_one_line(home: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(
        app, ["--db", f"postgresql://nobody@127.0.0.1:{port}/x", "connection", "list"]
    )
    assert result.exit_code == 1, result.output
    line = _one_line(result.stderr)
    assert line.startswith("error: cannot use the database:")
    assert f"port {port}" in line


def test_a_malformed_master_key_names_the_variable(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_CONNECTOR_MASTER_KEY", "garbage")
    result = runner.invoke(app, ["sync", "acme"])
    assert result.exit_code == 2, result.output
    line = _one_line(result.stderr)
    assert "ML_CONNECTOR_MASTER_KEY" in line
    assert "32 bytes; this one has 5" in line


def test_a_malformed_key_file_names_the_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("garbage\n")
    bad.chmod(0o600)
    monkeypatch.setenv("ML_CONNECTOR_KEY_FILE", str(bad))
    result = runner.invoke(app, ["sync", "acme"])
    assert result.exit_code == 2, result.output
    line = _one_line(result.stderr)
    assert "bad.key" in line
    assert "32 bytes; this one has 5" in line
    assert "ML_CONNECTOR_MASTER_KEY:" not in line
