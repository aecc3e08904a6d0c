"""A generated seller (the Amazon simulator's scenario) normalizes and accounts without holds."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, JournalDoc
from ml_connector.domain.orders import OrderState
from ml_connector.flow.accounting import (
    plan_invoice,
    plan_refund_credit_memo,
    plan_settlement_journal,
)
from ml_connector.flow.mapping import Catalog, ChargeMapping, parse_catalog
from ml_connector.flow.normalize import normalize_order, normalize_settlement

generator = pytest.importorskip("ml_connector_sim.amazon.generator")


def _group_of(txn: dict[str, Any]) -> str | None:
    for related in txn.get("relatedIdentifiers", []):
        if related["relatedIdentifierName"] == "FINANCIAL_EVENT_GROUP_ID":
            return str(related["relatedIdentifierValue"])
    return None


@pytest.mark.parametrize("seed", [3, 11])
def test_generated_seller_accounts_cleanly(seed: int, mapping: ChargeMapping) -> None:
    params = generator.GeneratorParams(
        seed=seed, orders=100, days=45, now=datetime(2026, 4, 1, tzinfo=UTC)
    )
    world = generator.generate_world(params)
    rows = "\n".join(f"{entry.sku},40100," for entry in world.catalog)
    catalog: Catalog = parse_catalog(
        f"sku,revenue_account,cost_center\n{rows}\n", "generated.csv", mapping.chart
    )

    invoices: dict[str, InvoiceDoc] = {}
    for raw in world.orders:
        order = normalize_order(raw)
        if order.state is OrderState.SHIPPED:
            invoice = plan_invoice(order, catalog, mapping)
            assert isinstance(invoice, InvoiceDoc), invoice
            invoices[order.order_id] = invoice
    assert invoices

    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for txn in world.transactions:
        group_id = _group_of(txn)
        assert group_id is not None
        by_group[group_id].append(txn)

    closed = [g for g in world.groups if g["ProcessingStatus"] == "Closed"]
    assert closed
    for group in world.groups:
        settlement = normalize_settlement(group, by_group[group["FinancialEventGroupId"]])
        memos: dict[str, list[CreditMemoDoc]] = defaultdict(list)
        for txn in settlement.released:
            invoiced = sum(
                (leaf.amount for leaf in txn.leaves
                 if (t := mapping.target(leaf.path)) and t.invoiced),
                Decimal(0),
            )  # fmt: skip
            if txn.transaction_type == "Shipment":
                assert txn.order_id is not None
                assert invoiced == invoices[txn.order_id].total  # orders and finances agree
            if txn.transaction_type == "Refund":
                assert txn.order_id is not None
                invoice = invoices[txn.order_id]
                memo = plan_refund_credit_memo(txn, invoice, mapping, prior=memos[txn.order_id])
                assert isinstance(memo, CreditMemoDoc), memo
                assert memo.total == invoiced
                memos[txn.order_id].append(memo)
        if settlement.status.value != "Closed":
            continue
        journal = plan_settlement_journal(settlement, mapping)
        assert isinstance(journal, JournalDoc), journal
        assert journal.total_dr == journal.total_cr
        assert journal.net(mapping.named("cash_in_transit")) == settlement.total
