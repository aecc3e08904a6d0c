"""Order plans: the money of each generated order, decided once and rendered twice.

The same `ItemMoney` figures become the order's item proceeds (Orders 2026-01-01) and the
Shipment/Refund transactions (Finances 2024-06-19), which is what makes an invoice built from an
order tie exactly to the settlement that paid it.

Three tax shapes occur: tax added and reported by item (TAX breakdowns; Amazon collects it where
the marketplace is a facilitator one), and, for a quarter of the EU/UK orders (chosen by order
id, so no `rng` draw), the shape of a seller who does not use Amazon's VAT calculation service:
VAT-inclusive item prices and no tax figure anywhere (no TAX breakdown, no tax collection, and
so no tax leaf in its Shipment or Refund transactions).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ml_connector_sim.amazon.catalog import CatalogEntry
from ml_connector_sim.amazon.marketplaces import Marketplace
from ml_connector_sim.amazon.world import JsonObject

ZERO = Decimal(0)
_US_STATES = (
    ("WA", "Seattle", "98101", Decimal("0.1025")),
    ("TX", "Austin", "73301", Decimal("0.0825")),
    ("NY", "New York", "10001", Decimal("0.08875")),
    ("CA", "San Jose", "95113", Decimal("0.0925")),
    ("FL", "Orlando", "32801", Decimal("0.065")),
)
_CITY = {
    "CA": ("ON", "Toronto", "M5H 2N2"),
    "MX": ("CDMX", "Ciudad de Mexico", "06600"),
    "UK": ("", "London", "EC1A 1BB"),
    "DE": ("", "Berlin", "10115"),
    "FR": ("", "Paris", "75001"),
    "IT": ("", "Milano", "20121"),
    "ES": ("", "Madrid", "28001"),
    "JP": ("Tokyo", "Chiyoda-ku", "100-0001"),
    "AU": ("NSW", "Sydney", "2000"),
    "SG": ("", "Singapore", "018989"),
}
_ORDER_PREFIX = {"na": (111, 112, 113, 114), "eu": (202, 203, 302, 305), "fe": (249, 250, 503)}


def money_round(value: Decimal, market: Marketplace) -> Decimal:
    return value.quantize(market.quantum, rounding=ROUND_HALF_UP)


def local_price(usd: Decimal, market: Marketplace) -> Decimal:
    """Shelf price in the marketplace currency; yen prices end in a round ten."""
    raw = usd * market.fx
    if market.exponent == 0:
        return (raw / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10
    return money_round(raw, market)


@dataclass
class ItemMoney:
    """One order line's money, signed as the buyer pays it (promotions negative)."""

    order_item_id: str
    entry: CatalogEntry
    quantity: int
    unit_price: Decimal
    principal: Decimal
    shipping: Decimal = ZERO
    gift_wrap: Decimal = ZERO
    principal_promo: Decimal = ZERO
    shipping_promo: Decimal = ZERO
    tax: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    gift_wrap_tax: Decimal = ZERO
    promotion_id: str | None = None

    @property
    def tax_total(self) -> Decimal:
        return self.tax + self.shipping_tax + self.gift_wrap_tax

    @property
    def discount_total(self) -> Decimal:
        return self.principal_promo + self.shipping_promo

    @property
    def proceeds_total(self) -> Decimal:
        return (
            self.principal + self.shipping + self.gift_wrap + self.tax_total + self.discount_total
        )


@dataclass
class RefundPlan:
    """A refund: whole order, or one unit of one line (`item_index`)."""

    refund_id: str
    posted: datetime
    full: bool
    item_index: int = 0


@dataclass
class OrderPlan:
    order_id: str
    market: Marketplace
    created: datetime
    status: str  # Orders 2026-01-01 FulfillmentStatus
    network: str  # AFN | MFN
    items: list[ItemMoney]
    tax_rate: Decimal
    address: tuple[str, str, str]
    shipped: datetime | None = None
    shipment_id: str = ""
    business: bool = False
    refund: RefundPlan | None = None
    express: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    #: Prices include VAT and Amazon reports no tax for the order (no VAT calculation service).
    vat_inclusive: bool = False

    @property
    def facilitator(self) -> bool:
        """Amazon collects this order's tax (never for a VAT-inclusive order without a figure)."""
        return self.market.facilitator and not self.vat_inclusive

    @property
    def last_updated(self) -> datetime:
        if self.shipped is not None:
            return self.shipped
        if self.status == "CANCELLED":
            return self.created + timedelta(hours=3)
        return self.created + timedelta(minutes=5)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def plan_order(
    rng: random.Random,
    market: Marketplace,
    catalog: list[CatalogEntry],
    created: datetime,
    now: datetime,
) -> OrderPlan:
    """Decide one order's lines, money, status, shipment and refund from `rng` only."""
    prefix = rng.choice(_ORDER_PREFIX[market.region])
    order_id = f"{prefix}-{_digits(rng, 7)}-{_digits(rng, 7)}"
    network = "AFN" if rng.random() < 0.7 else "MFN"
    line_count = 1 if rng.random() < 0.72 else rng.randint(2, 4)
    entries = rng.sample(catalog, min(line_count, len(catalog)))
    if market.code == "US":
        state, city, postal, rate = rng.choice(_US_STATES)
    else:
        state, city, postal = _CITY.get(market.code, ("", "City", "00000"))
        rate = market.tax_rate
    vat_inclusive = _is_vat_inclusive(market, order_id)
    if vat_inclusive:
        rate = ZERO  # the shelf price already holds the VAT; nothing is added or reported
    items = [_plan_item(rng, market, entry, rate) for entry in entries]
    _add_order_charges(rng, market, network, items, rate)
    plan = OrderPlan(
        order_id=order_id,
        market=market,
        created=created,
        status="SHIPPED",
        network=network,
        items=items,
        tax_rate=rate,
        address=(city, state, postal),
        business=rng.random() < 0.04,
        express=rng.random() < 0.2,
        vat_inclusive=vat_inclusive,
    )
    cancel_roll = rng.random()
    ship_delay = timedelta(hours=rng.randint(4, 40), minutes=rng.randint(0, 59))
    refund_roll, refund_days, refund_full = rng.random(), rng.randint(3, 20), rng.random()
    refund_id = "R" + _digits(rng, 10)
    plan.shipment_id = "D" + "".join(rng.choice("BCDFGHJKLMNPQRSTVWXZ0123456789") for _ in range(8))
    age = now - created
    if cancel_roll < 0.025:
        plan.status = "CANCELLED"
    elif created + ship_delay > now - timedelta(minutes=30):
        plan.status = "PENDING" if age < timedelta(hours=2) else "UNSHIPPED"
    else:
        plan.shipped = created + ship_delay
        refund_at = plan.shipped + timedelta(days=refund_days, hours=3)
        if refund_roll < 0.12 and refund_at < now - timedelta(hours=1):
            full = refund_full < 0.55 or not _partial_candidates(items)
            index = _partial_candidates(items)[0] if not full else 0
            plan.refund = RefundPlan(refund_id, refund_at, full, index)
    return plan


def _is_vat_inclusive(market: Marketplace, order_id: str) -> bool:
    """A quarter of the EU/UK orders, chosen by id: a seller not using Amazon's VAT service."""
    return market.region == "eu" and _digest(f"vat:{order_id}") % 4 == 0


def _plan_item(
    rng: random.Random, market: Marketplace, entry: CatalogEntry, rate: Decimal
) -> ItemMoney:
    quantity = 1 if rng.random() < 0.75 else rng.randint(2, 3)
    unit = local_price(entry.price, market)
    return ItemMoney(
        order_item_id=_digits(rng, 14),
        entry=entry,
        quantity=quantity,
        unit_price=unit,
        principal=unit * quantity,
    )


def _add_order_charges(
    rng: random.Random,
    market: Marketplace,
    network: str,
    items: list[ItemMoney],
    rate: Decimal,
) -> None:
    """Shipping, gift wrap, promotions, then tax on what the buyer actually pays."""
    first = items[0]
    if network == "MFN" or rng.random() < 0.1:
        first.shipping = local_price(Decimal("4.99"), market)
        if rng.random() < 0.3:
            first.shipping_promo = -first.shipping
    if rng.random() < 0.15:
        first.principal_promo = -money_round(first.principal * Decimal("0.10"), market)
        first.promotion_id = "PROMO-" + "".join(rng.choice("ABCDEFGHJK") for _ in range(6))
    if rng.random() < 0.05:
        for item in items:
            item.gift_wrap = local_price(Decimal("3.99"), market)
    for item in items:
        item.tax = money_round((item.principal + item.principal_promo) * rate, market)
        item.shipping_tax = money_round((item.shipping + item.shipping_promo) * rate, market)
        item.gift_wrap_tax = money_round(item.gift_wrap * rate, market)


def _partial_candidates(items: list[ItemMoney]) -> list[int]:
    """Lines a one-unit refund can come from without touching promotions."""
    return [i for i, item in enumerate(items) if item.principal_promo == 0]


def _digest(text: str) -> int:
    """A stable number from an id already drawn, so optional fields can be left out without
    another `rng` draw (which would change every later id and amount of the seed)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def iso(moment: datetime) -> str:
    """Amazon's date-time style: UTC with a trailing Z, whole seconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(amount: Decimal, currency: str) -> JsonObject:
    return {"amount": str(amount), "currencyCode": currency}


def render_order(plan: OrderPlan) -> JsonObject:
    """The plan as an Orders 2026-01-01 `Order` with every includedData set it has; optional
    fields Amazon does not always send are left out for some orders (chosen by id)."""
    cur = plan.market.currency
    cancelled = plan.status == "CANCELLED"
    order_items = [_render_item(plan, item, cancelled) for item in plan.items]
    address = {
        "city": plan.address[0],
        "stateOrRegion": plan.address[1],
        "postalCode": plan.address[2],
        "countryCode": "GB" if plan.market.code == "UK" else plan.market.code,
    }
    fulfillment = {
        "fulfillmentStatus": plan.status,
        "fulfilledBy": "AMAZON" if plan.network == "AFN" else "MERCHANT",
        "fulfillmentServiceLevel": "EXPEDITED" if plan.express else "STANDARD",
    }
    if _digest(plan.order_id) % 4 == 0:
        del fulfillment["fulfillmentServiceLevel"]  # optional in the model
    order: JsonObject = {
        "orderId": plan.order_id,
        "createdTime": iso(plan.created),
        "lastUpdatedTime": iso(plan.last_updated),
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": plan.market.marketplace_id,
            "marketplaceName": plan.market.name,
        },
        # Countries without states send no stateOrRegion rather than an empty string.
        "recipient": {"deliveryAddress": {k: v for k, v in address.items() if v}},
        "fulfillment": fulfillment,
        "orderItems": order_items,
    }
    if plan.business:  # `programs` is left out when the order is in none
        order["programs"] = ["AMAZON_BUSINESS"]
    # Amazon prices a PENDING order only once payment is authorised: no proceeds yet.
    if not cancelled and plan.status != "PENDING":
        totals = {
            "ITEM": sum((i.principal for i in plan.items), ZERO),
            "SHIPPING": sum((i.shipping for i in plan.items), ZERO),
            "GIFT_WRAP": sum((i.gift_wrap for i in plan.items), ZERO),
            "TAX": sum((i.tax_total for i in plan.items), ZERO),
            "DISCOUNT": sum((i.discount_total for i in plan.items), ZERO),
        }
        order["proceeds"] = {
            "grandTotal": _money(sum(totals.values(), ZERO), cur),
            "breakdowns": [
                {"type": kind, "subtotal": _money(value, cur)}
                for kind, value in totals.items()
                if value != 0 or kind == "ITEM"
            ],
        }
    return order


def _render_item(plan: OrderPlan, item: ItemMoney, cancelled: bool) -> JsonObject:
    cur = plan.market.currency
    shipped = plan.shipped is not None
    product: JsonObject = {
        "asin": item.entry.asin,
        "title": item.entry.title,
        "sellerSku": item.entry.sku,
        "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
        "price": {"unitPrice": _money(item.unit_price, cur)},
    }
    number = _digest(item.order_item_id)
    if number % 3 == 0:
        del product["condition"]  # optional in the model; not every listing reports it
    if number % 7 == 0:
        del product["title"]
    rendered: JsonObject = {
        "orderItemId": item.order_item_id,
        "quantityOrdered": item.quantity,
        "product": product,
        "fulfillment": {
            "quantityFulfilled": item.quantity if shipped else 0,
            "quantityUnfulfilled": 0 if shipped or cancelled else item.quantity,
        },
    }
    if not cancelled and plan.status != "PENDING":
        rendered["proceeds"] = _item_proceeds(item, cur)
    if item.promotion_id:
        rendered["promotion"] = {"breakdowns": [{"promotionId": item.promotion_id}]}
    if plan.facilitator:
        rendered["tax"] = {
            "taxCollections": [{"model": "MARKETPLACE_FACILITATOR", "responsibleParty": "AMAZON"}]
        }
    if cancelled:
        rendered["cancellation"] = {
            "cancellationRequest": {"requester": "BUYER", "cancelReason": "Ordered by mistake"},
            "cancellationExecution": {"cancelledBy": "MERCHANT", "cancelReason": "BuyerCanceled"},
        }
    return rendered


def _item_proceeds(item: ItemMoney, cur: str) -> JsonObject:
    breakdowns: list[JsonObject] = [{"type": "ITEM", "subtotal": _money(item.principal, cur)}]
    if item.shipping:
        breakdowns.append({"type": "SHIPPING", "subtotal": _money(item.shipping, cur)})
    if item.gift_wrap:
        breakdowns.append({"type": "GIFT_WRAP", "subtotal": _money(item.gift_wrap, cur)})
    tax_parts = [
        ("ITEM", item.tax),
        ("SHIPPING", item.shipping_tax),
        ("GIFT_WRAP", item.gift_wrap_tax),
    ]
    if item.tax_total or item.tax:
        breakdowns.append(_detailed("TAX", item.tax_total, tax_parts, cur))
    if item.discount_total:
        parts = [("ITEM", item.principal_promo), ("SHIPPING", item.shipping_promo)]
        breakdowns.append(_detailed("DISCOUNT", item.discount_total, parts, cur))
    return {"proceedsTotal": _money(item.proceeds_total, cur), "breakdowns": breakdowns}


def _detailed(kind: str, total: Decimal, parts: list[tuple[str, Decimal]], cur: str) -> JsonObject:
    return {
        "type": kind,
        "subtotal": _money(total, cur),
        "detailedBreakdowns": [
            {"subtype": sub, "value": _money(value, cur)} for sub, value in parts if value
        ],
    }
