"""Planning a simulated seller: VAT-inclusive orders the mapping has no rate for wait in review,
naming the marketplace and the key to add, and are invoiced once the rate is there."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ml_connector.store import DocumentKind, ReviewKind

Seller = Any
Factory = Callable[..., Seller]
DE = "A1PA6795UKMFR9"


def _no_tax_figure(raw: dict[str, Any]) -> bool:
    items = raw["orderItems"]
    kinds = {b["type"] for i in items for b in i.get("proceeds", {}).get("breakdowns", [])}
    return "TAX" not in kinds and not any("tax" in i for i in items)


def test_de_orders_without_a_rate_wait_in_review_until_the_rate_is_added(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=80)
    charges = seller.workdir / "charges.toml"
    original = charges.read_text(encoding="utf-8")
    # The finance user has not configured Germany yet: no [vat.DE] (nor its books category).
    without_de = re.sub(r"\[vat\.DE[^\n]*\n(?:[^\[\n][^\n]*\n)*\n?", "", original)
    assert "[vat.DE" not in without_de
    charges.write_text(without_de, encoding="utf-8")
    left_out = set(seller.left_out)
    expected = {
        raw["orderId"]
        for raw in seller.world.orders
        if raw["salesChannel"]["marketplaceId"] == DE
        and raw["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        and _no_tax_figure(raw)
        and not left_out & {i["product"]["sellerSku"] for i in raw["orderItems"]}
    }
    assert expected

    summary = seller.extract_and_plan()
    assert summary.held.get("missing_vat") == len(expected)
    items = [
        i for i in seller.review(ReviewKind.ACCOUNTING_HOLD) if i.subject_amazon_id in expected
    ]
    assert {i.subject_amazon_id for i in items} == expected
    for item in items:
        assert item.reason == (
            f"Amazon.de ({DE}) prices include VAT and order {item.subject_amazon_id} carries no "
            'tax figure: add [vat.DE] rate = "<percent>" to the charge mapping (rate = "0" if '
            "no VAT is due there; docs/mapping.md, [vat]); the next sync or `review resolve` "
            "invoices it"
        )
    invoiced = {d.amazon_source_id for d in seller.documents(DocumentKind.INVOICE)}
    assert not expected & invoiced

    charges.write_text(original, encoding="utf-8")
    again = seller.extract_and_plan()
    assert "missing_vat" not in again.held
    assert again.planned.get("invoice") == len(expected)
    open_ids = {i.subject_amazon_id for i in seller.review(ReviewKind.ACCOUNTING_HOLD)}
    assert not expected & open_ids
    invoiced = {d.amazon_source_id for d in seller.documents(DocumentKind.INVOICE)}
    assert expected <= invoiced
