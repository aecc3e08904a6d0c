"""Normalized Amazon settlements: a financial event group and its money movements.

Only leaf breakdowns carry accounting meaning (a group node is the sum of its children), so a
transaction keeps its leaves flattened. Item-level leaves are kept too: a refund's credit memo
needs to know which SKU each amount belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ml_connector.domain.ids import (
    AmazonOrderId,
    FinancialEventGroupId,
    MarketplaceId,
    SellerSku,
    SettlementId,
    TransactionId,
)
from ml_connector.domain.money import total


class GroupStatus(StrEnum):
    OPEN = "Open"
    CLOSED = "Closed"


class TransactionStatus(StrEnum):
    RELEASED = "RELEASED"
    DEFERRED = "DEFERRED"
    DEFERRED_RELEASED = "DEFERRED_RELEASED"


@dataclass(frozen=True, slots=True)
class Leaf:
    """One leaf breakdown: its type (free text, e.g. `Commission`) and signed amount."""

    breakdown_type: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TransactionItem:
    sku: SellerSku | None
    asin: str | None
    quantity: int | None
    fulfillment_network: str | None
    leaves: tuple[Leaf, ...]
    order_adjustment_item_id: str | None = None

    @property
    def total(self) -> Decimal:
        return total(leaf.amount for leaf in self.leaves)


@dataclass(frozen=True, slots=True)
class SettlementTransaction:
    transaction_id: TransactionId
    transaction_type: str
    status: TransactionStatus
    posted_date: datetime | None
    total: Decimal
    currency: str
    marketplace_id: MarketplaceId | None
    order_id: AmazonOrderId | None
    refund_id: str | None
    shipment_id: str | None
    leaves: tuple[Leaf, ...]
    items: tuple[TransactionItem, ...]
    description: str | None = None

    @property
    def counts_in_total(self) -> bool:
        """RELEASED money is in the group's total; DEFERRED is listed but not yet paid.

        A DEFERRED_RELEASED record is the old deferred copy of money that reappears as its own
        RELEASED transaction, so counting it too would count the money twice.
        """
        return self.status is TransactionStatus.RELEASED

    @property
    def leaves_total(self) -> Decimal:
        return total(leaf.amount for leaf in self.leaves)


@dataclass(frozen=True, slots=True)
class Settlement:
    group_id: FinancialEventGroupId
    settlement_id: SettlementId
    status: GroupStatus
    currency: str
    start: datetime | None
    end: datetime | None
    fund_transfer_date: datetime | None
    total: Decimal
    transactions: tuple[SettlementTransaction, ...]

    @property
    def released(self) -> tuple[SettlementTransaction, ...]:
        return tuple(t for t in self.transactions if t.counts_in_total)

    @property
    def released_total(self) -> Decimal:
        return total(t.total for t in self.released)
