"""The simulator's default world holds every EU/UK tax shape, and the example mapping books each.

Seller-collected tax with a split (amazon.de), tax Amazon collects (amazon.co.uk), and orders
with VAT-inclusive prices and no tax figure at all, whose refunds carry gross amounts and no tax.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, LineKind
from ml_connector.domain.orders import OrderState
from ml_connector.flow.accounting import plan_invoice, plan_refund_credit_memo
from ml_connector.flow.mapping import Catalog, ChargeMapping, parse_catalog
from ml_connector.flow.normalize import normalize_order, normalize_transaction

generator = pytest.importorskip("ml_connector_sim.amazon.generator")

UK = "A1F83G8C2ARO7P"
DE = "A1PA6795UKMFR9"
RATES = {UK: Decimal("20"), DE: Decimal("19")}


def _shape(raw: dict[str, Any]) -> str:
    items = raw["orderItems"]
    kinds = {b["type"] for i in items for b in i.get("proceeds", {}).get("breakdowns", [])}
    collected = any("tax" in i for i in items)
    if "TAX" not in kinds:
        return "no tax figure, Amazon collects" if collected else "no tax figure"
    return "tax, Amazon collects" if collected else "tax, seller collects"


def test_default_world_has_every_eu_tax_shape_and_each_is_booked(mapping: ChargeMapping) -> None:
    world = generator.generate_world(
        generator.GeneratorParams(seed=5, orders=400, now=datetime(2026, 4, 1, tzinfo=UTC))
    )
    rows = "\n".join(f"{entry.sku},40100," for entry in world.catalog)
    catalog: Catalog = parse_catalog(
        f"sku,revenue_account,cost_center\n{rows}\n", "generated.csv", mapping.chart
    )
    shapes: dict[tuple[str, str], int] = {}
    split: dict[str, InvoiceDoc] = {}
    for raw in world.orders:
        order = normalize_order(raw)
        market = order.marketplace_id
        if market not in RATES or order.state is not OrderState.SHIPPED:
            continue
        shape = _shape(raw)
        shapes[(market, shape)] = shapes.get((market, shape), 0) + 1
        invoice = plan_invoice(order, catalog, mapping)
        assert isinstance(invoice, InvoiceDoc), invoice
        assert invoice.total == order.grand_total
        vat_lines = [ln for ln in invoice.lines if ln.kind is LineKind.TAX]
        if shape == "no tax figure":
            # the example mapping's rate for the marketplace, on every line, and a VAT line
            assert vat_lines
            assert {ln.tax_rate for ln in invoice.lines} == {RATES[market]}
            split[order.order_id] = invoice
        else:
            assert not any(ln.tax_rate for ln in invoice.lines)
    assert set(shapes) == {
        (DE, "tax, seller collects"),
        (DE, "no tax figure"),
        (UK, "tax, Amazon collects"),
        (UK, "no tax figure"),
    }, shapes

    refunds = [
        normalize_transaction(t)
        for t in world.transactions
        if t["transactionType"] == "Refund"
        and any(r["relatedIdentifierValue"] in split for r in t["relatedIdentifiers"])
    ]
    assert refunds
    for refund in refunds:
        assert not any(leaf.path[-1] == "Tax" and leaf.path[0] == "Sales" for leaf in refund.leaves)
        invoice = split[str(refund.order_id)]
        memo = plan_refund_credit_memo(refund, invoice, mapping)
        assert isinstance(memo, CreditMemoDoc), memo
        refunded = sum(
            (leaf.amount for leaf in refund.leaves
             if (t := mapping.target(leaf.path)) and t.invoiced),
            Decimal(0),
        )  # fmt: skip
        assert memo.total == refunded
        assert any(ln.kind is LineKind.TAX for ln in memo.lines)
        assert {ln.tax_rate for ln in memo.lines} == {RATES[invoice.marketplace_id]}
