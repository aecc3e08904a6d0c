"""The Oracle documents we plan: what will be posted, before any Oracle-specific encoding.

These are the outbox payloads. They are complete enough for either path (REST deep POST or FBDI
rows) to be written from them, and carry the key that makes posting them idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.ids import (
    AmazonOrderId,
    FinancialEventGroupId,
    IdempotencyKey,
    MarketplaceId,
    SettlementId,
)
from ml_connector.domain.money import total


class LineKind(StrEnum):
    ITEM = "item"
    SHIPPING = "shipping"
    GIFT_WRAP = "gift_wrap"
    PROMOTION = "promotion"
    TAX = "tax"  # seller-collected: sales tax payable
    FACILITATOR_TAX = "facilitator_tax"  # Amazon remits it: tax clearing


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """The Oracle customer that stands for one marketplace's buyers."""

    account_number: str
    site_number: str


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    line_number: int
    kind: LineKind
    description: str
    amount: Decimal
    account: AccountCombination
    sku: str | None = None
    quantity: int | None = None
    unit_price: Decimal | None = None
    oracle_item: str | None = None
    #: The VAT/GST rate in percent (``Decimal("20")``) by which the connector split a
    #: tax-inclusive amount into this line and its tax line; on both lines; None otherwise.
    tax_rate: Decimal | None = None
    #: Oracle tax classification code (``VAT20``) for Oracle's tax engine to compute the tax.
    tax_classification_code: str | None = None
    #: The amount includes the tax (Oracle's ``LineAmountIncludesTax``): with a tax
    #: classification code, Oracle splits it; the connector then sends no tax line of its own.
    amount_includes_tax: bool = False
    #: Receivables accounting rule (revenue schedule) of an item line; None: at shipment.
    accounting_rule: str | None = None
    accounting_rule_duration: int | None = None


@dataclass(frozen=True, slots=True)
class InvoiceDoc:
    key: IdempotencyKey
    transaction_number: str
    amazon_order_id: AmazonOrderId
    marketplace_id: MarketplaceId
    customer: CustomerRef
    currency: str
    transaction_date: date
    accounting_date: date
    receivable_account: AccountCombination
    lines: tuple[InvoiceLine, ...]
    #: Receivables invoicing rule (``In Advance``/``In Arrears``) when lines carry an
    #: accounting rule; None: no revenue schedule.
    invoicing_rule: str | None = None

    @property
    def total(self) -> Decimal:
        """The receivable: what the marketplace customer owes for the order."""
        return total(line.amount for line in self.lines)


@dataclass(frozen=True, slots=True)
class CreditMemoDoc:
    """A credit memo against one invoice; line amounts are negative, as Oracle stores them."""

    key: IdempotencyKey
    transaction_number: str
    invoice_key: IdempotencyKey
    invoice_number: str
    amazon_order_id: AmazonOrderId
    refund_id: str | None
    refund_transaction_id: str | None
    customer: CustomerRef
    currency: str
    transaction_date: date
    accounting_date: date
    receivable_account: AccountCombination
    reason: str
    lines: tuple[InvoiceLine, ...]

    @property
    def total(self) -> Decimal:
        return total(line.amount for line in self.lines)


@dataclass(frozen=True, slots=True)
class JournalLine:
    account: AccountCombination
    entered_dr: Decimal
    entered_cr: Decimal
    description: str
    reference: str


@dataclass(frozen=True, slots=True)
class JournalDoc:
    key: IdempotencyKey
    batch_name: str
    group_id: FinancialEventGroupId
    settlement_id: SettlementId
    ledger: str
    legal_entity: str | None
    source: str
    category: str
    accounting_date: date
    currency: str
    lines: tuple[JournalLine, ...]

    @property
    def total_dr(self) -> Decimal:
        return total(line.entered_dr for line in self.lines)

    @property
    def total_cr(self) -> Decimal:
        return total(line.entered_cr for line in self.lines)

    def net(self, account: AccountCombination) -> Decimal:
        """Debits minus credits on one account in this journal."""
        return total(
            line.entered_dr - line.entered_cr for line in self.lines if line.account == account
        )


class HoldCode(StrEnum):
    UNMAPPED_SKU = "unmapped_sku"
    UNMAPPED_CHARGE = "unmapped_charge"
    MISSING_CUSTOMER = "missing_customer"
    NOT_SHIPPED = "not_shipped"
    NOT_CLOSED = "not_closed"
    NOT_INVOICED = "not_invoiced"
    OVER_CREDIT = "over_credit"
    AMBIGUOUS = "ambiguous"
    INVARIANT = "invariant"
    # One of the Amazon records the document is made from cannot be read: that record has its
    # own review item, and the document waits until a later listing reads it.
    UNREADABLE_RECORD = "unreadable_record"
    # A VAT-inclusive order without a tax figure, and the charge mapping's [vat] gives no rate
    # (split mode) or tax classification code (tax_code mode) for its marketplace or category.
    MISSING_VAT = "missing_vat"
    # Item lines carry an accounting rule (revenue schedule) but the connection names no
    # invoicing rule, which Oracle requires with one.
    MISSING_INVOICING_RULE = "missing_invoicing_rule"


@dataclass(frozen=True, slots=True)
class Held:
    """A document that cannot be planned yet; it waits in the review queue with its reason.

    Never a default account: the reason tells a person what to fix (mapping, data) and a replay
    after the fix plans the document for real.
    """

    key: IdempotencyKey
    code: HoldCode
    reason: str
    details: tuple[str, ...] = ()
