"""Property tests: for any valid order or settlement the documents add up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sp_api_shapes import Shapes

from ml_connector.domain.documents import InvoiceDoc, JournalDoc
from ml_connector.flow.accounting import plan_invoice, plan_settlement_journal
from ml_connector.flow.mapping import Catalog, ChargeMapping
from ml_connector.flow.normalize import normalize_order, normalize_settlement

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
cents = st.integers(min_value=-50_000, max_value=50_000).map(lambda c: Decimal(c).scaleb(-2))
positive = st.integers(min_value=0, max_value=50_000).map(lambda c: Decimal(c).scaleb(-2))
LEAF_TYPES = [
    "Principal", "Shipping", "GiftWrap", "Tax", "ShippingTax", "PrincipalPromotion",
    "ShippingPromotion", "MarketplaceFacilitatorTax-Principal", "Commission",
    "FBAPerUnitFulfillmentFee", "RefundCommission", "Subscription", "FBAStorageFee",
    "AdvertisingFee", "FBAInventoryReimbursement", "CurrentReserveAmount",
    "PreviousReserveAmountBalance",
]  # fmt: skip
MARKETS = ["ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1F83G8C2ARO7P"]


@st.composite
def transactions(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=0, max_value=8))
    out = []
    for index in range(count):
        leaves = draw(st.lists(st.tuples(st.sampled_from(LEAF_TYPES), cents), max_size=6))
        status = draw(st.sampled_from(["RELEASED", "RELEASED", "DEFERRED"]))
        market = draw(st.sampled_from(MARKETS))
        out.append(
            Shapes.transaction(
                f"T{index}", "Shipment", [(n, str(a)) for n, a in leaves],
                status=status, marketplace=market, currency="USD",
            )
        )  # fmt: skip
    return out


@SETTINGS
@given(txns=transactions())
def test_every_closed_settlement_journal_balances_and_ties(
    txns: list[dict[str, Any]], mapping: ChargeMapping
) -> None:
    released = sum(
        (Decimal(t["totalAmount"]["currencyAmount"]) for t in txns
         if t["transactionStatus"] == "RELEASED"),
        Decimal(0),
    )  # fmt: skip
    settlement = normalize_settlement(Shapes.group(released), txns)
    journal = plan_settlement_journal(settlement, mapping)
    assert isinstance(journal, JournalDoc)
    assert journal.total_dr == journal.total_cr
    assert journal.net(mapping.named("cash_in_transit")) == released
    assert all((ln.entered_dr == 0) != (ln.entered_cr == 0) for ln in journal.lines)


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    skus = ["MUG-01", "MUG-02", "KETTLE-01", "CABLE-USB-C", "CASE-PHONE-S"]
    items = []
    for index in range(draw(st.integers(min_value=1, max_value=4))):
        quantity = draw(st.integers(min_value=1, max_value=5))
        principal = draw(positive)
        promotion = -min(draw(positive), principal)
        items.append(
            Shapes.item(
                draw(st.sampled_from(skus)), quantity, str(principal),
                shipping=str(draw(positive)) or None,
                promotion=str(promotion) if promotion else None,
                tax=str(draw(positive)), facilitator=draw(st.booleans()),
                item_id=str(index),
            )
        )  # fmt: skip
    return Shapes.order("111-0000000-0000001", items)


@SETTINGS
@given(raw=orders())
def test_every_shipped_order_invoice_sums_to_its_total(
    raw: dict[str, Any], catalog: Catalog, mapping: ChargeMapping
) -> None:
    order = normalize_order(raw)
    invoice = plan_invoice(order, catalog, mapping)
    assert isinstance(invoice, InvoiceDoc)
    assert invoice.total == order.grand_total == Decimal(raw["proceeds"]["grandTotal"]["amount"])
    for line in invoice.lines:
        if line.unit_price is not None and line.quantity:
            assert (
                abs(line.unit_price * line.quantity - line.amount)
                < Decimal("0.0001") * line.quantity
            )
