"""Issue 10, Scope 2, through the store: `reconcile_connection` reads the orders' documents and
review items and shows the invariants. DESIGN.md §4's worked example: a shipment (order money
30.23) and a partial refund (13.62 given back) in one settlement of 10.02."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from test_reconcile_report_link import NOW, _config, _store_report, _transactions

from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, JournalDoc
from ml_connector.flow.accounting import (
    plan_invoice,
    plan_refund_credit_memo,
    plan_settlement_journal,
)
from ml_connector.flow.mapping import Catalog, ChargeMapping
from ml_connector.flow.normalize import normalize_order, normalize_settlement
from ml_connector.flow.post.codec import dump_doc
from ml_connector.flow.reconcile.run import reconcile_connection
from ml_connector.store import (
    DocumentKind,
    DocumentState,
    RawKind,
    ReviewKind,
    add_connection,
    list_review_items,
    make_engine,
    make_sessionmaker,
    migrate,
    open_review_item,
    plan_document,
    resolve_review_item,
    sqlite_url,
    transition,
    upsert_raw_record,
)

ORDER = "111-0000001-0000001"
Store = tuple[sessionmaker[Session], int, dict[str, Any]]


@pytest.fixture
def store(tmp_path: Path, shapes: Any, mapping: ChargeMapping, catalog: Catalog) -> Iterator[Store]:
    """The settlement, its journal posted, and the order's invoice and memo (not yet stored)."""
    engine = make_engine(sqlite_url(tmp_path / "store.db"))
    migrate(engine)
    sessions = make_sessionmaker(engine)
    group = shapes.group("10.02")
    transactions = _transactions(shapes)
    settlement = normalize_settlement(group, transactions)
    journal = plan_settlement_journal(settlement, mapping)
    assert isinstance(journal, JournalDoc)
    raw = shapes.order(
        ORDER, [shapes.item("MUG-01", 2, "25.00", shipping="4.99", promotion="-2.00", tax="2.24")]
    )
    invoice = plan_invoice(normalize_order(raw), catalog, mapping)
    assert isinstance(invoice, InvoiceDoc)
    refund = next(t for t in settlement.transactions if t.transaction_type == "Refund")
    memo = plan_refund_credit_memo(refund, invoice, mapping)
    assert isinstance(memo, CreditMemoDoc)
    with sessions() as session, session.begin():
        connection_id = add_connection(session, "seller-one", _config()).id
        upsert_raw_record(session, connection_id, RawKind.GROUP, "G1", group, now=NOW)
        for txn in transactions:
            upsert_raw_record(
                session, connection_id, RawKind.TRANSACTION, txn["transactionId"], txn, now=NOW
            )
        _post(session, connection_id, DocumentKind.JOURNAL, "G1", journal)
    _store_report(sessions, connection_id, "REP-1")
    yield sessions, connection_id, {"invoice": invoice, "memo": memo}
    engine.dispose()


def _post(
    session: Session,
    connection_id: int,
    kind: DocumentKind,
    subject: str,
    doc: Any,
    *,
    state: DocumentState = DocumentState.POSTED,
) -> None:
    planned, _ = plan_document(session, connection_id, doc.key, kind, subject, dump_doc(doc))
    if state is DocumentState.POSTED:
        transition(session, planned, DocumentState.SENDING, now=NOW)
        transition(session, planned, DocumentState.POSTED, oracle_id=str(doc.key), now=NOW)


def _reconcile(store: Store, mapping: ChargeMapping) -> dict[str, Any]:
    sessions, connection_id, _ = store
    (row,) = reconcile_connection(sessions, connection_id, mapping, now=NOW)
    return row


def test_invoice_and_memo_posted_is_matched(store: Store, mapping: ChargeMapping) -> None:
    sessions, connection_id, docs = store
    with sessions() as session, session.begin():
        _post(session, connection_id, DocumentKind.INVOICE, ORDER, docs["invoice"])
        _post(session, connection_id, DocumentKind.CREDIT_MEMO, ORDER, docs["memo"])
    row = _reconcile(store, mapping)
    assert row["status"] == "matched", row["notes"]
    assert all(check["holds"] is True for check in row["invariants"].values())


def test_no_documents_is_a_variance_naming_the_order(store: Store, mapping: ChargeMapping) -> None:
    row = _reconcile(store, mapping)
    assert row["status"] == "variance"
    orders = row["invariants"]["proceeds"]["orders"]
    assert {(o["order_id"], o["cause"]) for o in orders} == {
        (ORDER, "not invoiced"),
        (ORDER, "under-credited"),
    }


def test_refund_held_under_its_transaction_id_is_incomplete_and_linked(
    store: Store, mapping: ChargeMapping
) -> None:
    sessions, connection_id, docs = store
    with sessions() as session, session.begin():
        _post(session, connection_id, DocumentKind.INVOICE, ORDER, docs["invoice"])
        # A transaction type the product does not know waits in review under its own id.
        item, _ = open_review_item(
            session,
            connection_id,
            ReviewKind.ACCOUNTING_HOLD,
            "T-REF",
            "transaction type Refund is not known",
        )
        item_id = item.id
    row = _reconcile(store, mapping)
    assert row["status"] == "incomplete", row["notes"]
    (order,) = row["invariants"]["proceeds"]["orders"]
    assert (order["cause"], order["transactions"]) == ("held for review", ["T-REF"])
    assert [ref["id"] for ref in order["review_items"]] == [item_id]
    assert row["review_items"] == [item_id]


def test_held_order_review_item_names_the_settlement_and_credit_memo_on_its_way(
    store: Store, mapping: ChargeMapping
) -> None:
    sessions, connection_id, docs = store
    with sessions() as session, session.begin():
        open_review_item(
            session, connection_id, ReviewKind.UNMAPPED_SKU, ORDER, "SKU(s) not in the catalog"
        )
    row = _reconcile(store, mapping)
    assert row["status"] == "incomplete"
    assert row["held_orders"] == 1
    with sessions() as session:
        (item,) = list_review_items(session, connection_id=connection_id)
        assert item.details["settlements"] == ["G1"]

    with sessions() as session, session.begin():
        for open_item in list_review_items(session, connection_id=connection_id):
            resolve_review_item(session, open_item.id, resolution="SKU mapped")
        _post(session, connection_id, DocumentKind.INVOICE, ORDER, docs["invoice"])
        _post(
            session,
            connection_id,
            DocumentKind.CREDIT_MEMO,
            ORDER,
            docs["memo"],
            state=DocumentState.PLANNED,
        )
    row = _reconcile(store, mapping)
    assert row["status"] == "incomplete", row["notes"]
    (order,) = row["invariants"]["proceeds"]["orders"]
    assert order["cause"] == "not yet posted"
