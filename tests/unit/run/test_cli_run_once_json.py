"""`run --once` for schedulers: one JSON object with --json, and exit code 1 when a
connection's cycle failed (the others still ran)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from ml_connector.run.cli import app

runner = CliRunner()
Factory = Callable[..., Any]


def test_run_once_json_is_one_object_with_every_cycle(sim_seller: Factory) -> None:
    sim_seller(orders=8)
    result = runner.invoke(app, ["run", "--once", "--json"])
    (line,) = result.stdout.strip().splitlines()  # the start line went to stderr
    answer = json.loads(line)
    assert answer["exit_code"] == result.exit_code
    assert answer["ok"] is (result.exit_code == 0)
    assert answer["failures"] == []
    (cycle,) = answer["cycles"]
    assert cycle["connection"] == "demo"
    assert cycle["counts"]["posted"] > 0
    assert "run: 1 connection(s)" in result.stderr


def test_run_once_exits_1_when_a_cycle_failed(sim_seller: Factory) -> None:
    seller = sim_seller(orders=5)
    seller.catalog.unlink()  # the connection's catalog mapping file is gone
    result = runner.invoke(app, ["run", "--once", "--json"])
    assert result.exit_code == 1, result.output
    answer = json.loads(result.stdout)
    assert (answer["ok"], answer["exit_code"], answer["cycles"]) == (False, 1, [])
    (failure,) = answer["failures"]
    assert failure.startswith("demo: sync failed (1 in a row): ")
    assert str(seller.catalog.name) in failure
    assert "Traceback" not in result.output


def test_json_without_once_is_refused() -> None:
    result = runner.invoke(app, ["run", "--json"])
    assert result.exit_code == 2
    assert "--json needs --once" in result.stderr
