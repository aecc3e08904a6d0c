"""A fixed home (per-user data folder) and CLI polish: -c everywhere, --version, help texts.

Issue 11: ML_CONNECTOR_HOME defaulted to the current directory, so from another folder every
command said "run `init` first" (and doing so made a second, empty store with a new key); both
simulators defaulted to port 8000; no --version; help broke lines mid-sentence; -c worked on
some commands only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from tests_support_cli import SECRET_ENV, SECRET_OPTIONS, config_toml_for_examples
from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.run.commands.common import reflow_app_help, reflow_help
from ml_connector_sim.cli import app as sim_app

runner = CliRunner()
ENV = ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE")


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in (*ENV, "ML_CONNECTOR_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def test_default_home_is_the_per_user_data_folder_whatever_the_cwd(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = clean / "a", clean / "b"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    done = runner.invoke(app, ["init"])
    assert done.exit_code == 0, done.output
    home = clean / "user/.local/share/ml-connector"
    assert (home / "master.key").is_file()
    assert (home / "ml-connector.db").is_file()
    assert not (first / ".ml-connector").exists()
    monkeypatch.chdir(second)
    listed = runner.invoke(app, ["connection", "list"])
    assert listed.exit_code == 0, listed.output
    assert "No connections yet" in listed.stdout


def test_xdg_data_home_is_honoured(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(clean / "xdg"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert (clean / "xdg/ml-connector/master.key").is_file()


def test_not_initialised_names_the_path_and_ml_connector_home(clean: Path) -> None:
    result = runner.invoke(app, ["connection", "list"])
    assert result.exit_code == 2
    home = clean / "user/.local/share/ml-connector"
    assert f"no database at {home / 'ml-connector.db'}" in result.stderr
    assert "ML_CONNECTOR_HOME is unset" in result.stderr
    assert "Traceback" not in result.output
    assert not home.exists(), "a command other than init never creates a store"


def test_not_initialised_with_ml_connector_home_says_so(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(clean / "srv"))
    (clean / "srv").mkdir()  # the folder exists, the store does not: still refused
    result = runner.invoke(app, ["review", "list"])
    assert result.exit_code == 2
    assert str(clean / "srv" / "ml-connector.db") in result.stderr
    assert f"ML_CONNECTOR_HOME is {clean / 'srv'}" in result.stderr
    assert not (clean / "srv" / "ml-connector.db").exists()


def test_a_missing_key_file_names_its_path_and_ml_connector_home(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(clean / "srv"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    (clean / "srv/master.key").unlink()
    config = clean / "acme.toml"
    config.write_text(config_toml_for_examples())
    result = runner.invoke(
        app, ["connection", "add", "acme", "--config", str(config), *SECRET_OPTIONS]
    )
    assert result.exit_code == 2
    assert f"no key file at {clean / 'srv/master.key'}" in result.stderr
    assert "ML_CONNECTOR_HOME" in result.stderr


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"ml-connector \S+\n", result.stdout)


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every (sub)command under a click group (typer may vendor its own click classes)."""
    found: list[tuple[str, Any]] = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        found.append((path, command))
        if hasattr(command, "commands"):
            found += _commands(command, path)
    return found


def test_every_command_that_takes_a_connection_accepts_dash_c() -> None:
    root = typer.main.get_command(app)
    assert hasattr(root, "commands")
    takes = []
    for path, command in _commands(root):
        names = {p.name for p in command.params}
        if path.startswith(("connection ", "sync", "backfill", "replay", "reconcile", "review")):
            # `connection list` and `connection reference` are about no one connection.
            if path in ("connection list", "connection reference") or hasattr(command, "commands"):
                continue
            takes.append(path)
            options = [p for p in command.params if "-c" in getattr(p, "opts", [])]
            assert options, f"{path} has no -c (params {sorted(n for n in names if n)})"
    assert {"sync", "backfill", "connection test", "connection set-secret", "review list"} <= set(
        takes
    )


@pytest.mark.parametrize(
    "args",
    [
        ["sync", "-c", "nobody"],
        ["backfill", "-c", "nobody", "--since", "2026-01-01", "--plan-only"],
        ["connection", "show", "-c", "nobody"],
        ["connection", "test", "-c", "nobody"],
        ["connection", "disable", "-c", "nobody"],
        ["review", "list", "-c", "nobody"],
        ["audit", "show", "111-1", "-c", "nobody"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_dash_c_names_the_connection(clean: Path, args: list[str]) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "no connection 'nobody'" in result.stderr


def test_name_and_a_different_dash_c_are_refused(clean: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["connection", "show", "acme", "-c", "other"])
    assert result.exit_code == 2
    assert "give one" in result.stderr
    neither = runner.invoke(app, ["sync"])
    assert neither.exit_code == 2
    assert "name the connection" in neither.stderr


def test_reflow_joins_lines_inside_paragraphs_only() -> None:
    text = "First line\n    goes on.\n\nExamples:\n\n  cmd --a\n  --b\n\n- one\n- two\n  more"
    assert reflow_help(text) == (
        "First line goes on.\n\nExamples:\n\n  cmd --a --b\n\n- one\n- two more"
    )


def test_no_help_text_breaks_a_line_inside_a_paragraph() -> None:
    reflow_app_help(sim_app)
    broken = []
    for group in (app, sim_app):
        root = typer.main.get_command(group)
        assert hasattr(root, "commands")
        for path, command in [("", root), *_commands(root)]:
            for paragraph in (command.help or "").split("\n\n"):
                lines = paragraph.split("\n")
                if any(not re.match(r"\s*(?:[-*•·]|\d+\.)\s", line) for line in lines[1:]):
                    broken.append(path or "(root)")
    assert broken == []


def test_simulators_default_to_different_ports_and_say_what_they_accept() -> None:
    root = typer.main.get_command(sim_app)
    assert hasattr(root, "commands")
    ports = {}
    for name in ("amazon", "oracle"):
        command = root.commands[name]
        ports[name] = next(p.default for p in command.params if p.name == "port")
        shown = runner.invoke(sim_app, [name, "--help"], terminal_width=100)
        assert shown.exit_code == 0
        assert "Accepted credentials" in shown.stdout
        assert f"ml-connector sim {name}" in shown.stdout
    assert ports == {"amazon": 8600, "oracle": 8100}


_MAIN = "from ml_connector.run.cli import main; main()"


@pytest.mark.parametrize("via", ["ml-connector sim", "simulators' own"])
@pytest.mark.parametrize("name", ["amazon", "oracle"])
def test_simulator_help_shows_the_toml_table_names(via: str, name: str) -> None:
    # Verifier of issue 11: rich took "[oracle]" for markup and showed "the whole  block".
    if via == "ml-connector sim":  # the plugin as the console script loads it (entry point)
        done = subprocess.run(
            [sys.executable, "-c", _MAIN, "sim", name, "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1"},
            timeout=60,
            check=False,
        )
        code, stdout = done.returncode, done.stdout
    else:
        shown = runner.invoke(sim_app, [name, "--help"], terminal_width=400)
        code, stdout = shown.exit_code, shown.stdout
    assert code == 0, stdout
    text = " ".join(stdout.replace("│", " ").split())
    assert f"Print the [{name}] TOML block" in text
    assert "the  TOML" not in stdout
    if name == "oracle":
        assert "prints the whole [oracle] block" in text
