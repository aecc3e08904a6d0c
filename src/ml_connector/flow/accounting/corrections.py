"""Corrections of posted documents, as accountants make them: reverse, then re-issue.

A posted invoice or journal is never edited. When today's data or mapping gives a different
document, the correction is a pair of new documents with their own keys and numbers:

- invoice: a credit memo for whatever is still open on the posted invoice, and a new invoice
  (``inv:{order}:r{n}``, number ``R{n}-…``) with today's lines;
- journal: a reversing journal (debits and credits swapped, ``jnl:{group}:rev{n}``) and a new
  journal (``jnl:{group}:r{n}``).

Both members of a pair are derived here, purely, so that replay can show them in a dry run and
the outbox can post them exactly once like any other document.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date

from ml_connector.domain.checks import check_journal_balances
from ml_connector.domain.documents import (
    CreditMemoDoc,
    Held,
    HoldCode,
    InvoiceDoc,
    JournalDoc,
    JournalLine,
)
from ml_connector.domain.ids import TRX_NUMBER_MAX, IdempotencyKey
from ml_connector.flow.accounting.credit_memos import plan_cancellation_credit_memo


def reissue_number(order_id: str, revision: int) -> str:
    """A transaction number for the n-th re-issued invoice of an order, stable and ≤ 20 chars.

    `R{n}-` plus the order id when it fits, else plus a digest of it (the order id itself is
    always in the invoice's cross reference and comments).
    """
    prefix = f"R{revision}-"
    if len(prefix) + len(order_id) <= TRX_NUMBER_MAX:
        return prefix + order_id
    digest = hashlib.sha256(order_id.encode("utf-8")).hexdigest().upper()
    return prefix + digest[: TRX_NUMBER_MAX - len(prefix)]


def correct_invoice(
    posted: InvoiceDoc,
    today: InvoiceDoc,
    *,
    revision: int,
    on: date,
    prior: tuple[CreditMemoDoc, ...] = (),
) -> tuple[CreditMemoDoc, InvoiceDoc] | Held:
    """Credit what is still open on `posted`, and re-issue `today` as a new invoice."""
    memo = plan_cancellation_credit_memo(posted, cancelled_on=on, prior=prior)
    if isinstance(memo, Held):
        return memo
    if memo is None:
        return Held(
            posted.key,
            HoldCode.INVARIANT,
            f"invoice {posted.transaction_number} is fully credited already; nothing to reverse",
        )
    base = str(posted.amazon_order_id)
    memo = replace(
        memo,
        key=IdempotencyKey(f"cm:{base}:correction{revision}"),
        transaction_number=reissue_number(f"C-{base}", revision),
        reason="CORRECTION",
    )
    reissued = replace(
        today,
        key=IdempotencyKey(f"inv:{base}:r{revision}"),
        transaction_number=reissue_number(base, revision),
    )
    return memo, reissued


def correct_journal(
    posted: JournalDoc, today: JournalDoc, *, revision: int
) -> tuple[JournalDoc, JournalDoc]:
    """A reversing journal for `posted` and `today` re-issued under new keys and batch names."""
    reversal = replace(
        posted,
        key=IdempotencyKey(f"{posted.key}:rev{revision}"),
        batch_name=f"{posted.batch_name} REV{revision}",
        lines=tuple(
            JournalLine(
                account=line.account,
                entered_dr=line.entered_cr,
                entered_cr=line.entered_dr,
                description=f"Reversal: {line.description}"[:240],
                reference=line.reference,
            )
            for line in posted.lines
        ),
    )
    reissued = replace(
        today,
        key=IdempotencyKey(f"{posted.key}:r{revision}"),
        batch_name=f"{today.batch_name} R{revision}",
    )
    check_journal_balances(reversal)
    check_journal_balances(reissued)
    return reversal, reissued
