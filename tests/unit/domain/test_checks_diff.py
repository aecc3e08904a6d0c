"""Invariant checks raise a named violation; diff shows what a replay would change."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.checks import (
    InvariantViolation,
    check_journal_balances,
    check_settlement_ties,
)
from ml_connector.domain.diff import diff
from ml_connector.domain.documents import JournalDoc, JournalLine
from ml_connector.domain.ids import FinancialEventGroupId, IdempotencyKey, SettlementId
from ml_connector.domain.settlements import (
    GroupStatus,
    Leaf,
    Settlement,
    SettlementTransaction,
    TransactionId,
    TransactionStatus,
)

D = Decimal
CASH = AccountCombination((("company", "101"), ("cost_center", "00"), ("account", "10500")))
FEES = AccountCombination((("company", "101"), ("cost_center", "10"), ("account", "61000")))


def _journal(*lines: tuple[AccountCombination, str, str]) -> JournalDoc:
    return JournalDoc(
        key=IdempotencyKey("jnl:G"),
        batch_name="AMZ 1",
        group_id=FinancialEventGroupId("G"),
        settlement_id=SettlementId("1"),
        ledger="L",
        legal_entity=None,
        source="Amazon",
        category="Amazon Settlement",
        accounting_date=date(2026, 3, 16),
        currency="USD",
        lines=tuple(JournalLine(a, D(dr), D(cr), "x", "1") for a, dr, cr in lines),
    )


def test_balanced_journal_passes() -> None:
    check_journal_balances(_journal((CASH, "5.00", "0"), (FEES, "0", "5.00")))


@pytest.mark.parametrize(
    ("lines", "check"),
    [
        (((CASH, "5.00", "0"), (FEES, "0", "4.99")), "journal_balances"),
        (((CASH, "5.00", "5.00"), (FEES, "0", "0")), "journal_line_sides"),
        (((CASH, "-5.00", "0"), (FEES, "0", "-5.00")), "journal_line_sign"),
        (((CASH, "5.001", "0"), (FEES, "0", "5.001")), "journal_precision"),
    ],
)
def test_broken_journals_name_the_failed_check(
    lines: tuple[tuple[AccountCombination, str, str], ...], check: str
) -> None:
    with pytest.raises(InvariantViolation) as info:
        check_journal_balances(_journal(*lines))
    assert info.value.check == check


def _txn(total: str, *leaves: str, status: TransactionStatus = TransactionStatus.RELEASED):
    return SettlementTransaction(
        TransactionId("T"), "Shipment", status, None, D(total), "USD", None, None, None, None,
        tuple(Leaf(("Principal",), D(a)) for a in leaves), (),
    )  # fmt: skip


def _settlement(total: str, *txns: SettlementTransaction) -> Settlement:
    return Settlement(
        FinancialEventGroupId("G"), SettlementId("G"), GroupStatus.CLOSED, "USD",
        None, None, None, D(total), txns,
    )  # fmt: skip


def test_settlement_ties_counts_only_released_money() -> None:
    deferred = _txn("7.00", "7.00", status=TransactionStatus.DEFERRED)
    check_settlement_ties(_settlement("3.00", _txn("3.00", "1.00", "2.00"), deferred))
    with pytest.raises(InvariantViolation, match="settlement_ties"):
        check_settlement_ties(_settlement("10.00", _txn("3.00", "3.00"), deferred))
    with pytest.raises(InvariantViolation, match="transaction_ties"):
        check_settlement_ties(_settlement("3.00", _txn("3.00", "2.00")))


def test_diff_reports_changed_lines_and_new_documents() -> None:
    posted = _journal((CASH, "5.00", "0"), (FEES, "0", "5.00"))
    planned = replace(posted, lines=(posted.lines[0], replace(posted.lines[1], account=CASH)))
    changes = diff(planned, posted)
    assert [str(c) for c in changes] == ["~ lines[1].account: 101.10.61000 -> 101.00.10500"]
    assert diff(posted, posted) == []
    assert all(c.before is None for c in diff(posted, None))
    assert any(c.path == "batch_name" and c.after == "AMZ 1" for c in diff(posted, None))
