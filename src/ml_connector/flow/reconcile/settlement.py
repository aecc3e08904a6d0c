"""A settlement's figures side by side: what Amazon paid, what was posted, and the difference.

Four invariants are shown for every settlement, every time (docs/reconciliation.md):
(a) the journal's total = Amazon's group total (and line type by line type); (b) the settlement
report's total = the group total, or "settlement report not found"; (c) proceeds settled =
invoices − credit memos of the orders in the settlement, naming every order that differs and
why; (d) every clearing account nets to zero for the settlement (``invariants.py``); and, when
the connection books COGS, (e) the journal's cost lines are Amazon's units at the unit cost, SKU
by SKU (``cogs.py``). The status is ``matched`` only when all hold; ``incomplete`` when the
only differences are orders held for review (or not yet accepted by Oracle); ``variance``
otherwise.

Amazon's side is the group's total and the settlement report's deposit total. A settlement whose
report could not be linked (see ``report_link.py``) says so in words, "settlement report not
found", and is never ``matched``: the deposit check did not happen. The posted side is the
journal's net on cash in transit. The variance is split by line type so a finance user sees
*where* a journal disagrees (fees booked short, proceeds missing), not only that it does. Sign
convention on both sides: money to the seller is positive, so Amazon's leaves and the journal's
credits minus debits are directly comparable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ml_connector.domain.documents import JournalDoc
from ml_connector.domain.money import ZERO, total
from ml_connector.domain.settlements import GroupStatus, Settlement
from ml_connector.flow.accounting.policy import DEFAULT_POLICY, AccountingPolicy
from ml_connector.flow.mapping import Catalog
from ml_connector.flow.reconcile.cogs import NOTE as COGS_NOTE
from ml_connector.flow.reconcile.cogs import CogsCheck, check_cogs, is_cost_line
from ml_connector.flow.reconcile.invariants import (
    ClearingCheck,
    OrderBooks,
    ProceedsCheck,
    check_clearing,
    check_proceeds,
)
from ml_connector.flow.reconcile.roles import AccountRoles, LineType


class ReconcileStatus(StrEnum):
    MATCHED = "matched"
    VARIANCE = "variance"
    INCOMPLETE = "incomplete"
    """Amazon and the journal agree, but orders of the settlement are held for review (or not
    yet accepted by Oracle): the books are not complete until a person acts on them."""
    NOT_POSTED = "not_posted"
    OPEN = "open"
    REPORT_MISSING = "report_missing"
    """Everything posted ties to Amazon's group, but no settlement report could be linked, so
    the deposit was not checked against it."""


REPORT_NOT_FOUND = "settlement report not found"


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


@dataclass(frozen=True, slots=True)
class LineTypeVariance:
    """One line type: Amazon's released leaves vs the journal lines that carry them."""

    line_type: LineType
    amazon: Decimal
    posted: Decimal | None

    @property
    def variance(self) -> Decimal | None:
        return None if self.posted is None else self.posted - self.amazon

    def to_json(self) -> dict[str, str | None]:
        return {
            "line_type": self.line_type.value,
            "amazon": str(self.amazon),
            "posted": _text(self.posted),
            "variance": _text(self.variance),
        }


@dataclass(frozen=True, slots=True)
class SettlementReconciliation:
    settlement_id: str
    group_id: str
    currency: str
    status: ReconcileStatus
    amazon_total: Decimal
    released_total: Decimal
    deferred_total: Decimal
    report_total: Decimal | None
    posted_total: Decimal | None
    lines: tuple[LineTypeVariance, ...]
    notes: tuple[str, ...]
    report_id: str | None = None
    report_link: str | None = None
    """How the report was linked: ``settlement_id`` or ``period``."""
    report_missing: str | None = None
    """Why no report is linked, when none is (``settlement report not found: ...``)."""
    proceeds: ProceedsCheck | None = None
    """Invariant (c); None when the order documents were not given (pure callers)."""
    clearing: ClearingCheck | None = None
    """Invariant (d); None when the order documents were not given."""
    cogs: CogsCheck | None = None
    """The COGS check; None when the connection does not book COGS."""

    def invariants(self) -> dict[str, Any]:
        """The four invariants, each with ``holds`` (None: not checked) and its figures."""
        journal_causes = [
            n
            for n in self.notes
            if not n.startswith(_REPORT_NOTES)
            and not n.startswith(_ORDER_NOTES)
            and not n.startswith(COGS_NOTE)
        ]
        journal_holds = (
            None if self.posted_total is None else self.posted_total == self.amazon_total
        )
        if journal_holds is not None:
            journal_holds = journal_holds and not journal_causes
        if self.report_total is not None:
            report = {
                "holds": self.report_total == self.amazon_total,
                "report": str(self.report_total),
                "amazon": str(self.amazon_total),
                "cause": None
                if self.report_total == self.amazon_total
                else (
                    f"settlement report total {self.report_total} differs from the group total "
                    f"{self.amazon_total}"
                ),
            }
        else:
            report = {
                "holds": False if self.report_missing else None,
                "report": None,
                "amazon": str(self.amazon_total),
                "cause": self.report_missing or "report not checked",
            }
        checks: dict[str, Any] = {
            "journal_total": {
                "holds": journal_holds,
                "journal": _text(self.posted_total),
                "amazon": str(self.amazon_total),
                "causes": journal_causes
                if journal_holds is not None
                else ["the journal is not posted"],
            },
            "report_total": report,
            "proceeds": self.proceeds.to_json()
            if self.proceeds is not None
            else {"holds": None, "cause": "not checked"},
            "clearing": self.clearing.to_json()
            if self.clearing is not None
            else {"holds": None, "cause": "not checked"},
        }
        if self.cogs is not None:
            checks["cogs"] = self.cogs.to_json()
        return checks

    @property
    def held_orders(self) -> tuple[str, ...]:
        if self.proceeds is None:
            return ()
        return tuple(dict.fromkeys(o.order_id for o in self.proceeds.held))

    @property
    def review_items(self) -> tuple[int, ...]:
        if self.proceeds is None:
            return ()
        ids = (ref.item_id for o in self.proceeds.orders for ref in o.review)
        return tuple(sorted(set(ids)))

    @property
    def variance(self) -> Decimal | None:
        """Posted minus Amazon's total; None until something is posted."""
        return None if self.posted_total is None else self.posted_total - self.amazon_total

    @property
    def report_variance(self) -> Decimal | None:
        """Amazon's group total minus the settlement report's deposit total, when known."""
        return None if self.report_total is None else self.amazon_total - self.report_total

    def to_json(self) -> dict[str, Any]:
        """Decimal strings, so no consumer ever parses money through a float."""
        return {
            "settlement_id": self.settlement_id,
            "group_id": self.group_id,
            "currency": self.currency,
            "status": self.status.value,
            "amazon_total": str(self.amazon_total),
            "released_total": str(self.released_total),
            "deferred_total": str(self.deferred_total),
            "report_total": _text(self.report_total),
            "posted_total": _text(self.posted_total),
            "variance": _text(self.variance),
            "report_variance": _text(self.report_variance),
            "report_id": self.report_id,
            "report_link": self.report_link,
            "report_missing": self.report_missing,
            "lines": [line.to_json() for line in self.lines],
            "notes": list(self.notes),
            "invariants": self.invariants(),
            "held_orders": len(self.held_orders),
            "review_items": list(self.review_items),
        }


def _amazon_by_type(settlement: Settlement, roles: AccountRoles) -> dict[LineType, Decimal]:
    sums = dict.fromkeys(LineType, ZERO)
    for txn in settlement.released:
        for leaf in txn.leaves:
            sums[roles.for_leaf(leaf.path)] += leaf.amount
    return sums


def _journal_by_type(journal: JournalDoc, roles: AccountRoles) -> dict[LineType, Decimal]:
    sums = dict.fromkeys(LineType, ZERO)
    for line in journal.lines:
        # Cost lines are not Amazon's money (and balance among themselves): the COGS check
        # judges them.
        if line.account == roles.cash_in_transit or is_cost_line(line):
            continue
        sums[roles.for_account(line.account)] += line.entered_cr - line.entered_dr
    return sums


def reconcile_settlement(
    settlement: Settlement,
    journal: JournalDoc | None,
    *,
    roles: AccountRoles,
    posted: bool,
    report_total: Decimal | None = None,
    report_id: str | None = None,
    report_link: str | None = None,
    report_missing: str | None = None,
    books: Mapping[str, OrderBooks] | None = None,
    elsewhere: Mapping[str, Mapping[str, Decimal]] | None = None,
    known_transaction_ids: Iterable[str] = (),
    catalog: Catalog | None = None,
    policy: AccountingPolicy = DEFAULT_POLICY,
) -> SettlementReconciliation:
    """Compare one settlement with its journal; `posted` says whether Oracle accepted it.

    A journal that is planned but not posted is not counted as posted money: until Oracle has
    it, the books do not. ``report_missing`` (why no settlement report is linked) adds the note
    "settlement report not found" and keeps the status from ``matched``.

    ``books`` (the settlement's orders as the books have them, see ``invariants.OrderBooks``)
    turns on invariants (c) and (d); ``reconcile_connection`` always gives them. Without them
    those two are reported "not checked". With ``policy.include_cogs`` the journal's cost lines
    are checked against Amazon's units and the ``catalog``'s unit costs (``cogs.check_cogs``).
    """
    if journal is not None and journal.settlement_id != settlement.settlement_id:
        raise ValueError(
            f"journal {journal.key} is for settlement {journal.settlement_id}, "
            f"not {settlement.settlement_id}"
        )
    notes: list[str] = []
    released = settlement.released_total
    deferred = total(t.total for t in settlement.transactions if not t.counts_in_total)
    if released != settlement.total:
        notes.append(
            f"Amazon's released transactions sum to {released}, its group total is "
            f"{settlement.total}"
        )
    if report_total is not None and report_total != settlement.total:
        notes.append(
            f"settlement report total {report_total} differs from the group total "
            f"{settlement.total}"
        )
    amazon = _amazon_by_type(settlement, roles)
    is_posted = journal is not None and posted
    posted_by_type = _journal_by_type(journal, roles) if is_posted and journal else None
    posted_total = journal.net(roles.cash_in_transit) if is_posted and journal else None
    lines = tuple(
        LineTypeVariance(t, amazon[t], None if posted_by_type is None else posted_by_type[t])
        for t in LineType
    )
    if posted_total is not None and posted_total != settlement.total:
        notes.append(
            f"posted net payout {posted_total} differs from Amazon's total {settlement.total} "
            f"by {posted_total - settlement.total}"
        )
    for line in lines:
        if line.variance:
            notes.append(f"{line.line_type.value}: posted {line.posted}, Amazon {line.amazon}")
    missing = None
    if report_missing is not None and report_total is None:
        missing = f"{REPORT_NOT_FOUND}: {report_missing}" if report_missing else REPORT_NOT_FOUND
    proceeds: ProceedsCheck | None = None
    clearing: ClearingCheck | None = None
    if books is not None and roles.mapping is not None:
        posted_journal = journal if is_posted else None
        proceeds = check_proceeds(
            settlement,
            posted_journal,
            roles.mapping,
            books,
            elsewhere=elsewhere,
            known_transaction_ids=known_transaction_ids,
        )
        clearing = check_clearing(
            settlement,
            posted_journal,
            roles.mapping,
            books,
            proceeds,
            elsewhere=elsewhere,
            known_transaction_ids=known_transaction_ids,
        )
        notes.extend(_order_notes(proceeds, clearing))
    cogs: CogsCheck | None = None
    if policy.include_cogs:
        cogs = check_cogs(settlement, journal if is_posted else None, catalog)
        notes.extend(cogs.causes())
    wrong = bool(notes) and (
        proceeds is None or clearing is None or any(not n.startswith(_HELD_NOTE) for n in notes)
    )
    if settlement.status is GroupStatus.OPEN:
        status = ReconcileStatus.OPEN
    elif not is_posted:
        status = ReconcileStatus.NOT_POSTED
    elif wrong:
        status = ReconcileStatus.VARIANCE
    elif notes:
        status = ReconcileStatus.INCOMPLETE
    elif missing is not None:
        status = ReconcileStatus.REPORT_MISSING
    else:
        status = ReconcileStatus.MATCHED
    if missing is not None:
        notes.append(missing)
    return SettlementReconciliation(
        settlement_id=settlement.settlement_id,
        group_id=settlement.group_id,
        currency=settlement.currency,
        status=status,
        amazon_total=settlement.total,
        released_total=released,
        deferred_total=deferred,
        report_total=report_total,
        posted_total=posted_total,
        lines=lines,
        notes=tuple(notes),
        report_id=report_id,
        report_link=report_link,
        report_missing=missing,
        proceeds=proceeds,
        clearing=clearing,
        cogs=cogs,
    )


_HELD_NOTE = "incomplete:"
_ORDERS_NOTE = "orders differ from what Amazon settled:"
_ORDER_NOTES = (_HELD_NOTE, _ORDERS_NOTE, "proceeds settled ", "clearing account ")
_REPORT_NOTES = (REPORT_NOT_FOUND, "settlement report total")


def _order_notes(proceeds: ProceedsCheck, clearing: ClearingCheck) -> list[str]:
    """The named causes of (c) and (d); those that only wait for a person start ``incomplete:``."""
    notes: list[str] = []
    held = proceeds.held
    count = len({o.order_id for o in held})
    if held:
        items = sorted({ref.item_id for o in held for ref in o.review})
        listed = f" (review items {', '.join(map(str, items[:10]))}" + (
            f" and {len(items) - 10} more)" if len(items) > 10 else ")"
        )
        notes.append(
            f"{_HELD_NOTE} {count} order{'s' if count != 1 else ''} of this settlement "
            f"held for review or not yet posted{listed if items else ''}"
        )
    wrong = proceeds.wrong
    if wrong:
        causes: dict[str, int] = {}
        for order in wrong:
            causes[order.cause.value] = causes.get(order.cause.value, 0) + 1
        text = ", ".join(f"{n} {cause}" for cause, n in sorted(causes.items()))
        first = "; ".join(f"{o.order_id}: {o.cause.value} ({o.detail})" for o in wrong[:3])
        notes.append(f"{_ORDERS_NOTE} {text}; {first}")
    if proceeds.unexplained != ZERO:
        notes.append(
            f"proceeds settled {proceeds.settled} vs invoices less credit memos "
            f"{proceeds.books}: {proceeds.unexplained} is not explained by any order"
        )
    for account in clearing.accounts:
        if account.net != account.held:
            notes.append(
                f"clearing account {account.name} ({account.account}) nets {account.net} for "
                f"this settlement"
                + (f", {account.held} of it explained by held orders" if account.held else "")
            )
    return notes
