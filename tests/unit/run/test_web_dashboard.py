"""The dashboard over a real (tmp SQLite) store: pages render, escape, answer JSON, hide secrets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.observability import Metrics
from ml_connector.remote.http.redact import Redactor
from ml_connector.run.web import create_app
from ml_connector.store import (
    AmazonSettings,
    AuditAction,
    ConnectionConfig,
    DocumentKind,
    DocumentState,
    MappingFiles,
    OracleSettings,
    ReviewKind,
    RunStatus,
    add_connection,
    append_event,
    bind,
    finish_run,
    make_engine,
    make_sessionmaker,
    migrate,
    open_review_item,
    plan_document,
    sqlite_url,
    start_run,
    transition,
)

ORDER = "111-0000001-0000001"
HOSTILE = "<script>alert(1)</script>"
SECRET = "Zk9-very-secret-oracle-client-value"
T0 = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
JSON = {"accept": "application/json"}
LOCAL = "http://127.0.0.1:8080"  # the dashboard answers only to its own host names


def _config() -> ConnectionConfig:
    return ConnectionConfig(
        amazon=AmazonSettings(
            regions=["NA"], marketplace_ids=["ATVPDKIKX0DER"], lwa_client_id="amzn1.app.client"
        ),
        oracle=OracleSettings(
            pod="acme", region="us2", identity_domain_url="https://idcs.example.com",
            client_id="oracle-client", scope="urn:opc:resource:fa", business_unit="US BU",
            ledger="US Primary Ledger", legal_entity="ML Seller US LLC",
            invoice_source="Amazon Orders", invoice_transaction_type="Amazon Invoice",
            credit_memo_transaction_type="Amazon Credit", journal_source="Amazon Settlements",
            journal_category="Amazon Settlement", ledger_id="300000046975971",
        ),
        mappings=MappingFiles(catalog=Path("catalog.csv"), charges=Path("charges.toml")),
    )  # fmt: skip


def _fill(session: Session) -> None:
    conn = add_connection(session, "acme-us", _config(), now=T0).id
    run = start_run(session, conn, "orders", now=T0)
    finish_run(session, run, RunStatus.SUCCEEDED, counts={"orders": 3}, now=T0 + timedelta(1))
    failed = start_run(session, conn, "finances", now=T0)
    finish_run(session, failed, RunStatus.FAILED, error=f"token {SECRET} refused", now=T0)
    invoice, _ = plan_document(
        session, conn, f"inv:{ORDER}", DocumentKind.INVOICE, ORDER, {"sku": HOSTILE}, now=T0
    )
    invoice = transition(session, invoice, DocumentState.SENDING, now=T0)
    transition(session, invoice, DocumentState.POSTED, oracle_id="300100", oracle_number=ORDER)
    rejected, _ = plan_document(
        session, conn, "inv:222-0000002-0000002", DocumentKind.INVOICE, "222-0000002-0000002",
        {}, now=T0,
    )  # fmt: skip
    rejected = transition(session, rejected, DocumentState.SENDING, now=T0)
    transition(
        session, rejected, DocumentState.REJECTED, error=f"Oracle said {HOSTILE} with {SECRET}"
    )
    bind(session, conn, DocumentKind.INVOICE, ORDER, "300100", oracle_number=ORDER)
    open_review_item(
        session, conn, ReviewKind.UNMAPPED_SKU, "333-0000003-0000003",
        f"SKU {HOSTILE} is not in the catalog", details={"sku": HOSTILE}, now=T0,
    )  # fmt: skip
    append_event(
        session, conn, AuditAction.FETCHED, amazon_ids=[ORDER], amazon_request_id="amz-req-1",
        at=T0,
    )  # fmt: skip
    append_event(
        session, conn, AuditAction.POSTED, oracle_ids=["300100"], oracle_request_id="ora-req-9",
        details={"note": HOSTILE}, at=T0 + timedelta(minutes=1),
    )  # fmt: skip
    for at, posted, variance in (
        (T0, "10.00", "-0.02"),
        (T0 + timedelta(hours=1), "10.02", "0.00"),
    ):
        append_event(
            session, conn, AuditAction.RECONCILED, amazon_ids=["S-1"], at=at,
            details={"settlement_id": "S-1", "status": "matched" if variance == "0.00"
                     else "variance", "currency": "USD", "amazon_total": "10.02",
                     "posted_total": posted, "variance": variance},
        )  # fmt: skip
    append_event(
        session, conn, AuditAction.RECONCILED, amazon_ids=["S-2"], at=T0,
        details={"settlement_id": "S-2", "status": "variance", "currency": "USD",
                 "amazon_total": "50.00", "posted_total": "49.50", "variance": "-0.50"},
    )  # fmt: skip


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(sqlite_url(tmp_path / "store.db"))
    migrate(engine)
    maker = make_sessionmaker(engine)
    with maker.begin() as session:
        _fill(session)
    return maker


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


@pytest.fixture
def client(sessions: sessionmaker[Session], metrics: Metrics) -> Iterator[TestClient]:
    redactor = Redactor()
    redactor.add_secret(SECRET)
    with TestClient(
        create_app(sessions, redactor=redactor, metrics=metrics), base_url=LOCAL
    ) as client:
        yield client


PAGES = ["/", "/documents", f"/documents?amazon_id={ORDER}", "/review", f"/audit/{ORDER}",
         "/reconciliation"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_escaped_and_without_secrets(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<script>" not in response.text
    assert SECRET not in response.text
    assert "<h1>" in response.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_json_when_asked(client: TestClient, path: str) -> None:
    by_header = client.get(path, headers=JSON)
    by_query = client.get(path + ("&" if "?" in path else "?") + "format=json")
    assert by_header.headers["content-type"] == "application/json"
    assert by_header.json() == by_query.json()
    assert SECRET not in by_header.text


def test_hostile_strings_show_as_text(client: TestClient) -> None:
    page = client.get("/review").text
    assert "SKU &lt;script&gt;alert(1)&lt;/script&gt; is not in the catalog" in page
    data = client.get("/review", headers=JSON).json()
    assert data["items"][0]["reason"] == f"SKU {HOSTILE} is not in the catalog"
    assert data["items"][0]["subject"] == "333-0000003-0000003"


def test_overview_shows_connections_runs_and_counts(client: TestClient) -> None:
    data = client.get("/", headers=JSON).json()
    (conn,) = data["connections"]
    assert conn["name"] == "acme-us"
    assert {r["stream"]: r["status"] for r in conn["last_runs"]} == {
        "finances": "failed",
        "orders": "succeeded",
    }
    assert conn["documents"]["posted"] == 1
    assert conn["documents"]["rejected"] == 1
    assert data["review_open"] == 1
    failed = next(r for r in conn["last_runs"] if r["stream"] == "finances")
    assert failed["error"] == "token *** refused"
    page = client.get("/").text
    assert "acme-us" in page
    assert "1 review item(s) open" in page


def test_documents_by_amazon_id_and_state(client: TestClient) -> None:
    data = client.get("/documents", params={"amazon_id": ORDER}, headers=JSON).json()
    (doc,) = data["documents"]
    assert (doc["state"], doc["oracle_id"], doc["kind"]) == ("posted", "300100", "invoice")
    rejected = client.get("/documents", params={"state": "rejected"}, headers=JSON).json()
    assert [d["amazon_id"] for d in rejected["documents"]] == ["222-0000002-0000002"]
    assert rejected["documents"][0]["last_error"] == f"Oracle said {HOSTILE} with ***"
    assert client.get("/documents", params={"state": "bogus"}).status_code == 422
    none = client.get("/documents", params={"amazon_id": "nope"}, headers=JSON).json()
    assert none["documents"] == []


def test_audit_timeline_links_amazon_and_oracle_ids(client: TestClient) -> None:
    for any_id in (ORDER, "300100"):
        data = client.get(f"/audit/{any_id}", headers=JSON).json()
        assert [e["action"] for e in data["events"]] == ["fetched", "posted"]
        assert data["events"][0]["amazon_request_id"] == "amz-req-1"
        assert data["events"][1]["oracle_request_id"] == "ora-req-9"
        assert data["bindings"][0]["oracle_id"] == "300100"
    page = client.get(f"/audit/{ORDER}").text
    assert 'href="/audit/300100"' in page
    assert "&lt;script&gt;" in page


def test_audit_of_unknown_id_is_404(client: TestClient) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    response = client.get(f"/audit/{hostile}", headers=JSON)
    assert response.status_code == 404
    assert response.json() == {"id": hostile, "bindings": [], "events": []}
    page = client.get(f"/audit/{hostile}")
    assert page.status_code == 404
    assert hostile not in page.text
    assert "Audit trail of &lt;img src=x onerror=alert(1)&gt;" in page.text


def test_reconciliation_shows_latest_per_settlement(client: TestClient) -> None:
    data = client.get("/reconciliation", headers=JSON).json()
    rows = {r["settlement_id"]: r for r in data["settlements"]}
    assert set(rows) == {"S-1", "S-2"}
    assert (rows["S-1"]["posted_total"], rows["S-1"]["variance"]) == ("10.02", "0.00")
    assert rows["S-2"]["status"] == "variance"
    page = client.get("/reconciliation").text
    assert '<tr class="bad"><td><a href="/audit/S-2">S-2</a>' in page
    assert '<tr class="ok"><td><a href="/audit/S-1">S-1</a>' in page
    assert "-0.50" in page


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "missing-dir" / "store.db"))
    app = create_app(make_sessionmaker(engine), metrics=Metrics(CollectorRegistry()))
    response = TestClient(app, base_url=LOCAL).get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "missing-dir" not in response.text


def test_metrics_are_prometheus_text(client: TestClient, metrics: Metrics) -> None:
    metrics.documents_posted.labels(kind="invoice").inc()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "mlc_review_items_open 1.0" in response.text
    assert 'mlc_documents_posted_total{kind="invoice"} 1.0' in response.text


def test_dashboard_is_read_only(client: TestClient) -> None:
    assert client.post("/review").status_code == 405
    assert client.delete(f"/audit/{ORDER}").status_code == 405


def test_empty_store_renders(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "empty.db"))
    migrate(engine)
    app = create_app(make_sessionmaker(engine), metrics=Metrics(CollectorRegistry()))
    client = TestClient(app, base_url=LOCAL)
    for path in PAGES:
        if path.startswith("/audit"):
            continue
        assert client.get(path).status_code == 200
    assert "No connections yet" in client.get("/").text
