"""Issue 11 acceptance: no failing command of the suite prints a traceback without --debug.

The check itself is the autouse ``traceback_guard`` fixture of tests/conftest.py; these tests
show that it can fail, and that the CLI's own guard (``common.guard_app``) turns any exception
into one line, one JSON object under --json, and a traceback only with --debug.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from ml_connector.errors import ConnectionFailedError
from ml_connector.input_files import InputFileError
from ml_connector.run.cli import app
from ml_connector.run.commands.common import global_callback, guard_app

runner = CliRunner()


def _broken_app(*, guarded: bool) -> typer.Typer:
    """A CLI with the real global options and one command that fails as a bug would."""
    broken = typer.Typer()
    broken.callback()(global_callback)

    @broken.command("explode")
    def explode(
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        raise RuntimeError("boom at line 1\nsecond line")

    @broken.command("unreachable")
    def unreachable(
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        raise ConnectionFailedError(
            "cannot reach 127.0.0.1:9: connection refused (nothing listens on that port)",
            operation="oauth.token",
        )

    @broken.command("unreadable")
    def unreadable() -> None:
        raise InputFileError("/srv/acme/catalog.csv", "a character device, not a regular file")

    if guarded:
        guard_app(broken)
    return broken


def test_the_guard_fails_a_test_whose_command_ends_in_an_unhandled_exception(
    traceback_guard: Any,
) -> None:
    result = runner.invoke(_broken_app(guarded=False), ["explode"])
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)
    assert traceback_guard.violations == ["`['explode']` ended in an unhandled RuntimeError: "
                                          "boom at line 1\nsecond line"]  # fmt: skip
    traceback_guard.violations.clear()  # provoked on purpose: this test must not fail for it


def test_the_guard_fails_a_subprocess_cli_run_that_printed_a_traceback(
    traceback_guard: Any,
) -> None:
    printed = subprocess.CompletedProcess(
        ["python", "-m", "ml_connector", "sync"], 1, b"", b"Traceback (most recent call last):"
    )
    traceback_guard.check_process(printed.args, None, printed)
    assert len(traceback_guard.violations) == 1
    traceback_guard.violations.clear()
    traceback_guard.check_process(
        ["python", "-m", "ml_connector", "--debug", "sync"], None, printed
    )
    other = subprocess.CompletedProcess(["python", "crash_runner.py"], 1, b"", b"Traceback")
    traceback_guard.check_process(other.args, None, other)
    assert traceback_guard.violations == []  # --debug asked for it; not a CLI run


def test_an_unexpected_exception_is_one_line_and_exit_1() -> None:
    result = runner.invoke(_broken_app(guarded=True), ["explode"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.strip() == (
        "error: unexpected failure (RuntimeError: boom at line 1); run again with --debug to see "
        "the traceback, and report it"
    )


def test_a_refused_input_file_is_a_usage_error() -> None:
    result = runner.invoke(_broken_app(guarded=True), ["unreadable"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: /srv/acme/catalog.csv: a character device, not a regular file"
    )


def test_with_json_a_failure_is_one_json_object_on_stdout() -> None:
    result = runner.invoke(_broken_app(guarded=True), ["unreachable", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "ok": False,
        "error": "Oracle's identity domain: cannot reach 127.0.0.1:9: connection refused "
        "(nothing listens on that port)",
        "exit_code": 1,
    }
    assert len(result.stdout.strip().splitlines()) == 1


def test_debug_shows_the_traceback() -> None:
    result = runner.invoke(_broken_app(guarded=True), ["--debug", "explode"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert 'raise RuntimeError("boom at line 1\\nsecond line")' in result.stderr
    assert result.stderr.rstrip().endswith("and report it")


def test_the_real_cli_guards_every_command() -> None:
    def commands(typer_app: typer.Typer) -> list[Any]:
        found = [c.callback for c in typer_app.registered_commands]
        for group in typer_app.registered_groups:
            if group.typer_instance is not None:
                found += commands(group.typer_instance)
        return found

    callbacks = commands(app)
    assert len(callbacks) > 20
    assert all(getattr(cb, "_guarded", False) for cb in callbacks)


def test_an_unknown_connection_under_json_is_one_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    for command in (["sync", "nobody"], ["backfill", "nobody", "--since", "2026-01-01"]):
        result = runner.invoke(app, [*command, "--json"])
        assert result.exit_code == 2, result.output
        answer = json.loads(result.stdout)
        assert answer["ok"] is False
        assert answer["exit_code"] == 2
        assert "nobody" in answer["error"]


def test_debug_shows_the_traceback_of_a_real_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    plain = runner.invoke(app, ["sync", "nobody"])
    debug = runner.invoke(app, ["--debug", "sync", "nobody"])
    assert plain.exit_code == debug.exit_code == 2
    assert "Traceback" not in plain.output
    (line,) = plain.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "nobody" in line
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().endswith(line)
