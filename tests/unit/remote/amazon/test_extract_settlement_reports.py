"""Extract of settlement V2 reports: unreadable rows open review items, the summary keeps what
parsed, a guessed charset is said in the audit trail, an unreadable document is held alone."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.flow.extract.pull import PullSummary
from ml_connector.flow.extract.reports import pull_settlement_reports
from ml_connector.store import (
    AmazonSettings,
    ConnectionConfig,
    MappingFiles,
    OracleSettings,
    RawKind,
    ReviewKind,
    add_connection,
    get_raw_record,
    list_review_items,
    make_engine,
    make_sessionmaker,
    migrate,
    sqlite_url,
    timeline,
)

from ..conftest import FakeClock
from .fakes import FakeAmazon, make_client

REPORTS = Path(__file__).resolve().parents[3] / "fixtures" / "amazon" / "reports"
NOW = datetime(2026, 4, 20, 12, tzinfo=UTC)
SINCE = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], int]]:
    engine = make_engine(sqlite_url(tmp_path / "store.db"))
    migrate(engine)
    sessions = make_sessionmaker(engine)
    config = ConnectionConfig(
        amazon=AmazonSettings(
            regions=["EU"], marketplace_ids=["A1PA6795UKMFR9"], lwa_client_id="amzn1.app.client"
        ),
        oracle=OracleSettings(
            pod="acme-test",
            region="us2",
            identity_domain_url="https://idcs-acme.identity.oraclecloud.com",
            client_id="oracle-client",
            scope="urn:opc:resource:consumer::all",
            business_unit="US1 Business Unit",
            ledger="US Primary Ledger",
            legal_entity="US1 Legal Entity",
            invoice_source="AMAZON",
            invoice_transaction_type="Amazon Invoice",
            credit_memo_transaction_type="Amazon Credit Memo",
            journal_source="Amazon",
            journal_category="Settlement",
            ledger_id="300000046975971",
            customer_accounts={"A1PA6795UKMFR9": "10010"},
        ),
        mappings=MappingFiles(catalog=Path("catalog.csv"), charges=Path("charges.toml")),
    )
    with sessions() as session, session.begin():
        connection_id = add_connection(session, "seller-eu", config).id
    yield sessions, connection_id
    engine.dispose()


def _serve(fake: FakeAmazon, report_id: str, content: bytes, content_type: str) -> dict[str, Any]:
    fake.routes[("GET", f"/eu/reports/2021-06-30/documents/DOC-{report_id}")] = {
        "reportDocumentId": f"DOC-{report_id}",
        "url": f"http://127.0.0.1:9/s3/DOC-{report_id}",
        "compressionAlgorithm": "GZIP",
    }
    fake.routes[("GET", f"/s3/DOC-{report_id}")] = lambda r: httpx.Response(
        200, content=gzip.compress(content), headers={"Content-Type": content_type}
    )
    return {
        "reportId": report_id,
        "reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
        "createdTime": "2026-04-15T12:00:00Z",
        "processingStatus": "DONE",
        "marketplaceIds": ["ATVPDKIKX0DER"],
        "reportDocumentId": f"DOC-{report_id}",
    }


def test_bad_rows_are_held_the_summary_keeps_what_parsed_and_the_guess_is_audited(
    store: tuple[sessionmaker[Session], int], clock: FakeClock
) -> None:
    sessions, connection_id = store
    fake = FakeAmazon(clock)
    bad = _serve(
        fake, "REP-US", (REPORTS / "settlement-us-bad-rows.tsv").read_bytes(), "text/plain"
    )
    broken = _serve(fake, "REP-X", b"sku\tamount\nA\t1\n", "text/plain;charset=UTF-8")
    good = _serve(
        fake,
        "REP-DE",
        (REPORTS / "settlement-de-cp1252.tsv").read_bytes(),
        "text/plain;charset=Cp1252",
    )
    fake.routes[("GET", "/eu/reports/2021-06-30/reports")] = {"reports": [bad, broken, good]}
    client = make_client(fake, clock)
    summary = PullSummary()

    pull_settlement_reports(sessions, connection_id, {"EU": client}, SINCE, summary, NOW)

    assert summary.new == {RawKind.SETTLEMENT_REPORT.value: 2}
    with sessions() as session:
        us = get_raw_record(session, connection_id, RawKind.SETTLEMENT_REPORT, "REP-US")
        de = get_raw_record(session, connection_id, RawKind.SETTLEMENT_REPORT, "REP-DE")
        assert us is not None
        assert de is not None
        assert get_raw_record(session, connection_id, RawKind.SETTLEMENT_REPORT, "REP-X") is None
        # The summary keeps what parsed: the total as Amazon wrote it, lines that could be read.
        assert us.payload["totalAmount"] == "21.25"
        assert us.payload["lineCount"] == 2
        assert us.payload["linesTotal"] == "28.22"
        assert us.payload["heldRows"] == [4, 5, 7]
        assert (us.payload["charset"], us.payload["charsetGuessed"]) == ("utf-8", True)
        assert (us.payload["start"], us.payload["end"], us.payload["currency"]) == (
            "2026-04-01T00:00:00+00:00",
            "2026-04-15T00:00:00+00:00",
            "USD",
        )
        assert (de.payload["charset"], de.payload["charsetGuessed"]) == ("cp1252", False)
        assert de.payload["totalAmount"] == "1046.16"
        assert de.payload["heldRows"] == []

        items = {
            item.subject_amazon_id: item
            for item in list_review_items(
                session, connection_id=connection_id, kind=ReviewKind.INVALID_DATA
            )
        }
        assert set(items) == {"REP-US row 4", "REP-US row 5", "REP-US row 7", "REP-X"}
        row4 = items["REP-US row 4"]
        assert row4.details["record"] == "settlement_report_row"
        assert row4.details["field"] == "amount"
        assert "not an amount" in row4.details["reason"]
        assert "-3,75" in row4.reason
        assert items["REP-US row 5"].details["field"] == "posted-date-time"
        assert items["REP-X"].details == {
            "record": "settlement_report",
            "field": "document",
            "reason": "not a settlement V2 file: no settlement-id column",
        }

        guessed = [e for e in timeline(session, "REP-US") if e.action == "decoded"]
        assert len(guessed) == 1
        assert guessed[0].details["charset_guessed"] is True
        assert "charset guessed" in guessed[0].details["note"]
        assert not [e for e in timeline(session, "REP-DE") if e.action == "decoded"]

    # A second cycle: stored reports are not fetched again; the unreadable one is tried again
    # and its review item stays one item.
    calls = len(fake.requests)
    pull_settlement_reports(sessions, connection_id, {"EU": client}, SINCE, PullSummary(), NOW)
    fetched = [r.url.path for r in fake.requests[calls:]]
    assert "/s3/DOC-REP-US" not in fetched
    assert "/s3/DOC-REP-X" in fetched
    with sessions() as session:
        open_items = list_review_items(session, connection_id=connection_id)
        assert sum(1 for i in open_items if i.subject_amazon_id == "REP-X") == 1

    # Amazon serves a readable document under that id later: it is stored and its item closes.
    _serve(
        fake,
        "REP-X",
        (REPORTS / "settlement-uk-dayfirst.tsv").read_bytes(),
        "text/plain;charset=Cp1252",
    )
    pull_settlement_reports(sessions, connection_id, {"EU": client}, SINCE, PullSummary(), NOW)
    with sessions() as session:
        assert get_raw_record(session, connection_id, RawKind.SETTLEMENT_REPORT, "REP-X")
        still_open = {
            i.subject_amazon_id for i in list_review_items(session, connection_id=connection_id)
        }
        assert "REP-X" not in still_open
        assert {"REP-US row 4", "REP-US row 5", "REP-US row 7"} <= still_open
