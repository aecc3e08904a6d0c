"""Finances 2024-06-19 transactions for generated orders and account-level fees.

Breakdowns are trees as Amazon sends them (`Sales → ProductCharges`, `Expenses → AmazonFees →
Commission → Base / Tax`); the paths and signs are those of docs/amazon-vocabulary.md, which the
example charge mapping keys by path. A new path here is a new row in that mapping.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

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

Path = tuple[str, ...]
Leaf = tuple[Path, Decimal]  # (breakdownType chain from the top of the tree, signed amount)

SALES = "Sales"
PROMOTIONS = "Promotions"
WITHHELD = "TaxWithheld"
EXPENSES = "Expenses"
AMAZON_FEES = "AmazonFees"

_COMMISSION_RATE = Decimal("0.15")
_REFUND_ADMIN_RATE = Decimal("0.20")


def digest(text: str) -> int:
    """A stable number from an id already drawn: shapes chosen by it cost no `rng` draw, so
    the seed's ids and money stay what they were before the shape existed."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@dataclass
class DraftItem:
    """One line of a transaction: its leaves and product context.

    `itemised=False` renders the item without breakdowns (its money only in `totalAmount`),
    as Amazon does for inventory reimbursements; the transaction-level tree still has it.
    """

    leaves: list[Leaf]
    context: JsonObject | None
    itemised: bool = True


@dataclass
class DraftTransaction:
    """A transaction before its settlement group is known."""

    transaction_id: str
    kind: str
    description: str
    posted: datetime
    market: Marketplace
    status: str
    items: Sequence[DraftItem]
    leaves: list[Leaf]
    related: list[tuple[str, str]]
    contexts: list[JsonObject]
    #: The money of a transaction that carries no breakdowns at all (a `Transfer`).
    amount: Decimal | None = None

    @property
    def total(self) -> Decimal:
        if self.amount is not None:
            return self.amount
        return sum((amount for _, amount in self.all_leaves()), ZERO)

    @property
    def counts_in_total(self) -> bool:
        """Released money is in the group's OriginalTotal; deferred money is not (yet)."""
        return self.status == "RELEASED"

    def all_leaves(self) -> list[Leaf]:
        collected = list(self.leaves)
        for item in self.items:
            collected.extend(item.leaves)
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


def fee_leaves(name: str, base: Decimal, market: Marketplace, key: str) -> list[Leaf]:
    """Amazon's fee `name` under `Expenses/AmazonFees`, `base` signed from the seller's view.

    EU/UK sellers are charged VAT on Amazon's fees at their country's rate, so the fee splits
    into `Base` and `Tax`. Elsewhere the fee carries no tax: by `key` (an id already drawn) it is
    either a bare leaf or a node whose only child is `Base`, so both shapes occur.
    """
    node: Path = (EXPENSES, AMAZON_FEES, name)
    if market.region == "eu":
        vat = money_round(base * market.tax_rate, market)
        return [((*node, "Base"), base), ((*node, "Tax"), vat)]
    if digest(key) % 2:
        return [((*node, "Base"), base)]
    return [(node, base)]


def _is_fee(path: Path, name: str) -> bool:
    return path[:3] == (EXPENSES, AMAZON_FEES, name)


def shipment_leaves(plan: OrderPlan, item: ItemMoney) -> list[Leaf]:
    """What Amazon charged and withheld for one shipped line (signs: seller's view)."""
    market = plan.market
    sales = item.principal + item.principal_promo + item.shipping + item.shipping_promo
    commission = money_round((sales + item.gift_wrap) * _COMMISSION_RATE, market)
    leaves: list[Leaf] = [
        ((SALES, "ProductCharges"), item.principal),
        ((SALES, "Shipping"), item.shipping),
        ((SALES, "GiftWrap"), item.gift_wrap),
        ((SALES, "Tax"), item.tax_total),
        ((PROMOTIONS, "ProductCharges"), item.principal_promo),
        ((PROMOTIONS, "Shipping"), item.shipping_promo),
    ]
    if plan.facilitator:
        leaves += [
            ((WITHHELD, "MarketplaceFacilitatorTax-Principal"), -item.tax),
            ((WITHHELD, "MarketplaceFacilitatorTax-Shipping"), -item.shipping_tax),
            ((WITHHELD, "MarketplaceFacilitatorTax-Giftwrap"), -item.gift_wrap_tax),
        ]
    leaves += fee_leaves("Commission", -commission, market, plan.order_id)
    if plan.network == "AFN":
        fee = local_price(Decimal("3.22"), market) * item.quantity
        leaves += fee_leaves("FBAPerUnitFulfillmentFee", -fee, market, plan.order_id)
    return [leaf for leaf in leaves if leaf[1] != 0]


def refund_leaves(plan: OrderPlan, item: ItemMoney, whole_line: bool) -> list[Leaf]:
    """A refund mirrors the sale with opposite signs (the commission and its VAT come back),
    keeps the fulfilment fee, and charges a refund administration fee with its own VAT."""
    market = plan.market
    if whole_line:
        reversed_leaves = [
            (path, -amount)
            for path, amount in shipment_leaves(plan, item)
            if not _is_fee(path, "FBAPerUnitFulfillmentFee")
        ]
    else:
        tax = min(money_round(item.unit_price * plan.tax_rate, market), item.tax)
        commission = money_round(item.unit_price * _COMMISSION_RATE, market)
        reversed_leaves = [((SALES, "ProductCharges"), -item.unit_price), ((SALES, "Tax"), -tax)]
        if plan.facilitator:
            reversed_leaves.append(((WITHHELD, "MarketplaceFacilitatorTax-Principal"), tax))
        reversed_leaves += fee_leaves("Commission", commission, market, plan.order_id)
    refunded_commission = sum(
        (
            amount
            for path, amount in reversed_leaves
            if _is_fee(path, "Commission") and path[-1] != "Tax"
        ),
        ZERO,
    )
    admin = min(
        money_round(refunded_commission * _REFUND_ADMIN_RATE, market),
        local_price(Decimal("5.00"), market),
    )
    reversed_leaves += fee_leaves("RefundCommission", -admin, market, plan.order_id)
    return [leaf for leaf in reversed_leaves if leaf[1] != 0]


def order_transactions(
    rng: random.Random, plan: OrderPlan, now: datetime
) -> list[DraftTransaction]:
    """Shipment (possibly deferred, then released) and refund transactions of one order."""
    if plan.shipped is None:
        return []
    ids = [new_id(rng) for _ in range(3)]
    posted = plan.shipped + timedelta(minutes=17)
    items = [
        DraftItem(
            shipment_leaves(plan, item), product_context(item.entry, item.quantity, plan.network)
        )
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
            DraftItem(
                refund_leaves(plan, item, whole), product_context(item.entry, qty, plan.network)
            )
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
                    fee_leaves(name, -amount, market, ids[index]), [], [],
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
        leaf: Leaf = (("Reimbursements", "FBAInventoryReimbursement"), amount)
        context = product_context(reimbursed, reimbursed_qty, "AFN")
        drafts.append(
            DraftTransaction(
                ids[4], "Adjustment", "FBA Inventory Reimbursement", posted, market, "RELEASED",
                [DraftItem([leaf], context, itemised=False)], [], [], [],
            )
        )  # fmt: skip
    if not closed:
        return drafts, previous_reserve
    leaves: list[Leaf] = [(("Reserve", "CurrentReserveAmount"), -reserve)]
    if previous_reserve:
        leaves.insert(0, (("Reserve", "PreviousReserveAmountBalance"), previous_reserve))
    drafts.append(
        DraftTransaction(
            ids[5], "Reserve", "Reserve", end - timedelta(minutes=1), market, "RELEASED", [],
            leaves, [], [],
        )
    )  # fmt: skip
    return drafts, reserve


def transfer_transaction(
    market: Marketplace, group_id: str, start: datetime, end: datetime, now: datetime
) -> DraftTransaction | None:
    """A balance moved between the seller's Amazon accounts (in or out of this one), in about
    two groups of three. It carries no breakdowns, only its `totalAmount`, and counts in the
    group's total like any released money. Drawn from the group id, not from `rng`."""
    number = digest("transfer:" + group_id)
    posted = start + timedelta(days=3, hours=number % 20)
    if number % 3 == 2 or posted >= min(end, now - timedelta(hours=1)):
        return None
    amount = local_price(Decimal(5 + (number >> 8) % 40), market)
    if (number >> 16) % 2:
        amount = -amount
    transaction_id = hashlib.sha256(("transfer-tx:" + group_id).encode()).hexdigest()[:32]
    transfer_id = "TR-" + hashlib.sha256(("transfer-id:" + group_id).encode()).hexdigest()[:12]
    return DraftTransaction(
        transaction_id, "Transfer", "Transfer between the seller's Amazon accounts", posted,
        market, "RELEASED", [], [], [("TRANSFER_ID", transfer_id.upper())], [], amount=amount,
    )  # fmt: skip


def wire_statuses(drafts: list[DraftTransaction], closed: bool) -> dict[str, str | None]:
    """`transactionStatus` as sent: a few released transactions per group spelled `Released`
    (the spelling of Amazon's model example) and, in a Closed group, a few released Shipments
    sent with `null` (their money is in the group's OriginalTotal). Chosen by id, not `rng`."""
    sent: dict[str, str | None] = {d.transaction_id: d.status for d in drafts}
    plain = sorted(
        (d for d in drafts if d.status == "RELEASED"), key=lambda d: digest(d.transaction_id)
    )
    mixed = plain[: max(1, len(plain) // 8)]
    for draft in mixed:
        sent[draft.transaction_id] = "Released"
    if closed:
        candidates = [
            d
            for d in plain[len(mixed) :]
            if d.kind == "Shipment"
            and d.total > 0
            and not any(name == "DEFERRED_TRANSACTION_ID" for name, _ in d.related)
        ]
        for draft in candidates[: max(1, len(candidates) // 10)]:
            sent[draft.transaction_id] = None
    return sent


def carries_settlement_id(group_id: str, draft: DraftTransaction) -> bool:
    """Amazon often omits SETTLEMENT_ID: in one group of four no transaction carries it, and
    elsewhere account-level transactions (fees, reimbursements, reserve, transfers) lack it."""
    if digest("settlement:" + group_id) % 4 == 0:
        return False
    return draft.kind in ("Shipment", "Refund")


def breakdown_tree(leaves: list[Leaf], currency: str, empty_lists: bool) -> list[JsonObject]:
    """Nest leaves by path, in first-seen order; a node's amount is the sum of its children.

    `empty_lists` renders leaves with `"breakdowns": []` (as Amazon's model example does)
    instead of leaving the key out; both occur.
    """
    tree: dict[str, Any] = {}
    for path, amount in leaves:
        level = tree
        for name in path[:-1]:
            level = level.setdefault(name, {})
            if not isinstance(level, dict):
                raise ValueError(f"breakdown {'/'.join(path)} is below a leaf")
        level[path[-1]] = level.get(path[-1], ZERO) + amount

    def render(name: str, node: Decimal | dict[str, Any]) -> tuple[JsonObject, Decimal]:
        if isinstance(node, dict):
            children = [render(child, value) for child, value in node.items()]
            amount = sum((value for _, value in children), ZERO)
            return {
                "breakdownType": name,
                "breakdownAmount": currency_amount(amount, currency),
                "breakdowns": [child for child, _ in children],
            }, amount
        rendered: JsonObject = {
            "breakdownType": name,
            "breakdownAmount": currency_amount(node, currency),
        }
        if empty_lists:
            rendered["breakdowns"] = []
        return rendered, node

    return [render(name, node)[0] for name, node in tree.items()]


def currency_amount(amount: Decimal, currency: str) -> JsonObject:
    return {"currencyCode": currency, "currencyAmount": amount}


def render_transaction(
    draft: DraftTransaction,
    seller_id: str,
    group_id: str,
    settlement_id: str | None,
    status: str | None,
) -> JsonObject:
    """The draft as a Finances 2024-06-19 `Transaction` inside its settlement group.

    `settlement_id` None leaves SETTLEMENT_ID out; `status` is sent as given, None as a JSON
    null or (one in three, by id) with the key left out.
    """
    cur = draft.market.currency
    related = [*draft.related, ("FINANCIAL_EVENT_GROUP_ID", group_id)]
    if settlement_id is not None:
        related.append(("SETTLEMENT_ID", settlement_id))
    empty_lists = digest("lists:" + draft.transaction_id) % 2 == 0
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
        "transactionStatus": status,
        "description": draft.description,
        "postedDate": iso(draft.posted),
        "totalAmount": currency_amount(draft.total, cur),
        "marketplaceDetails": {
            "marketplaceId": draft.market.marketplace_id,
            "marketplaceName": draft.market.name,
        },
    }
    if status is None and digest("absent:" + draft.transaction_id) % 3 == 0:
        del rendered["transactionStatus"]  # no status sent at all; elsewhere a JSON null
    if draft.amount is not None:  # a Transfer: no items, no contexts, an empty breakdowns list
        rendered["breakdowns"] = []
        return rendered
    items: list[JsonObject] = []
    for item in draft.items:
        shaped: JsonObject = {
            "totalAmount": currency_amount(sum((a for _, a in item.leaves), ZERO), cur)
        }
        if item.itemised:
            shaped["breakdowns"] = breakdown_tree(item.leaves, cur, empty_lists)
        shaped["contexts"] = [item.context] if item.context else []
        items.append(shaped)
    rendered["items"] = items
    rendered["contexts"] = draft.contexts
    rendered["breakdowns"] = breakdown_tree(draft.all_leaves(), cur, empty_lists)
    return rendered
