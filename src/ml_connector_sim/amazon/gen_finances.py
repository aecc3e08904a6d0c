"""Finances 2024-06-19 transactions for generated orders and account-level fees.

Leaf names and signs follow docs/amazon-vocabulary.md exactly: the connector's accounting maps
these names, so a new name here is a breaking change for it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ml_connector_sim.amazon.catalog import CatalogEntry
from ml_connector_sim.amazon.gen_orders import (
    ZERO,
    ItemMoney,
    OrderPlan,
    iso,
    local_price,
    money_round,
)
from ml_connector_sim.amazon.marketplaces import Marketplace
from ml_connector_sim.amazon.world import JsonObject

Leaf = tuple[str, str, Decimal]  # (group, breakdownType, amount)

_COMMISSION_RATE = Decimal("0.15")
_REFUND_ADMIN_RATE = Decimal("0.20")


@dataclass
class DraftTransaction:
    """A transaction before its settlement group is known."""

    transaction_id: str
    kind: str
    description: str
    posted: datetime
    market: Marketplace
    status: str
    items: Sequence[tuple[list[Leaf], JsonObject | None]]
    leaves: list[Leaf]
    related: list[tuple[str, str]]
    contexts: list[JsonObject]

    @property
    def total(self) -> Decimal:
        return sum((amount for _, _, amount in self.all_leaves()), ZERO)

    def all_leaves(self) -> list[Leaf]:
        collected = list(self.leaves)
        for leaves, _ in self.items:
            collected.extend(leaves)
        return collected


def new_id(rng: random.Random, length: int = 32) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def product_context(entry: CatalogEntry, quantity: int, network: str) -> JsonObject:
    return {
        "contextType": "ProductContext",
        "asin": entry.asin,
        "sku": entry.sku,
        "quantityShipped": quantity,
        "fulfillmentNetwork": network,
    }


def shipment_leaves(plan: OrderPlan, item: ItemMoney) -> list[Leaf]:
    """What Amazon charged and withheld for one shipped line (signs: seller's view)."""
    market = plan.market
    sales = item.principal + item.principal_promo + item.shipping + item.shipping_promo
    commission = money_round((sales + item.gift_wrap) * _COMMISSION_RATE, market)
    leaves: list[Leaf] = [
        ("Sales", "Principal", item.principal),
        ("Sales", "Shipping", item.shipping),
        ("Sales", "GiftWrap", item.gift_wrap),
        ("Sales", "Tax", item.tax),
        ("Sales", "ShippingTax", item.shipping_tax),
        ("Sales", "GiftWrapTax", item.gift_wrap_tax),
        ("Promotions", "PrincipalPromotion", item.principal_promo),
        ("Promotions", "ShippingPromotion", item.shipping_promo),
    ]
    if market.facilitator:
        leaves += [
            ("Tax withheld", "MarketplaceFacilitatorTax-Principal", -item.tax),
            ("Tax withheld", "MarketplaceFacilitatorTax-Shipping", -item.shipping_tax),
            ("Tax withheld", "MarketplaceFacilitatorTax-GiftWrap", -item.gift_wrap_tax),
        ]
    leaves.append(("Expenses", "Commission", -commission))
    if plan.network == "AFN":
        fee = local_price(Decimal("3.22"), market) * item.quantity
        leaves.append(("Expenses", "FBAPerUnitFulfillmentFee", -fee))
    return [leaf for leaf in leaves if leaf[2] != 0]


def refund_leaves(plan: OrderPlan, item: ItemMoney, whole_line: bool) -> list[Leaf]:
    """A refund reverses the buyer's money and the commission, then charges an admin fee."""
    market = plan.market
    if whole_line:
        reversed_leaves = [
            (group, name, -amount)
            for group, name, amount in shipment_leaves(plan, item)
            if name != "FBAPerUnitFulfillmentFee"
        ]
    else:
        tax = min(money_round(item.unit_price * plan.tax_rate, market), item.tax)
        commission = money_round(item.unit_price * _COMMISSION_RATE, market)
        reversed_leaves = [
            ("Sales", "Principal", -item.unit_price),
            ("Sales", "Tax", -tax),
            ("Expenses", "Commission", commission),
        ]
        if market.facilitator:
            reversed_leaves.append(("Tax withheld", "MarketplaceFacilitatorTax-Principal", tax))
    refunded_commission = sum(
        (amount for _, name, amount in reversed_leaves if name == "Commission"), ZERO
    )
    admin = min(
        money_round(refunded_commission * _REFUND_ADMIN_RATE, market),
        local_price(Decimal("5.00"), market),
    )
    reversed_leaves.append(("Expenses", "RefundCommission", -admin))
    return [leaf for leaf in reversed_leaves if leaf[2] != 0]


def order_transactions(
    rng: random.Random, plan: OrderPlan, now: datetime
) -> list[DraftTransaction]:
    """Shipment (possibly deferred, then released) and refund transactions of one order."""
    if plan.shipped is None:
        return []
    ids = [new_id(rng) for _ in range(3)]
    posted = plan.shipped + timedelta(minutes=17)
    items = [
        (shipment_leaves(plan, item), product_context(item.entry, item.quantity, plan.network))
        for item in plan.items
    ]
    base = [("ORDER_ID", plan.order_id), ("SHIPMENT_ID", plan.shipment_id)]
    drafts: list[DraftTransaction] = []
    if plan.business:
        maturity = posted + timedelta(days=7)
        released = maturity <= now - timedelta(minutes=30)
        deferred_related = list(base)
        if released:
            deferred_related.append(("RELEASE_TRANSACTION_ID", ids[1]))
        drafts.append(
            DraftTransaction(
                ids[0], "Shipment", "Order Payment", posted, plan.market,
                "DEFERRED_RELEASED" if released else "DEFERRED", items, [], deferred_related,
                [{"contextType": "DeferredContext", "deferralReason": "B2B",
                  "maturityDate": iso(maturity)}],
            )
        )  # fmt: skip
        if released:
            drafts.append(
                DraftTransaction(
                    ids[1], "Shipment", "Order Payment", maturity, plan.market, "RELEASED",
                    items, [], [*base, ("DEFERRED_TRANSACTION_ID", ids[0])], [],
                )
            )  # fmt: skip
    else:
        drafts.append(
            DraftTransaction(
                ids[0], "Shipment", "Order Payment", posted, plan.market, "RELEASED",
                items, [], base, [],
            )
        )  # fmt: skip
    if plan.refund is not None:
        refund = plan.refund
        if refund.full:
            lines = [(item, item.quantity, True) for item in plan.items]
        else:
            lines = [(plan.items[refund.item_index], 1, False)]
        refund_items = [
            (refund_leaves(plan, item, whole), product_context(item.entry, qty, plan.network))
            for item, qty, whole in lines
        ]
        drafts.append(
            DraftTransaction(
                ids[2], "Refund", "Refund Order", refund.posted, plan.market, "RELEASED",
                refund_items, [], [("ORDER_ID", plan.order_id), ("REFUND_ID", refund.refund_id)],
                [],
            )
        )  # fmt: skip
    return drafts


def account_transactions(
    rng: random.Random,
    market: Marketplace,
    catalog: list[CatalogEntry],
    start: datetime,
    end: datetime,
    closed: bool,
    previous_reserve: Decimal,
    now: datetime,
) -> tuple[list[DraftTransaction], Decimal]:
    """Fees, reimbursements and the reserve of one settlement period; returns the new reserve."""
    ids = [new_id(rng) for _ in range(6)]
    storage = local_price(Decimal(rng.randint(20, 80)), market)
    advertising = local_price(Decimal(rng.randint(30, 200)), market)
    long_term = local_price(Decimal(rng.randint(5, 25)), market) if rng.random() < 0.3 else ZERO
    reimbursed = rng.choice(catalog) if rng.random() < 0.45 else None
    reimbursed_qty = rng.randint(1, 3)
    reserve = local_price(Decimal(rng.randint(50, 150)), market)
    drafts: list[DraftTransaction] = []

    def fee(index: int, offset: timedelta, name: str, description: str, amount: Decimal) -> None:
        posted = start + offset
        if amount and posted < min(end, now - timedelta(hours=1)):
            drafts.append(
                DraftTransaction(
                    ids[index], "ServiceFee", description, posted, market, "RELEASED", [],
                    [("Expenses", name, -amount)], [], [],
                )
            )  # fmt: skip

    fee(0, timedelta(days=1, hours=2), "Subscription", "Subscription Fee",
        local_price(Decimal("39.99"), market))  # fmt: skip
    fee(1, timedelta(days=2, hours=5), "FBAStorageFee", "FBA Inventory Storage Fee", storage)
    fee(2, timedelta(days=5, hours=9), "AdvertisingFee", "Cost of Advertising", advertising)
    fee(3, timedelta(days=2, hours=6), "FBALongTermStorageFee", "FBA Long-Term Storage Fee",
        long_term)  # fmt: skip
    posted = start + timedelta(days=6, hours=4)
    if reimbursed is not None and posted < min(end, now - timedelta(hours=1)):
        amount = local_price(reimbursed.unit_cost or reimbursed.price, market) * reimbursed_qty
        drafts.append(
            DraftTransaction(
                ids[4], "Adjustment", "FBA Inventory Reimbursement", posted, market, "RELEASED",
                [([("Reimbursements", "FBAInventoryReimbursement", amount)],
                  product_context(reimbursed, reimbursed_qty, "AFN"))], [], [], [],
            )
        )  # fmt: skip
    if not closed:
        return drafts, previous_reserve
    leaves: list[Leaf] = [("Reserve", "CurrentReserveAmount", -reserve)]
    if previous_reserve:
        leaves.insert(0, ("Reserve", "PreviousReserveAmountBalance", previous_reserve))
    drafts.append(
        DraftTransaction(
            ids[5], "Reserve", "Reserve", end - timedelta(minutes=1), market, "RELEASED", [],
            leaves, [], [],
        )
    )  # fmt: skip
    return drafts, reserve


def breakdown_tree(leaves: list[Leaf], currency: str) -> list[JsonObject]:
    """Group leaves under their group node; a group's amount is the sum of its leaves."""
    groups: dict[str, dict[str, Decimal]] = {}
    for group, name, amount in leaves:
        bucket = groups.setdefault(group, {})
        bucket[name] = bucket.get(name, ZERO) + amount
    return [
        {
            "breakdownType": group,
            "breakdownAmount": currency_amount(sum(children.values(), ZERO), currency),
            "breakdowns": [
                {"breakdownType": name, "breakdownAmount": currency_amount(value, currency)}
                for name, value in children.items()
            ],
        }
        for group, children in groups.items()
    ]


def currency_amount(amount: Decimal, currency: str) -> JsonObject:
    return {"currencyCode": currency, "currencyAmount": amount}


def render_transaction(
    draft: DraftTransaction, seller_id: str, group_id: str, settlement_id: str
) -> JsonObject:
    """The draft as a Finances 2024-06-19 `Transaction` inside its settlement group."""
    cur = draft.market.currency
    related = [*draft.related]
    related += [("FINANCIAL_EVENT_GROUP_ID", group_id), ("SETTLEMENT_ID", settlement_id)]
    rendered: JsonObject = {
        "sellingPartnerMetadata": {
            "sellingPartnerId": seller_id,
            "accountType": "Standard Orders",
            "marketplaceId": draft.market.marketplace_id,
        },
        "relatedIdentifiers": [
            {"relatedIdentifierName": name, "relatedIdentifierValue": value}
            for name, value in related
        ],
        "transactionType": draft.kind,
        "transactionId": draft.transaction_id,
        "transactionStatus": draft.status,
        "description": draft.description,
        "postedDate": iso(draft.posted),
        "totalAmount": currency_amount(draft.total, cur),
        "marketplaceDetails": {
            "marketplaceId": draft.market.marketplace_id,
            "marketplaceName": draft.market.name,
        },
        "items": [
            {
                "totalAmount": currency_amount(sum((a for _, _, a in leaves), ZERO), cur),
                "breakdowns": breakdown_tree(leaves, cur),
                "contexts": [context] if context else [],
            }
            for leaves, context in draft.items
        ],
        "contexts": draft.contexts,
        "breakdowns": breakdown_tree(draft.all_leaves(), cur),
    }
    return rendered
