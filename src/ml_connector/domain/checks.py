"""Invariants every planned document must satisfy before it may be posted.

Each check raises `InvariantViolation` naming the check and the figures that disagree, so the
review queue (or a failing test) shows exactly what did not add up.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, JournalDoc
from ml_connector.domain.money import ZERO, is_exact, total
from ml_connector.domain.settlements import Settlement


class InvariantViolation(Exception):
    """A planned document does not add up; `check` names which rule failed."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message


def check_journal_balances(journal: JournalDoc) -> None:
    """Debits equal credits; each line is one-sided, non-negative and in currency precision."""
    for index, line in enumerate(journal.lines, start=1):
        if line.entered_dr < ZERO or line.entered_cr < ZERO:
            raise InvariantViolation(
                "journal_line_sign", f"{journal.key} line {index} ({line.account}) is negative"
            )
        if (line.entered_dr == ZERO) == (line.entered_cr == ZERO):
            raise InvariantViolation(
                "journal_line_sides",
                f"{journal.key} line {index} ({line.account}) must have exactly one of Dr/Cr",
            )
        for amount in (line.entered_dr, line.entered_cr):
            if not is_exact(amount, journal.currency):
                raise InvariantViolation(
                    "journal_precision",
                    f"{journal.key} line {index} amount {amount} exceeds {journal.currency} "
                    "precision",
                )
    if journal.total_dr != journal.total_cr:
        raise InvariantViolation(
            "journal_balances",
            f"{journal.key} debits {journal.total_dr} != credits {journal.total_cr}",
        )


def check_settlement_ties(settlement: Settlement) -> None:
    """Every released transaction's leaves sum to its total, and those totals to the group's."""
    for txn in settlement.released:
        if txn.leaves_total != txn.total:
            raise InvariantViolation(
                "transaction_ties",
                f"transaction {txn.transaction_id}: leaves sum to {txn.leaves_total}, "
                f"totalAmount is {txn.total}",
            )
    if settlement.released_total != settlement.total:
        raise InvariantViolation(
            "settlement_ties",
            f"settlement {settlement.group_id}: released transactions sum to "
            f"{settlement.released_total}, Amazon's total is {settlement.total}",
        )


def check_journal_ties(
    journal: JournalDoc, cash_account: AccountCombination, payout: Decimal
) -> None:
    """The cash-in-transit line carries exactly Amazon's net payout for the settlement."""
    booked = journal.net(cash_account)
    if booked != payout:
        raise InvariantViolation(
            "journal_ties",
            f"{journal.key}: cash in transit {cash_account} nets {booked}, "
            f"Amazon's settlement total is {payout}",
        )


def check_invoice_total(invoice: InvoiceDoc, expected: Decimal) -> None:
    """The invoice's lines sum to the order's grand total as Amazon reports it."""
    if invoice.total != expected:
        raise InvariantViolation(
            "invoice_total",
            f"{invoice.key}: lines sum to {invoice.total}, order total is {expected}",
        )
    for line in invoice.lines:
        if not is_exact(line.amount, invoice.currency):
            raise InvariantViolation(
                "invoice_precision",
                f"{invoice.key} line {line.line_number} amount {line.amount} exceeds "
                f"{invoice.currency} precision",
            )


def check_credit_memo(memo: CreditMemoDoc, expected: Decimal, invoiced: Decimal) -> None:
    """The memo equals the refund's invoiced amounts and never credits more than was invoiced."""
    if memo.total != expected:
        raise InvariantViolation(
            "credit_memo_total", f"{memo.key}: lines sum to {memo.total}, refund is {expected}"
        )
    if memo.total > ZERO or -memo.total > invoiced:
        raise InvariantViolation(
            "credit_memo_bounds",
            f"{memo.key}: credits {-memo.total} against {invoiced} still open on the invoice",
        )


def clearing_net(
    account: AccountCombination,
    *,
    invoices: Iterable[InvoiceDoc] = (),
    credit_memos: Iterable[CreditMemoDoc] = (),
    journals: Iterable[JournalDoc] = (),
) -> Decimal:
    """Net Dr − Cr on `account` across documents (invoice revenue lines are credits)."""
    amounts: list[Decimal] = []
    documents: list[InvoiceDoc | CreditMemoDoc] = [*invoices, *credit_memos]
    for doc in documents:
        amounts.extend(-line.amount for line in doc.lines if line.account == account)
        if doc.receivable_account == account:
            amounts.append(doc.total)
    amounts.extend(journal.net(account) for journal in journals)
    return total(amounts)


def check_clearing_nets_to_zero(
    account: AccountCombination,
    *,
    invoices: Iterable[InvoiceDoc] = (),
    credit_memos: Iterable[CreditMemoDoc] = (),
    journals: Iterable[JournalDoc] = (),
) -> None:
    """A clearing account (e.g. marketplace tax) is empty once its settlement is booked."""
    net = clearing_net(account, invoices=invoices, credit_memos=credit_memos, journals=journals)
    if net != ZERO:
        raise InvariantViolation("clearing_nets_to_zero", f"{account} nets {net}, expected 0")


def check_proceeds_match(
    journal: JournalDoc,
    clearing_account: AccountCombination,
    invoices: Iterable[InvoiceDoc],
    credit_memos: Iterable[CreditMemoDoc],
) -> None:
    """Proceeds settled against receivable clearing = invoices − credit memos of its orders."""
    settled = -journal.net(clearing_account)
    documents = total(doc.total for doc in invoices) + total(m.total for m in credit_memos)
    if settled != documents:
        raise InvariantViolation(
            "proceeds_match",
            f"{journal.key}: proceeds settled {settled} != invoices less credit memos {documents}",
        )
