"""Orders API 2026-01-01 `Order` → `NormalizedOrder`.

Money comes from the item-level `proceeds.breakdowns` (ITEM, SHIPPING, GIFT_WRAP, TAX, DISCOUNT
with `detailedBreakdowns` by subtype); who owes the tax comes from the item's
`tax.taxCollections[].model` (`MARKETPLACE_FACILITATOR` → Amazon remits it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ml_connector.domain.ids import AmazonOrderId, Asin, MarketplaceId, OrderItemId, SellerSku
from ml_connector.domain.money import ZERO, total
from ml_connector.domain.orders import FulfillmentChannel, NormalizedOrder, OrderLine, OrderState
from ml_connector.flow.normalize.fields import Node, NormalizeError, money

_STATES = {
    "PENDING_AVAILABILITY": OrderState.OPEN,
    "PENDING": OrderState.OPEN,
    "UNSHIPPED": OrderState.OPEN,
    "UNFULFILLABLE": OrderState.OPEN,
    "PARTIALLY_SHIPPED": OrderState.PARTIALLY_SHIPPED,
    "SHIPPED": OrderState.SHIPPED,
    "CANCELLED": OrderState.CANCELLED,
}
_CHANNELS = {"AMAZON": FulfillmentChannel.AFN, "MERCHANT": FulfillmentChannel.MFN}
FACILITATOR_MODEL = "MARKETPLACE_FACILITATOR"
# Order-level proceeds types charged separately from items; the others aggregate item amounts.
ORDER_LEVEL_TYPES = frozenset({"DELIVERY_TIP"})


class _Money:
    """Accumulates one item's proceeds and checks every amount is in one currency."""

    def __init__(self) -> None:
        self.currency: str | None = None
        self.amounts: dict[str, Decimal] = {}
        self.other: list[tuple[str, Decimal]] = []

    def read(self, node: Node) -> Decimal:
        amount, currency = money(node, "amount", "currencyCode")
        if self.currency is None:
            self.currency = currency
        elif currency != self.currency:
            raise node.req("currencyCode").error(
                f"currency {currency} differs from the order's {self.currency}"
            )
        return amount

    def add(self, key: str, amount: Decimal) -> None:
        self.amounts[key] = self.amounts.get(key, ZERO) + amount

    def get(self, key: str) -> Decimal:
        return self.amounts.get(key, ZERO)


def _split(node: Node, acc: _Money, prefix: str, default_subtype: str) -> None:
    """Spread a TAX or DISCOUNT subtotal over its subtypes; the remainder to `default_subtype`."""
    subtotal = acc.read(node.req("subtotal"))
    parts = ZERO
    for detail in node.array("detailedBreakdowns"):
        subtype = detail.req("subtype").text()
        value = acc.read(detail.req("value"))
        key = f"{prefix}_{subtype}" if subtype in ("ITEM", "SHIPPING", "GIFT_WRAP") else prefix
        acc.add(key, value)
        parts += value
    acc.add(f"{prefix}_{default_subtype}", subtotal - parts)


def _optional_text(node: Node, key: str) -> str | None:
    child = node.get(key)
    return None if child is None else child.text()


def _line(item: Node, acc: _Money, facilitator_default: bool) -> OrderLine:
    product = item.req("product")
    sku = product.req("sellerSku").text()
    quantity = item.req("quantityOrdered").integer()
    if quantity < 0:
        raise item.req("quantityOrdered").error("must not be negative")
    proceeds = item.get("proceeds")
    if proceeds is not None:
        for breakdown in proceeds.array("breakdowns"):
            kind = breakdown.req("type").text()
            if kind in ("ITEM", "SHIPPING", "GIFT_WRAP"):
                acc.add(kind, acc.read(breakdown.req("subtotal")))
            elif kind == "TAX":
                _split(breakdown, acc, "TAX", "ITEM")
            elif kind == "DISCOUNT":
                _split(breakdown, acc, "DISCOUNT", "ITEM")
            else:
                acc.other.append((kind, acc.read(breakdown.req("subtotal"))))
    tax = total(acc.get(k) for k in ("TAX", "TAX_ITEM", "TAX_SHIPPING", "TAX_GIFT_WRAP"))
    models = {c.req("model").text() for c in (item.get("tax") or Node({})).array("taxCollections")}
    facilitator = FACILITATOR_MODEL in models or (not models and facilitator_default)
    promotions = (item.get("promotion") or Node({})).array("breakdowns")
    line = OrderLine(
        order_item_id=OrderItemId(item.req("orderItemId").text()),
        sku=SellerSku(sku),
        asin=Asin(asin) if (asin := _optional_text(product, "asin")) else None,
        title=_optional_text(product, "title"),
        quantity=quantity,
        principal=acc.get("ITEM"),
        shipping=acc.get("SHIPPING"),
        gift_wrap=acc.get("GIFT_WRAP"),
        promotion_principal=acc.get("DISCOUNT_ITEM") + acc.get("DISCOUNT"),
        promotion_shipping=acc.get("DISCOUNT_SHIPPING") + acc.get("DISCOUNT_GIFT_WRAP"),
        seller_tax=ZERO if facilitator else tax,
        facilitator_tax=tax if facilitator else ZERO,
        promotion_ids=tuple(
            p.req("promotionId").text() for p in promotions if p.get("promotionId") is not None
        ),
        other_charges=tuple(acc.other),
    )
    if proceeds is not None and proceeds.get("proceedsTotal") is not None:
        stated = acc.read(proceeds.req("proceedsTotal"))
        if stated != line.total:
            raise proceeds.req("proceedsTotal").error(
                f"breakdowns sum to {line.total}, proceedsTotal is {stated}"
            )
    return line


def normalize_order(
    raw: Mapping[str, Any], *, path: str = "", facilitator_default: bool = False
) -> NormalizedOrder:
    """Normalize one `Order` (as `searchOrders`/`getOrder` return it, items inline).

    `facilitator_default` decides an item's tax when Amazon omits `taxCollections`: True for
    connections whose marketplaces are all marketplace-facilitator jurisdictions.
    """
    order = Node(raw, path)
    order_id = order.req("orderId").text()
    channel = order.req("salesChannel")
    marketplace_id = channel.req("marketplaceId").text()
    fulfillment = order.get("fulfillment")
    status_node = fulfillment.req("fulfillmentStatus") if fulfillment else None
    if status_node is None:
        raise NormalizeError(
            order.child_path("fulfillment"), "required (request includedData=FULFILLMENT)"
        )
    status = status_node.text()
    if status not in _STATES:
        raise status_node.error(f"unknown fulfillmentStatus {status!r}")
    fulfilled_by = fulfillment.get("fulfilledBy") if fulfillment else None
    channel_value = _CHANNELS.get(fulfilled_by.text()) if fulfilled_by else None

    currency: str | None = None
    lines: list[OrderLine] = []
    for item in order.req("orderItems").items():
        acc = _Money()
        acc.currency = currency
        lines.append(_line(item, acc, facilitator_default))
        currency = acc.currency
    proceeds = order.get("proceeds")
    order_charges: list[tuple[str, Decimal]] = []
    for breakdown in proceeds.array("breakdowns") if proceeds is not None else []:
        kind = breakdown.req("type").text()
        if kind in ORDER_LEVEL_TYPES:
            order_charges.append((kind, breakdown.req("subtotal").req("amount").decimal()))
    grand_total = total(line.total for line in lines) + total(a for _, a in order_charges)
    if proceeds is not None and proceeds.get("grandTotal") is not None:
        grand_node = proceeds.req("grandTotal")
        stated, grand_currency = money(grand_node, "amount", "currencyCode")
        if currency is not None and grand_currency != currency:
            raise grand_node.error(f"currency {grand_currency} differs from items' {currency}")
        currency = grand_currency
        if stated != grand_total:
            raise grand_node.error(f"items sum to {grand_total}, grandTotal is {stated}")
    if currency is None:
        if _STATES[status] in (OrderState.SHIPPED, OrderState.PARTIALLY_SHIPPED):
            raise order.error("a shipped order has no proceeds (request includedData=PROCEEDS)")
        currency = ""  # a pending or cancelled order may carry no money at all
    last_updated = order.req("lastUpdatedTime").timestamp()
    ship_times: list[datetime] = [
        p.req("shipTime").timestamp() for p in order.array("packages") if p.get("shipTime")
    ]
    ship_date = max(ship_times) if ship_times else None
    if ship_date is None and _STATES[status] is OrderState.SHIPPED:
        ship_date = last_updated  # FBA orders have no packages; SHIPPED is their last update
    return NormalizedOrder(
        order_id=AmazonOrderId(order_id),
        marketplace_id=MarketplaceId(marketplace_id),
        currency=currency,
        state=_STATES[status],
        fulfillment_channel=channel_value,
        purchase_date=order.req("createdTime").timestamp(),
        last_updated=last_updated,
        ship_date=ship_date,
        lines=tuple(lines),
        grand_total=grand_total,
        order_charges=tuple(order_charges),
    )
