"""Refund or post-invoice cancellation → credit memo against the original invoice.

A refund's memo uses Amazon's actual amounts per leaf (so it ties to the settlement) and the
invoice's own accounts per SKU and line kind (so it reverses exactly what was booked).

An invoice whose VAT the connector split from tax-inclusive prices (lines with a `tax_rate`) is
typically refunded with gross amounts and no `Tax` leaf: each such amount is split again by the
invoice line's rate, with the invoice's rounding (`invoices.vat_in`), the net to that line and
the VAT to the SKU's VAT line, so the memo still totals Amazon's refund; the refund that
completes the SKU's lines takes exactly what is left on each, so partial refunds never leave a
cent of revenue or VAT behind (`_take_what_is_left`). A refund that does carry
a tax leaf for the SKU is taken as Amazon gives it. Memo lines carry the invoice line's rate, tax
classification code and tax-inclusive flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.checks import InvariantViolation, check_credit_memo
from ml_connector.domain.documents import (
    CreditMemoDoc,
    Held,
    HoldCode,
    InvoiceDoc,
    InvoiceLine,
    LineKind,
)
from ml_connector.domain.ids import (
    AmazonOrderId,
    IdempotencyKey,
    cancellation_key,
    credit_memo_key,
    credit_memo_number,
)
from ml_connector.domain.money import ZERO, total
from ml_connector.domain.settlements import Leaf, SettlementTransaction
from ml_connector.flow.accounting.invoices import unit_price, vat_in
from ml_connector.flow.accounting.policy import DEFAULT_POLICY, AccountingPolicy
from ml_connector.flow.mapping import ChargeMapping, InvoicedRole

_Slot = tuple[str, LineKind, AccountCombination]
_KINDS: dict[InvoicedRole, tuple[LineKind, ...]] = {
    InvoicedRole.ITEM: (LineKind.ITEM,),
    InvoicedRole.SHIPPING: (LineKind.SHIPPING,),
    InvoicedRole.GIFT_WRAP: (LineKind.GIFT_WRAP,),
    InvoicedRole.PROMOTION: (LineKind.PROMOTION,),
    InvoicedRole.TAX: (LineKind.FACILITATOR_TAX, LineKind.TAX),
}


def open_amount(invoice: InvoiceDoc, prior: Sequence[CreditMemoDoc]) -> Decimal:
    """What is still creditable on the invoice after earlier credit memos."""
    return invoice.total + total(memo.total for memo in prior)


def _find(invoice: InvoiceDoc, sku: str, role: InvoicedRole) -> InvoiceLine | None:
    for kind in _KINDS[role]:
        for line in invoice.lines:
            if line.kind is kind and line.sku == sku:
                return line
    return None


def _refund_parts(
    refund: SettlementTransaction, invoice: InvoiceDoc
) -> list[tuple[str, int | None, tuple[Leaf, ...]]] | str:
    """(sku, quantity, leaves) per refunded item, or why the SKUs cannot be told apart."""
    parts = [(item.sku, item.quantity, item.leaves) for item in refund.items if item.leaves]
    if parts and all(sku is not None for sku, _, _ in parts):
        return [(str(sku), qty, leaves) for sku, qty, leaves in parts]
    skus = {line.sku for line in invoice.lines if line.sku is not None}
    if len(skus) == 1:
        return [(skus.pop(), None, refund.leaves)]
    return "refund has no per-item SKUs and the invoice has several SKUs"


def plan_refund_credit_memo(
    refund: SettlementTransaction,
    invoice: InvoiceDoc | None,
    mapping: ChargeMapping,
    *,
    prior: Sequence[CreditMemoDoc] = (),
    policy: AccountingPolicy = DEFAULT_POLICY,
    accounting_date: date | None = None,
) -> CreditMemoDoc | Held | None:
    """The credit memo for one Refund transaction; None when nothing invoiced was refunded.

    A refund whose invoice is not posted yet is held (NOT_INVOICED) until it is.
    """
    order_id = AmazonOrderId(refund.order_id or "")
    key = credit_memo_key(order_id, refund.transaction_id)
    if not refund.order_id:
        return Held(key, HoldCode.AMBIGUOUS, f"refund {refund.transaction_id} names no order")
    if invoice is None:
        return Held(key, HoldCode.NOT_INVOICED, f"invoice for order {order_id} is not posted yet")
    parts = _refund_parts(refund, invoice)
    if isinstance(parts, str):
        return Held(key, HoldCode.AMBIGUOUS, parts)
    amounts: dict[_Slot, Decimal] = {}
    quantities: dict[str, int] = {}
    templates: dict[_Slot, InvoiceLine] = {}
    unmapped: set[str] = set()
    missing: list[str] = []

    split: dict[str, set[_Slot]] = {}

    def credit(sku: str, line: InvoiceLine, amount: Decimal) -> None:
        slot = (sku, line.kind, line.account)
        amounts[slot] = amounts.get(slot, ZERO) + amount
        templates.setdefault(slot, line)

    for sku, quantity, leaves in parts:
        targets = [(leaf, mapping.target(leaf.path)) for leaf in leaves]
        # Amazon's own tax figure for this SKU wins over re-splitting gross amounts.
        tax_given = any(
            t is not None and t.invoiced is InvoicedRole.TAX and leaf.amount != ZERO
            for leaf, t in targets
        )
        for leaf, target in targets:
            if target is None:
                unmapped.add(leaf.key)
                continue
            if target.invoiced is None or leaf.amount == ZERO:
                continue  # fees and withheld tax belong to the settlement journal
            line = _find(invoice, sku, target.invoiced)
            if line is None:
                missing.append(f"{sku}/{leaf.key}")
                continue
            if line.kind is LineKind.ITEM and quantity:
                quantities[sku] = quantities.get(sku, 0) + quantity
            rate = line.tax_rate
            if tax_given or not rate or line.kind is LineKind.TAX:
                credit(sku, line, leaf.amount)
                continue
            vat = vat_in(leaf.amount, rate, invoice.currency)
            vat_line = _find(invoice, sku, InvoicedRole.TAX) if vat != ZERO else None
            if vat != ZERO and vat_line is None:
                missing.append(f"{sku}/{leaf.key} (VAT {vat})")
                continue
            credit(sku, line, leaf.amount - vat)
            if vat_line is not None:
                credit(sku, vat_line, vat)
            split.setdefault(sku, set()).add((sku, line.kind, line.account))
    if unmapped:
        types = tuple(sorted(unmapped))
        return Held(
            key,
            HoldCode.UNMAPPED_CHARGE,
            f"breakdowns not in the charge mapping: {', '.join(types)}",
            types,
        )
    if missing:
        reason = f"refunded amounts with no matching invoice line: {', '.join(missing)}"
        return Held(key, HoldCode.AMBIGUOUS, reason, tuple(missing))
    if not amounts:
        return None
    for sku, slots in split.items():
        _take_what_is_left(invoice, prior, sku, slots, amounts, templates)
    lines: list[InvoiceLine] = []
    for (sku, kind, account), amount in amounts.items():
        if amount == ZERO:
            continue
        quantity = quantities.get(sku) if kind is LineKind.ITEM else None
        source = templates[(sku, kind, account)]
        lines.append(
            InvoiceLine(
                line_number=len(lines) + 1,
                kind=kind,
                description=source.description,
                amount=amount,
                account=account,
                sku=sku,
                quantity=-quantity if quantity else None,
                unit_price=unit_price(amount, quantity, invoice.currency) if quantity else None,
                tax_rate=source.tax_rate,
                tax_classification_code=source.tax_classification_code,
                amount_includes_tax=source.amount_includes_tax,
            )
        )
    refund_id = refund.refund_id or refund.transaction_id
    day = refund.posted_date.date() if refund.posted_date else accounting_date
    if day is None:
        return Held(key, HoldCode.AMBIGUOUS, "refund has no posted date and none was given")
    memo = _memo(
        key, invoice, credit_memo_number(refund_id), refund_id, refund.transaction_id,
        day, accounting_date or day, f"Amazon {_reversal_name(refund)} {refund_id}", lines,
    )  # fmt: skip
    return _checked(memo, total(amounts.values()), open_amount(invoice, prior))


def _remaining(invoice: InvoiceDoc, prior: Sequence[CreditMemoDoc]) -> dict[_Slot, Decimal]:
    """What each invoice line (by SKU, kind and account) still holds after earlier memos."""
    left: dict[_Slot, Decimal] = {}
    for line in invoice.lines:
        slot = (line.sku or "", line.kind, line.account)
        left[slot] = left.get(slot, ZERO) + line.amount
    for memo in prior:
        for line in memo.lines:
            slot = (line.sku or "", line.kind, line.account)
            if slot in left:
                left[slot] += line.amount
    return left


def _take_what_is_left(
    invoice: InvoiceDoc,
    prior: Sequence[CreditMemoDoc],
    sku: str,
    split: set[_Slot],
    amounts: dict[_Slot, Decimal],
    templates: dict[_Slot, InvoiceLine],
) -> None:
    """Settle the rounding of a refund whose gross the connector split by the line's rate.

    Each partial refund's split is rounded on its own, so the parts of a line need not add up
    to what the invoice booked (59.97 = 49.97 + 10.00 refunded as 3 × 19.99 = 3 × (16.66 +
    3.33)). The refund that completes the SKU's split lines and its VAT line takes exactly
    what is left on each; short of that, a line is never credited past what is left on it:
    the cent goes to the VAT line instead.
    """
    left = _remaining(invoice, prior)
    vat_slots = [
        slot for slot in left if slot[0] == sku and slot[1] is LineKind.TAX and slot in amounts
    ]
    if not vat_slots:
        return
    vat_slot = vat_slots[0]
    priced = [
        slot
        for slot in left
        if slot[0] == sku and slot[1] is not LineKind.TAX and _split_line(invoice, slot)
    ]
    group = [*priced, vat_slot]
    given = total(amounts.get(slot, ZERO) for slot in group)
    still = total(left[slot] for slot in group)
    if given != ZERO and given == -still:
        for slot in group:
            amounts[slot] = -left[slot]
            templates.setdefault(slot, _line_of(invoice, slot))
        return
    for slot in split:
        amount = amounts.get(slot, ZERO)
        if left[slot] == ZERO or (amount < ZERO) == (left[slot] < ZERO):
            continue  # an over-credit of the line itself: the memo's bound check says so
        over = amount + left[slot]
        if abs(amount) > abs(left[slot]):
            amounts[slot] = amount - over
            amounts[vat_slot] = amounts[vat_slot] + over


def _split_line(invoice: InvoiceDoc, slot: _Slot) -> bool:
    line = _line_of(invoice, slot)
    return bool(line.tax_rate) and not line.tax_classification_code


def _line_of(invoice: InvoiceDoc, slot: _Slot) -> InvoiceLine:
    return next(line for line in invoice.lines if (line.sku or "", line.kind, line.account) == slot)


def plan_cancellation_credit_memo(
    invoice: InvoiceDoc,
    *,
    cancelled_on: date,
    prior: Sequence[CreditMemoDoc] = (),
    accounting_date: date | None = None,
) -> CreditMemoDoc | Held | None:
    """Reverse whatever is still open on an invoice whose order was cancelled after posting."""
    remaining: dict[tuple[str | None, LineKind, AccountCombination], Decimal] = {}
    template: dict[tuple[str | None, LineKind, AccountCombination], InvoiceLine] = {}
    for line in invoice.lines:
        slot = (line.sku, line.kind, line.account)
        remaining[slot] = remaining.get(slot, ZERO) + line.amount
        template.setdefault(slot, line)
    for memo in prior:
        for line in memo.lines:
            slot = (line.sku, line.kind, line.account)
            remaining[slot] = remaining.get(slot, ZERO) + line.amount
    lines: list[InvoiceLine] = []
    for slot, amount in remaining.items():
        if amount == ZERO or slot not in template:
            continue
        source = template[slot]
        lines.append(
            InvoiceLine(
                line_number=len(lines) + 1,
                kind=source.kind,
                description=source.description,
                amount=-amount,
                account=source.account,
                sku=source.sku,
                tax_rate=source.tax_rate,
                tax_classification_code=source.tax_classification_code,
                amount_includes_tax=source.amount_includes_tax,
            )
        )
    if not lines:
        return None
    key = cancellation_key(invoice.amazon_order_id)
    memo = _memo(
        key, invoice, credit_memo_number(f"X{invoice.amazon_order_id}"), None, None,
        cancelled_on, accounting_date or cancelled_on,
        f"Amazon order {invoice.amazon_order_id} cancelled", lines,
    )  # fmt: skip
    return _checked(memo, memo.total, open_amount(invoice, prior))


def _reversal_name(reversal: SettlementTransaction) -> str:
    """What the buyer got the money back through, in the words a finance team reads in Oracle:
    ``refund``, ``A-to-z guarantee claim``, ``chargeback`` (docs/amazon-vocabulary.md)."""
    folded = "".join(ch for ch in (reversal.transaction_type or "").casefold() if ch.isalnum())
    if "guaranteeclaim" in folded:
        return "A-to-z guarantee claim"
    if "chargeback" in folded:
        return "chargeback"
    return "refund"


def _memo(
    key: IdempotencyKey,
    invoice: InvoiceDoc,
    number: str,
    refund_id: str | None,
    transaction_id: str | None,
    day: date,
    gl_day: date,
    reason: str,
    lines: list[InvoiceLine],
) -> CreditMemoDoc:
    return CreditMemoDoc(
        key=key,
        transaction_number=number,
        invoice_key=invoice.key,
        invoice_number=invoice.transaction_number,
        amazon_order_id=invoice.amazon_order_id,
        refund_id=refund_id,
        refund_transaction_id=transaction_id,
        customer=invoice.customer,
        currency=invoice.currency,
        transaction_date=day,
        accounting_date=gl_day,
        receivable_account=invoice.receivable_account,
        reason=reason,
        lines=tuple(lines),
    )


def _checked(memo: CreditMemoDoc, expected: Decimal, still_open: Decimal) -> CreditMemoDoc | Held:
    try:
        check_credit_memo(memo, expected, still_open)
    except InvariantViolation as exc:
        code = HoldCode.OVER_CREDIT if exc.check == "credit_memo_bounds" else HoldCode.INVARIANT
        return Held(memo.key, code, str(exc), (exc.check,))
    return memo
