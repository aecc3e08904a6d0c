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
from ml_connector.domain.quarantine import Unreadable


class _CaselessEnum(StrEnum):
    """Amazon spells the same enum value in more than one case (`RELEASED` in the model's enum,
    `Released` in the model's own example), so values are looked up without regard to case."""

    @classmethod
    def _missing_(cls, value: object) -> _CaselessEnum | None:
        if isinstance(value, str):
            folded = value.strip().casefold()
            for member in cls:
                if member.value.casefold() == folded:
                    return member
        return None


class GroupStatus(_CaselessEnum):
    OPEN = "Open"
    CLOSED = "Closed"


def group_status_of(group: object) -> GroupStatus | None:
    """A v0 group's `ProcessingStatus` in any case; None when absent or not one Amazon documents.

    Callers treat None as "not known to be final": such a group is never journaled.
    """
    value = group.get("ProcessingStatus") if isinstance(group, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return GroupStatus(value)
    except ValueError:
        return None


class TransactionStatus(_CaselessEnum):
    RELEASED = "RELEASED"
    DEFERRED = "DEFERRED"
    DEFERRED_RELEASED = "DEFERRED_RELEASED"


@dataclass(frozen=True, slots=True)
class Leaf:
    """One leaf breakdown and its signed amount.

    `path` is the chain of `breakdownType`s from the top of the tree down to the leaf, e.g.
    ``("Expenses", "AmazonFees", "Commission", "Tax")``: the same leaf name (`Tax`) means sales
    tax under `Sales` and the VAT Amazon charges on its own fee under a fee, so the accounting
    keys on the path, never on the name alone.
    """

    path: tuple[str, ...]
    amount: Decimal

    @property
    def breakdown_type(self) -> str:
        return self.path[-1]

    @property
    def key(self) -> str:
        return "/".join(self.path)


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
    #: None when Amazon sent no status (the model does not require one); the settlement decides
    #: whether such money counts (see `Settlement.resolve_statusless`).
    status: TransactionStatus | None
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
    #: Transactions listed for this group that could not be read: while any is here, the
    #: settlement is incomplete and its journal waits.
    unreadable: tuple[Unreadable, ...] = ()
    #: What was decided about the group's records by a documented rule rather than read
    #: (e.g. a null `transactionStatus` read as RELEASED because the group's total says so).
    notes: tuple[str, ...] = ()

    @property
    def released(self) -> tuple[SettlementTransaction, ...]:
        return tuple(t for t in self.transactions if t.counts_in_total)

    @property
    def released_total(self) -> Decimal:
        return total(t.total for t in self.released)
