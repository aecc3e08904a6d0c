"""COGS through the store, as `sync` and `reconcile` run it: `reconcile_connection` checks the
posted journal's cost lines when the connection books COGS.

DESIGN.md §4's worked example: MUG-01 × 2 shipped and 1 refunded in one settlement; the example
catalog costs MUG-01 at 4.10, so COGS is 2 × 4.10 − 1 × 4.10 = 8.20 − 4.10 = 4.10.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from test_reconcile_connection_books import ORDER, _post
from test_reconcile_report_link import NOW, _config, _store_report, _transactions

from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, JournalDoc
from ml_connector.flow.accounting import (
    AccountingPolicy,
    plan_invoice,
    plan_refund_credit_memo,
    plan_settlement_journal,
)
from ml_connector.flow.mapping import Catalog, ChargeMapping
from ml_connector.flow.normalize import normalize_order, normalize_settlement
from ml_connector.flow.reconcile.run import reconcile_connection
from ml_connector.store import (
    DocumentKind,
    RawKind,
    add_connection,
    make_engine,
    make_sessionmaker,
    migrate,
    sqlite_url,
    upsert_raw_record,
)

COGS_ON = AccountingPolicy(include_cogs=True)
Store = tuple[sessionmaker[Session], int]


def _store(
    tmp_path: Path, shapes: Any, mapping: ChargeMapping, catalog: Catalog, journal_policy: Any
) -> Iterator[Store]:
    engine = make_engine(sqlite_url(tmp_path / "store.db"))
    migrate(engine)
    sessions = make_sessionmaker(engine)
    group = shapes.group("10.02")
    transactions = _transactions(shapes)
    settlement = normalize_settlement(group, transactions)
    journal = plan_settlement_journal(settlement, mapping, catalog=catalog, policy=journal_policy)
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
        _post(session, connection_id, DocumentKind.INVOICE, ORDER, invoice)
        _post(session, connection_id, DocumentKind.CREDIT_MEMO, ORDER, memo)
    _store_report(sessions, connection_id, "REP-1")
    yield sessions, connection_id
    engine.dispose()


@pytest.fixture
def with_cogs(
    tmp_path: Path, shapes: Any, mapping: ChargeMapping, catalog: Catalog
) -> Iterator[Store]:
    yield from _store(tmp_path, shapes, mapping, catalog, COGS_ON)


@pytest.fixture
def without_cogs(
    tmp_path: Path, shapes: Any, mapping: ChargeMapping, catalog: Catalog
) -> Iterator[Store]:
    yield from _store(tmp_path, shapes, mapping, catalog, AccountingPolicy())


def test_a_journal_with_its_cogs_is_matched(
    with_cogs: Store, mapping: ChargeMapping, catalog: Catalog
) -> None:
    sessions, connection_id = with_cogs
    (row,) = reconcile_connection(
        sessions, connection_id, mapping, now=NOW, catalog=catalog, policy=COGS_ON
    )
    assert row["status"] == "matched", row["notes"]
    cogs = row["invariants"]["cogs"]
    assert (cogs["holds"], cogs["expected"], cogs["booked"]) == (True, "4.10", "4.10")
    (sku,) = cogs["skus"]
    assert (sku["sku"], sku["shipped"], sku["returned"]) == ("MUG-01", 2, 1)


def test_a_journal_posted_without_cogs_is_a_variance_naming_the_sku(
    without_cogs: Store, mapping: ChargeMapping, catalog: Catalog
) -> None:
    sessions, connection_id = without_cogs
    (row,) = reconcile_connection(
        sessions, connection_id, mapping, now=NOW, catalog=catalog, policy=COGS_ON
    )
    assert row["status"] == "variance"
    assert (
        "COGS MUG-01: COGS booked 0.00, expected 4.10 (2 shipped − 1 returned at 4.10)"
        in (row["notes"])
    )
    assert row["invariants"]["cogs"]["holds"] is False
    # The same books reconciled for a connection without COGS: no COGS check, matched.
    (plain,) = reconcile_connection(sessions, connection_id, mapping, now=NOW, catalog=catalog)
    assert plain["status"] == "matched", plain["notes"]
    assert "cogs" not in plain["invariants"]
