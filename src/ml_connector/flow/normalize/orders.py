"""Orders API 2026-01-01 `Order` → `NormalizedOrder`.

Money comes from the item-level `proceeds.breakdowns` (ITEM, SHIPPING, GIFT_WRAP, TAX, DISCOUNT
with `detailedBreakdowns` by subtype); who owes the tax comes from the item's
`tax.taxCollections[].model` (`MARKETPLACE_FACILITATOR` → Amazon remits it).

Read per the official model (reference/sp-api/orders_2026-01-01.json), not per our generator:
- only the fields the model lists as `required` are required to *read* an order. The facts an
  invoice cannot do without (the marketplace, each item's SKU and proceeds) are checked only for
  an order that is shipped or partially shipped; an order that will not be invoiced yet is read
  with those left empty (`""`), like its currency;
- an enum value (fulfillment status, fulfilled by, proceeds type and subtype, tax collection
  model) is read without regard to case and kept in the model's spelling; a value the model does
  not list is a `NormalizeError` naming the field, so the order goes to review;
- amounts are decimal strings on the wire and JSON numbers are read too; a quantity sent as a
  string of digits is read as the integer it spells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ml_connector.domain.ids import AmazonOrderId, Asin, MarketplaceId, OrderItemId, SellerSku
from ml_connector.domain.marketplaces import MARKETPLACES
from ml_connector.domain.money import ZERO, total
from ml_connector.domain.orders import FulfillmentChannel, NormalizedOrder, OrderLine, OrderState
from ml_connector.flow.normalize.fields import MAX_QUANTITY, Node, NormalizeError, money

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
TAX_MODELS = (FACILITATOR_MODEL,)
# `ItemProceedsBreakdown.type` and `ItemProceedsDetailedBreakdown.subtype`, as the model lists them.
ITEM_TYPES = ("ITEM", "SHIPPING", "GIFT_WRAP", "COD_FEE", "OTHER", "TAX", "DISCOUNT")
SUBTYPES = ("ITEM", "SHIPPING", "GIFT_WRAP", "COD_FEE", "OTHER", "DISCOUNT")
# `OrderProceedsBreakdown.type`: DELIVERY_TIP is charged apart from the items; the other types
# aggregate the item amounts already read from the items.
ORDER_TYPES = (
    "ITEM",
    "SHIPPING",
    "GIFT_WRAP",
    "COD_FEE",
    "TAX",
    "DISCOUNT",
    "DELIVERY_TIP",
    "OTHER",
)
ORDER_LEVEL_TYPES = frozenset({"DELIVERY_TIP"})
# Types with an invoice line of their own; the others are kept as `other_charges`.
_LINE_TYPES = ("ITEM", "SHIPPING", "GIFT_WRAP")
# States an invoice is (or will soon be) made from: the facts it needs must be there.
_INVOICED_STATES = (OrderState.SHIPPED, OrderState.PARTIALLY_SHIPPED)
_MARKETPLACE_BY_NAME = {m.name.casefold(): m.marketplace_id for m in MARKETPLACES}


def enum_value(node: Node, values: Iterable[str], field: str) -> str:
    """`node`'s text in the model's spelling, matched without regard to case or padding.

    A value the model does not list is an error on `node`'s path: the record goes to review
    instead of being read as something it may not be.
    """
    text = node.text()
    wanted = text.strip().casefold()
    for value in values:
        if value.casefold() == wanted:
            return value
    raise node.error(f"unknown {field} {text!r}")


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
    """Spread a TAX or DISCOUNT subtotal over its subtypes; the remainder to `default_subtype`.

    A detail without a subtype or without a value says nothing the subtotal does not: its money
    stays in the remainder.
    """
    subtotal = acc.read(node.req("subtotal"))
    parts = ZERO
    for detail in node.array("detailedBreakdowns"):
        subtype_node, value_node = detail.get("subtype"), detail.get("value")
        if subtype_node is None or value_node is None:
            continue
        subtype = enum_value(subtype_node, SUBTYPES, "subtype")
        value = acc.read(value_node)
        key = f"{prefix}_{subtype}" if subtype in _LINE_TYPES else prefix
        acc.add(key, value)
        parts += value
    acc.add(f"{prefix}_{default_subtype}", subtotal - parts)


def _optional_text(node: Node, key: str) -> str | None:
    child = node.get(key)
    return None if child is None else child.text()


def _facilitator(item: Node, facilitator_default: bool, tax: Decimal) -> bool:
    """Whether Amazon remits the item's tax: its tax collection model, else the default.

    No `tax.taxCollections` is no evidence of a facilitator (the model lists no other value).
    A collection that is there but names no `model` leaves the collector unknown: when the item
    carries tax, that is for a person to decide, not a default.
    """
    node = item.get("tax")
    models: set[str] = set()
    for collection in node.array("taxCollections") if node is not None else []:
        model = collection.get("model")
        if model is not None:
            models.add(enum_value(model, TAX_MODELS, "tax collection model"))
        elif tax != ZERO:
            raise NormalizeError(
                collection.child_path("model"),
                "absent on a collection of a taxed item: who remits the tax is unknown",
            )
    return FACILITATOR_MODEL in models or (not models and facilitator_default)


def _line(item: Node, acc: _Money, facilitator_default: bool, invoiced: bool) -> OrderLine:
    product = item.req("product")
    sku_node = product.get("sellerSku")
    if sku_node is None and invoiced:
        raise NormalizeError(
            product.child_path("sellerSku"),
            "absent on a shipped item: the invoice line's revenue account comes from the SKU",
        )
    quantity = item.req("quantityOrdered").integer()
    if not 0 <= quantity <= MAX_QUANTITY:
        raise item.req("quantityOrdered").error(f"{quantity} is outside 0..{MAX_QUANTITY:,}")
    proceeds = item.get("proceeds")
    if proceeds is None and invoiced and quantity > 0:
        raise NormalizeError(
            item.child_path("proceeds"),
            "absent on a shipped item (the connector requests includedData=PROCEEDS)",
        )
    if proceeds is not None:
        for breakdown in proceeds.array("breakdowns"):
            kind = enum_value(breakdown.req("type"), ITEM_TYPES, "proceeds type")
            if kind in _LINE_TYPES:
                acc.add(kind, acc.read(breakdown.req("subtotal")))
            elif kind == "TAX":
                _split(breakdown, acc, "TAX", "ITEM")
            elif kind == "DISCOUNT":
                _split(breakdown, acc, "DISCOUNT", "ITEM")
            else:
                acc.other.append((kind, acc.read(breakdown.req("subtotal"))))
    tax = total(acc.get(k) for k in ("TAX", "TAX_ITEM", "TAX_SHIPPING", "TAX_GIFT_WRAP"))
    facilitator = _facilitator(item, facilitator_default, tax)
    promotion = item.get("promotion")
    promotions = promotion.array("breakdowns") if promotion is not None else []
    line = OrderLine(
        order_item_id=OrderItemId(item.req("orderItemId").text()),
        sku=SellerSku(sku_node.text() if sku_node is not None else ""),
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
        tax_collected_by_amazon=facilitator,
    )
    if proceeds is not None and proceeds.get("proceedsTotal") is not None:
        stated = acc.read(proceeds.req("proceedsTotal"))
        if stated != line.total:
            raise proceeds.req("proceedsTotal").error(
                f"breakdowns sum to {line.total}, proceedsTotal is {stated}"
            )
    return line


def _marketplace(channel: Node, invoiced: bool) -> str:
    """`salesChannel.marketplaceId`, else the marketplace `marketplaceName` names.

    Both are optional in the model; a shipped order needs one (its customer and cost center
    depend on it), any other order is read without it.
    """
    found = channel.get("marketplaceId")
    if found is not None:
        return found.text().strip()
    name = channel.get("marketplaceName")
    if name is not None and (known := _MARKETPLACE_BY_NAME.get(name.text().strip().casefold())):
        return known
    if not invoiced:
        return ""
    named = f" and marketplaceName {name.value!r} names no known marketplace" if name else ""
    raise NormalizeError(
        channel.child_path("marketplaceId"),
        f"absent{named}: a shipped order's customer and cost center depend on it",
    )


def normalize_order(
    raw: Mapping[str, Any], *, path: str = "", facilitator_default: bool = False
) -> NormalizedOrder:
    """Normalize one `Order` (as `searchOrders`/`getOrder` return it, items inline).

    `facilitator_default` decides an item's tax when Amazon omits `taxCollections`: True for
    connections whose marketplaces are all marketplace-facilitator jurisdictions.
    """
    order = Node(raw, path)
    order_id = order.req("orderId").text()
    fulfillment = order.get("fulfillment")
    if fulfillment is None:
        raise NormalizeError(
            order.child_path("fulfillment"),
            "absent: only the fulfillment status says whether the order shipped "
            "(the connector requests includedData=FULFILLMENT)",
        )
    status = enum_value(fulfillment.req("fulfillmentStatus"), _STATES, "fulfillmentStatus")
    state = _STATES[status]
    invoiced = state in _INVOICED_STATES
    fulfilled_by = fulfillment.get("fulfilledBy")
    channel_value = (
        _CHANNELS[enum_value(fulfilled_by, _CHANNELS, "fulfilledBy")] if fulfilled_by else None
    )
    marketplace_id = _marketplace(order.req("salesChannel"), invoiced)

    currency: str | None = None
    lines: list[OrderLine] = []
    items_node = order.req("orderItems")
    items = items_node.items()
    if not items and invoiced:
        raise items_node.error("empty on a shipped order: there is nothing to invoice")
    for item in items:
        acc = _Money()
        acc.currency = currency
        lines.append(_line(item, acc, facilitator_default, invoiced))
        currency = acc.currency
    proceeds = order.get("proceeds")
    order_charges: list[tuple[str, Decimal]] = []
    for breakdown in proceeds.array("breakdowns") if proceeds is not None else []:
        kind = enum_value(breakdown.req("type"), ORDER_TYPES, "proceeds type")
        if kind in ORDER_LEVEL_TYPES:
            subtotal = breakdown.req("subtotal")
            amount, charge_currency = money(subtotal, "amount", "currencyCode")
            if currency is not None and charge_currency != currency:
                raise subtotal.req("currencyCode").error(
                    f"currency {charge_currency} differs from the order's {currency}"
                )
            currency = charge_currency
            order_charges.append((kind, amount))
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
        if invoiced:
            raise order.error("a shipped order has no proceeds (request includedData=PROCEEDS)")
        currency = ""  # a pending or cancelled order may carry no money at all
    last_updated = order.req("lastUpdatedTime").timestamp()
    ship_times: list[datetime] = [
        p.req("shipTime").timestamp() for p in order.array("packages") if p.get("shipTime")
    ]
    ship_date = max(ship_times) if ship_times else None
    if ship_date is None and state is OrderState.SHIPPED:
        ship_date = last_updated  # FBA orders have no packages; SHIPPED is their last update
    return NormalizedOrder(
        order_id=AmazonOrderId(order_id),
        marketplace_id=MarketplaceId(marketplace_id),
        currency=currency,
        state=state,
        fulfillment_channel=channel_value,
        purchase_date=order.req("createdTime").timestamp(),
        last_updated=last_updated,
        ship_date=ship_date,
        lines=tuple(lines),
        grand_total=grand_total,
        order_charges=tuple(order_charges),
    )
