"""`review list`, `audit show` and `serve`: reading the store the way an operator would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ml_connector.context import open_runtime
from ml_connector.run.cli import app
from ml_connector.store import (
    AmazonSettings,
    ConnectionConfig,
    DocumentKind,
    MappingFiles,
    OracleSettings,
    ReviewKind,
    add_connection,
    append_event,
    bind,
    get_connection,
    open_review_item,
)

runner = CliRunner()
ORDER = "113-4567890-1234567"


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


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    now = datetime.now(UTC)
    rt = open_runtime()
    try:
        with rt.sessions() as session, session.begin():
            acme = add_connection(session, "acme", _config(tmp_path)).id
            other = add_connection(session, "other", _config(tmp_path)).id
            open_review_item(
                session,
                acme,
                ReviewKind.UNMAPPED_SKU,
                ORDER,
                "SKU MUG-99 is not in the catalog",
                now=now - timedelta(days=2, hours=3),
            )
            open_review_item(
                session, other, ReviewKind.ORACLE_REJECTED, "114-1", "period closed", now=now
            )
            append_event(
                session,
                acme,
                "fetched",
                amazon_ids=[ORDER],
                amazon_request_id="amzn-req-1",
                at=now - timedelta(minutes=5),
            )
            append_event(
                session,
                acme,
                "posted",
                amazon_ids=[ORDER],
                oracle_ids=["300100"],
                oracle_request_id="ora-req-9",
                details={"transaction_number": ORDER},
                at=now,
            )
            append_event(session, acme, "reconciled", oracle_ids=["300100"], at=now)
            bind(session, acme, DocumentKind.INVOICE, ORDER, "300100", oracle_number=ORDER)
    finally:
        rt.close()
    return tmp_path


def test_review_list_shows_reason_and_age(store: Path) -> None:
    result = runner.invoke(app, ["review", "list"])
    assert result.exit_code == 0, result.output
    assert "SKU MUG-99 is not in the catalog" in result.output
    assert "2d 3h" in result.output
    assert "period closed" in result.output


def test_review_list_filters_and_json(store: Path) -> None:
    result = runner.invoke(app, ["review", "list", "--connection", "acme", "--json"])
    items = json.loads(result.stdout)["items"]
    assert [(i["connection"], i["kind"], i["subject"]) for i in items] == [
        ("acme", "unmapped_sku", ORDER)
    ]
    by_kind = runner.invoke(app, ["review", "list", "--kind", "oracle_rejected", "--json"])
    assert [i["subject"] for i in json.loads(by_kind.stdout)["items"]] == ["114-1"]
    bad = runner.invoke(app, ["review", "list", "--kind", "nonsense"])
    assert bad.exit_code == 2


def test_review_list_empty_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ML_CONNECTOR_MASTER_KEY", raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["review", "list"])
    assert result.exit_code == 0
    assert "Nothing waits for review" in result.output


def test_audit_show_by_amazon_id_links_both_sides(store: Path) -> None:
    result = runner.invoke(app, ["audit", "show", ORDER, "--json"])
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    assert [e["action"] for e in body["events"]] == ["fetched", "posted", "reconciled"]
    posted = body["events"][1]
    assert posted["oracle_ids"] == ["300100"]
    assert posted["oracle_request_id"] == "ora-req-9"
    assert body["bindings"][0]["oracle_id"] == "300100"

    human = runner.invoke(app, ["audit", "show", ORDER])
    assert "amzn-req-1" in human.output
    assert "ora-req-9" in human.output
    assert "↔ Oracle 300100" in human.output


def test_audit_show_by_oracle_id_finds_the_amazon_events(store: Path) -> None:
    result = runner.invoke(app, ["audit", "show", "300100", "--json"])
    actions = [e["action"] for e in json.loads(result.stdout)["events"]]
    assert actions == ["fetched", "posted", "reconciled"]


def test_audit_show_unknown_id_exits_1(store: Path) -> None:
    result = runner.invoke(app, ["audit", "show", "999-nothing"])
    assert result.exit_code == 1
    assert "No audit event mentions 999-nothing" in result.output


def test_serve_runs_the_dashboard_with_uvicorn(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import uvicorn

    calls: list[dict[str, Any]] = []

    def fake_run(server: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        calls.append({"app": server.config.app, "address": sockets[0].getsockname()[:2]})

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    with socket.socket() as probe:  # a port free right now (the suite runs in parallel)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert calls[0]["address"] == ("127.0.0.1", port)
    assert calls[0]["app"] is not None
    assert f"http://127.0.0.1:{port}/" in result.output

    exposed = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", str(port)])
    assert exposed.exit_code == 0
    assert "no login of its own" in exposed.stderr
    assert calls[1]["address"][0] == "0.0.0.0"


def test_bad_log_level_is_a_usage_error(store: Path) -> None:
    result = runner.invoke(app, ["--log-level", "chatty", "review", "list"])
    assert result.exit_code == 2
    assert "--log-level" in result.stderr


def test_review_list_groups_items_by_cause(store: Path) -> None:
    rt = open_runtime()
    try:
        with rt.sessions() as session, session.begin():
            acme = get_connection(session, "acme").id
            for order in ("111-2", "111-3"):
                open_review_item(
                    session,
                    acme,
                    ReviewKind.UNMAPPED_SKU,
                    order,
                    "SKU MUG-99 is not in the catalog",
                )
    finally:
        rt.close()
    result = runner.invoke(app, ["review", "list"])
    assert result.exit_code == 0, result.output
    assert "By cause" in result.output
    cause_lines = [line for line in result.output.splitlines() if "MUG-99" in line]
    assert any("│ 3 " in line for line in cause_lines), result.output
