"""A settlement report is linked to its group by settlement id, else by period, currency and
total; with none, reconciliation says "settlement report not found" and is never `matched`.

The store-level tests run `reconcile_connection` on a migrated SQLite store holding a Closed
group whose transactions carry no SETTLEMENT_ID (so the settlement id is the group id, as real
2024-06-19 transactions often have it) and a journal posted for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, JournalDoc
from ml_connector.flow.accounting import (
    plan_invoice,
    plan_refund_credit_memo,
    plan_settlement_journal,
)
from ml_connector.flow.mapping import Catalog, ChargeMapping
from ml_connector.flow.normalize import normalize_order, normalize_settlement
from ml_connector.flow.post.codec import dump_doc
from ml_connector.flow.reconcile.report_link import (
    GroupPeriod,
    StoredReport,
    link_reports,
)
from ml_connector.flow.reconcile.run import reconcile_connection
from ml_connector.run.commands.sync import print_reconciliation
from ml_connector.store import (
    AmazonSettings,
    ConnectionConfig,
    DocumentKind,
    DocumentState,
    MappingFiles,
    OracleSettings,
    RawKind,
    add_connection,
    make_engine,
    make_sessionmaker,
    migrate,
    plan_document,
    sqlite_url,
    transition,
    upsert_raw_record,
)

D = Decimal
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 15, tzinfo=UTC)


def _report(
    report_id: str,
    total: str,
    *,
    settlement_id: str = "",
    currency: str = "USD",
    start: datetime | None = START,
    end: datetime | None = END,
) -> StoredReport:
    return StoredReport(report_id, settlement_id or f"S{report_id}", currency, D(total), start, end)


def _group(
    group_id: str, total: str, *, settlement_id: str = "", currency: str = "USD"
) -> GroupPeriod:
    return GroupPeriod(group_id, settlement_id or group_id, currency, D(total), START, END)


# --- pure linking ----------------------------------------------------------------------------


def test_settlement_id_wins_over_period() -> None:
    links = link_reports(
        [_group("G1", "10.02", settlement_id="111")],
        [_report("R1", "10.02", settlement_id="111"), _report("R2", "10.02")],
    )
    assert (links["G1"].by, links["G1"].report and links["G1"].report.report_id) == (
        "settlement_id",
        "R1",
    )


def test_without_settlement_id_the_period_links_within_the_tolerance() -> None:
    near = _report("R1", "99.00", start=START + timedelta(minutes=40), end=END - timedelta(hours=1))
    links = link_reports([_group("G1", "10.02")], [near])
    assert links["G1"].by == "period"
    assert links["G1"].report == near, "the total differs: linked anyway, and it shows as variance"


def test_period_outside_tolerance_or_other_currency_links_nothing_and_says_why() -> None:
    late = _report("R1", "10.02", start=START + timedelta(hours=3))
    euro = _report("R2", "10.02", currency="EUR")
    link = link_reports([_group("G1", "10.02")], [late, euro])["G1"]
    assert link.report is None
    assert link.reason is not None
    assert "no settlement report carries settlement id G1" in link.reason
    assert "2026-03-01 00:00 to 2026-03-15 00:00 UTC in USD" in link.reason


def test_the_total_tells_two_reports_of_one_period_apart() -> None:
    links = link_reports([_group("G1", "10.02")], [_report("R1", "5.00"), _report("R2", "10.02")])
    assert links["G1"].report is not None
    assert links["G1"].report.report_id == "R2"


def test_an_ambiguous_match_links_nothing_and_names_the_reports() -> None:
    link = link_reports([_group("G1", "10.02")], [_report("R1", "10.02"), _report("R2", "10.02")])[
        "G1"
    ]
    assert link.report is None
    assert link.reason is not None
    assert "2 settlement reports match" in link.reason
    assert "R1, R2" in link.reason
    none_has = link_reports([_group("G1", "10.02")], [_report("R1", "1"), _report("R2", "2")])["G1"]
    assert none_has.report is None
    assert none_has.reason is not None
    assert "none has the group's total 10.02" in none_has.reason


def test_copies_of_one_report_are_one_report() -> None:
    copies = [
        _report("R2", "10.02", settlement_id="777"),
        _report("R1", "10.02", settlement_id="777"),
    ]
    link = link_reports([_group("G1", "10.02")], copies)["G1"]
    assert link.report is not None
    assert (link.by, link.report.report_id) == ("period", "R1")


def test_one_report_never_links_two_groups() -> None:
    links = link_reports([_group("G1", "10.02"), _group("G2", "10.02")], [_report("R1", "10.02")])
    for group_id in ("G1", "G2"):
        assert links[group_id].report is None
        assert "R1 matches this group and" in (links[group_id].reason or "")


def test_a_report_claimed_by_settlement_id_is_no_candidate_for_another_group() -> None:
    links = link_reports(
        [_group("G1", "10.02", settlement_id="111"), _group("G2", "10.02")],
        [_report("R1", "10.02", settlement_id="111")],
    )
    assert links["G1"].by == "settlement_id"
    assert links["G2"].report is None


# --- through reconcile_connection, on a store ------------------------------------------------


def _config() -> ConnectionConfig:
    return ConnectionConfig(
        amazon=AmazonSettings(
            regions=["NA"], marketplace_ids=["ATVPDKIKX0DER"], lwa_client_id="amzn1.app.client"
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
            customer_accounts={"ATVPDKIKX0DER": "10010"},
        ),
        mappings=MappingFiles(catalog=Path("catalog.csv"), charges=Path("charges.toml")),
    )


def _transactions(shapes: Any) -> list[dict[str, Any]]:
    shipment = shapes.transaction(
        "T-SHIP", "Shipment",
        [("Principal", "25.00"), ("Shipping", "4.99"), ("PrincipalPromotion", "-2.00"),
         ("Tax", "2.24"), ("MarketplaceFacilitatorTax-Principal", "-2.24"),
         ("Commission", "-3.75"), ("FBAPerUnitFulfillmentFee", "-3.22")],
        order_id="111-0000001-0000001", sku="MUG-01", quantity=2,
    )  # fmt: skip
    refund = shapes.transaction(
        "T-REF", "Refund",
        [("Principal", "-12.50"), ("Tax", "-1.12"),
         ("MarketplaceFacilitatorTax-Principal", "1.12"), ("Commission", "1.50")],
        order_id="111-0000001-0000001", refund_id="R-1", sku="MUG-01", quantity=1,
    )  # fmt: skip
    return [shipment, refund]


@pytest.fixture
def store(
    tmp_path: Path, shapes: Any, mapping: ChargeMapping, catalog: Catalog
) -> Iterator[tuple[sessionmaker[Session], int]]:
    engine = make_engine(sqlite_url(tmp_path / "store.db"))
    migrate(engine)
    sessions = make_sessionmaker(engine)
    group = shapes.group("10.02")
    transactions = _transactions(shapes)
    settlement = normalize_settlement(group, transactions)
    assert settlement.settlement_id == "G1", "no SETTLEMENT_ID: the group id stands in"
    journal = plan_settlement_journal(settlement, mapping)
    assert isinstance(journal, JournalDoc)
    with sessions() as session, session.begin():
        connection_id = add_connection(session, "seller-one", _config()).id
        upsert_raw_record(session, connection_id, RawKind.GROUP, "G1", group, now=NOW)
        for txn in transactions:
            upsert_raw_record(
                session, connection_id, RawKind.TRANSACTION, txn["transactionId"], txn, now=NOW
            )
        doc, _ = plan_document(
            session, connection_id, journal.key, DocumentKind.JOURNAL, "G1", dump_doc(journal)
        )
        transition(session, doc, DocumentState.SENDING, now=NOW)
        transition(session, doc, DocumentState.POSTED, oracle_id="GL-1", now=NOW)
        # Issue 10: reconciliation also checks the order's invoice and credit memo (proceeds =
        # invoices − credit memos), so the books hold them, posted, as a sync would leave them.
        for kind, order_doc in _order_documents(shapes, settlement, mapping, catalog):
            planned, _ = plan_document(
                session, connection_id, order_doc.key, kind, ORDER_ID, dump_doc(order_doc)
            )
            transition(session, planned, DocumentState.SENDING, now=NOW)
            transition(session, planned, DocumentState.POSTED, oracle_id=order_doc.key, now=NOW)
    yield sessions, connection_id
    engine.dispose()


ORDER_ID = "111-0000001-0000001"


def _order_documents(
    shapes: Any, settlement: Any, mapping: ChargeMapping, catalog: Catalog
) -> list[tuple[DocumentKind, InvoiceDoc | CreditMemoDoc]]:
    raw = shapes.order(
        ORDER_ID,
        [shapes.item("MUG-01", 2, "25.00", shipping="4.99", promotion="-2.00", tax="2.24")],
    )
    invoice = plan_invoice(normalize_order(raw), catalog, mapping)
    assert isinstance(invoice, InvoiceDoc)
    refund = next(t for t in settlement.transactions if t.transaction_type == "Refund")
    memo = plan_refund_credit_memo(refund, invoice, mapping)
    assert isinstance(memo, CreditMemoDoc)
    return [(DocumentKind.INVOICE, invoice), (DocumentKind.CREDIT_MEMO, memo)]


def _store_report(
    sessions: sessionmaker[Session], connection_id: int, report_id: str, **payload: Any
) -> None:
    body = {
        "reportId": report_id,
        "settlementId": "24681357900",
        "totalAmount": "10.02",
        "currency": "USD",
        "start": "2026-03-01T00:00:00+00:00",
        "end": "2026-03-15T00:00:00+00:00",
    } | payload
    with sessions() as session, session.begin():
        upsert_raw_record(
            session, connection_id, RawKind.SETTLEMENT_REPORT, report_id, body, now=NOW
        )


def test_reconcile_links_the_report_by_period_and_matches(
    store: tuple[sessionmaker[Session], int], mapping: ChargeMapping
) -> None:
    sessions, connection_id = store
    _store_report(sessions, connection_id, "REP-1")
    (row,) = reconcile_connection(sessions, connection_id, mapping, now=NOW)
    assert row["status"] == "matched", row
    assert (row["report_id"], row["report_link"], row["report_total"]) == (
        "REP-1",
        "period",
        "10.02",
    )
    assert row["report_variance"] == "0.00"
    assert row["report_missing"] is None
    assert not any("not found" in note for note in row["notes"])


def test_a_linked_report_with_another_total_is_a_variance(
    store: tuple[sessionmaker[Session], int], mapping: ChargeMapping
) -> None:
    sessions, connection_id = store
    _store_report(sessions, connection_id, "REP-1", totalAmount="9.99")
    (row,) = reconcile_connection(sessions, connection_id, mapping, now=NOW)
    assert row["status"] == "variance"
    assert row["report_variance"] == "0.03"


def test_no_report_says_settlement_report_not_found_and_is_not_matched(
    store: tuple[sessionmaker[Session], int],
    mapping: ChargeMapping,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sessions, connection_id = store
    # A report of another period does not link.
    _store_report(
        sessions,
        connection_id,
        "REP-OTHER",
        start="2026-02-15T00:00:00+00:00",
        end="2026-03-01T00:00:00+00:00",
    )
    (row,) = reconcile_connection(sessions, connection_id, mapping, now=NOW)
    assert row["status"] == "report_missing"
    assert row["report_total"] is None
    assert row["posted_total"] == row["amazon_total"] == "10.02"
    assert row["report_missing"].startswith("settlement report not found: ")
    assert any(note.startswith("settlement report not found") for note in row["notes"])
    print_reconciliation([row])
    printed = capsys.readouterr().out
    assert "settlement report not found" in printed
    assert "report_missing" in printed
