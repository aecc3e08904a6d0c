"""`serve` on a port another program holds: one plain line and exit code 1, nothing else."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ml_connector.run.cli import app

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path))
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    yield holder.getsockname()[1]
    holder.close()


def test_a_busy_port_is_one_line_naming_it(home: Path, busy_port: int) -> None:
    result = runner.invoke(app, ["serve", "--port", str(busy_port)])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert f"cannot listen on 127.0.0.1:{busy_port}" in lines[0]
    assert "choose another --port" in lines[0]
    assert "Traceback" not in result.output
    assert "Dashboard on" not in result.output


def test_a_host_that_does_not_resolve_is_one_line(home: Path) -> None:
    result = runner.invoke(app, ["serve", "--host", "no-such-host.invalid", "--port", "8089"])
    assert result.exit_code == 1, result.output
    assert "does not resolve" in result.output
    assert "Traceback" not in result.output
