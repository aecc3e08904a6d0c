"""Raw official shapes → domain facts; malformed input names the field path."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ml_connector.domain.orders import FulfillmentChannel, OrderState
from ml_connector.domain.settlements import GroupStatus, TransactionStatus
from ml_connector.flow.normalize import (
    NormalizeError,
    normalize_order,
    normalize_settlement,
    normalize_transaction,
)

D = Decimal


def _official_orders(models: Path) -> list[dict[str, Any]]:
    spec = json.loads((models / "orders_2026-01-01.json").read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("orderId"), str) and "orderItems" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec["paths"])
    return found


def test_official_examples_normalize(sp_api_models: Path) -> None:
    orders = {o["orderId"]: o for o in _official_orders(sp_api_models)}
    assert len(orders) >= 5
    for raw in orders.values():
        normalized = normalize_order(raw)
        assert normalized.grand_total == D(raw["proceeds"]["grandTotal"]["amount"])
    first = normalize_order(orders["123-4567890-1234567"])
    assert first.state is OrderState.SHIPPED
    assert first.order_charges == (("DELIVERY_TIP", D("5.00")),)
    assert first.lines[0].sku == "ECHO-DOT-4-CHARCOAL"
    assert first.lines[0].principal == D("99.98")
    japan = normalize_order(orders["250-1234567-8901234"])
    assert japan.currency == "JPY"


def test_facilitator_and_seller_tax_are_split(shapes: type) -> None:
    mf = normalize_order(shapes.order("1", [shapes.item("A", 1, "10.00", tax="0.80")]))
    seller = normalize_order(
        shapes.order("2", [shapes.item("A", 1, "10.00", tax="0.80", facilitator=False)])
    )
    assert (mf.lines[0].facilitator_tax, mf.lines[0].seller_tax) == (D("0.80"), D("0"))
    assert (seller.lines[0].facilitator_tax, seller.lines[0].seller_tax) == (D("0"), D("0.80"))
    assert mf.fulfillment_channel is FulfillmentChannel.AFN
    assert mf.ship_date is not None
    assert mf.ship_date.tzinfo is not None


def test_promotion_split_by_subtype(shapes: type) -> None:
    item = shapes.item("A", 1, "10.00", shipping="3.00")
    item["proceeds"]["breakdowns"].append(
        {
            "type": "DISCOUNT",
            "subtotal": shapes.money("-4.00"),
            "detailedBreakdowns": [
                {"subtype": "ITEM", "value": shapes.money("-1.00")},
                {"subtype": "SHIPPING", "value": shapes.money("-3.00")},
            ],
        }
    )
    item["proceeds"]["proceedsTotal"] = shapes.money("9.00")
    line = normalize_order(shapes.order("1", [item])).lines[0]
    assert (line.promotion_principal, line.promotion_shipping) == (D("-1.00"), D("-3.00"))


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [
        (
            lambda o: o["orderItems"][0]["proceeds"]["breakdowns"][0]["subtotal"].update(
                amount="12,50"
            ),
            "orderItems[0].proceeds.breakdowns[0].subtotal.amount",
            "not a decimal number",
        ),
        (lambda o: o.pop("orderId"), "orderId", "required field is missing"),
        (
            lambda o: o["proceeds"]["grandTotal"].update(amount="99.00"),
            "proceeds.grandTotal",
            "grandTotal is 99.00",
        ),
        (
            lambda o: o.update(lastUpdatedTime="2026-03-02T08:30:00"),
            "lastUpdatedTime",
            "no time zone",
        ),
        (
            lambda o: o["fulfillment"].update(fulfillmentStatus="LOST"),
            "fulfillment.fulfillmentStatus",
            "unknown fulfillmentStatus",
        ),
        (
            lambda o: o["orderItems"][0]["proceeds"]["breakdowns"][1]["subtotal"].update(
                currencyCode="EUR"
            ),
            "orderItems[0].proceeds.breakdowns[1].subtotal.currencyCode",
            "differs",
        ),
    ],
)
def test_malformed_orders_name_the_field(
    shapes: type, mutate: Any, path: str, message: str
) -> None:
    raw = shapes.order("1", [shapes.item("A", 1, "10.00", tax="0.80")])
    mutate(raw)
    with pytest.raises(NormalizeError) as info:
        normalize_order(raw)
    assert info.value.path == path
    assert message in str(info.value)


def test_settlement_leaves_come_from_the_transaction_tree(shapes: type) -> None:
    txn = shapes.transaction(
        "T1", "Shipment", [("Principal", "10.00"), ("Commission", "-1.50")],
        order_id="O-1", sku="A", quantity=2,
    )  # fmt: skip
    txn["totalAmount"]["currencyAmount"] = 8.5  # Finances sends JSON numbers
    settlement = normalize_settlement(shapes.group("8.50"), [txn])
    assert settlement.status is GroupStatus.CLOSED
    (only,) = settlement.transactions
    assert [(leaf.breakdown_type, leaf.amount) for leaf in only.leaves] == [
        ("Principal", D("10.00")),
        ("Commission", D("-1.50")),
    ]
    assert only.items[0].sku == "A"
    assert only.items[0].quantity == 2
    assert only.status is TransactionStatus.RELEASED
    assert settlement.released_total == D("8.5")


def test_malformed_transactions_name_the_field(shapes: type) -> None:
    txn = shapes.transaction("T1", "Shipment", [("Principal", "10.00")])
    txn["breakdowns"][0]["breakdownAmount"]["currencyAmount"] = D("11.00")
    with pytest.raises(NormalizeError, match=r"^breakdowns\[0\]: Group is 11.00"):
        normalize_transaction(txn)
    other = shapes.transaction("T2", "Shipment", [("Principal", "1.00")], group="G2")
    # A transaction of another group is held by id (never counted here), not the settlement.
    (held,) = normalize_settlement(shapes.group("1.00"), [other]).unreadable
    assert (held.amazon_id, held.field, held.reason) == (
        "T2",
        "relatedIdentifiers",
        "belongs to group G2",
    )
    bad_total = shapes.transaction("T3", "Shipment", [("Principal", "1.00")])
    bad_total["totalAmount"]["currencyAmount"] = D("2.00")
    with pytest.raises(NormalizeError, match=r"totalAmount: breakdowns sum to 1.00"):
        normalize_transaction(bad_total)
