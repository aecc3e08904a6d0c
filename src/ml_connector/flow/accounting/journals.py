"""Closed settlement → one balanced GL journal (DESIGN §4).

Every leaf is booked against its mapped account with the sign Amazon gives it (money to the
seller is a credit to the source account) and the net payout is debited to cash in transit, so
the journal balances by construction and the cash line equals Amazon's total. Balance-sheet
accounts (clearing, tax, reserve) are netted; profit-and-loss accounts keep debits and credits
apart, so commission charged and commission refunded stay visible as two lines (as in the
DESIGN §4 worked example). COGS lines (``cogs.py``, when the connection books COGS) are one
pair per SKU and movement, never netted, so units shipped and units returned stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.checks import (
    InvariantViolation,
    check_journal_balances,
    check_journal_ties,
    check_settlement_ties,
)
from ml_connector.domain.documents import Held, HoldCode, JournalDoc, JournalLine
from ml_connector.domain.ids import journal_key
from ml_connector.domain.money import ZERO
from ml_connector.domain.settlements import GroupStatus, Settlement, SettlementTransaction
from ml_connector.flow.accounting.cogs import CogsProblem, cogs_lines, cost_settlement
from ml_connector.flow.accounting.policy import DEFAULT_POLICY, AccountingPolicy
from ml_connector.flow.mapping import Catalog, ChargeMapping

NET = "net"
DEBIT = "dr"
CREDIT = "cr"


@dataclass
class _Bucket:
    credit: Decimal = ZERO  # positive: a credit to the account
    labels: list[str] = field(default_factory=list)

    def add(self, credit: Decimal, label: str) -> None:
        self.credit += credit
        if label not in self.labels:
            self.labels.append(label)


class _Lines:
    def __init__(self, mapping: ChargeMapping) -> None:
        self.mapping = mapping
        self.buckets: dict[tuple[AccountCombination, str], _Bucket] = {}

    def credit(self, account: AccountCombination, amount: Decimal, label: str) -> None:
        """Credit `amount` (a negative amount is a debit) to `account`."""
        if amount == ZERO:
            return
        if self.mapping.chart.is_balance_sheet(account.value("account")):
            side = NET
        else:
            side = CREDIT if amount > ZERO else DEBIT
        self.buckets.setdefault((account, side), _Bucket()).add(amount, label)

    def lines(self, reference: str) -> list[JournalLine]:
        out: list[JournalLine] = []
        for (account, _side), bucket in sorted(
            self.buckets.items(), key=lambda item: (str(item[0][0]), item[0][1])
        ):
            amount = bucket.credit
            if amount == ZERO:
                continue
            out.append(
                JournalLine(
                    account=account,
                    entered_dr=-amount if amount < ZERO else ZERO,
                    entered_cr=amount if amount > ZERO else ZERO,
                    description=", ".join(bucket.labels),
                    reference=reference,
                )
            )
        return out


def _held(
    settlement: Settlement, code: HoldCode, reason: str, details: tuple[str, ...] = ()
) -> Held:
    return Held(journal_key(settlement.group_id), code, reason, details)


def plan_settlement_journal(
    settlement: Settlement,
    mapping: ChargeMapping,
    *,
    catalog: Catalog | None = None,
    policy: AccountingPolicy = DEFAULT_POLICY,
    accounting_date: date | None = None,
    cost_currency: str | None = None,
) -> JournalDoc | Held:
    """The settlement's journal, or why it waits (open group, unknown leaf type, no tie).

    With ``policy.include_cogs`` the journal also books the cost of the units the settlement
    shipped and took back (``cogs.py``: per SKU, lines that balance among themselves) and waits
    when that cost cannot be told: a quantity Amazon does not give, a SKU without a unit cost
    or accounts, or a settlement whose currency is not ``cost_currency`` (the currency of the
    catalog's unit costs: the argument, else ``policy.cost_currency``).
    """
    if settlement.status is not GroupStatus.CLOSED:
        return _held(settlement, HoldCode.NOT_CLOSED, f"settlement {settlement.group_id} is Open")
    try:
        check_settlement_ties(settlement)
    except InvariantViolation as exc:
        return _held(settlement, HoldCode.INVARIANT, str(exc), (exc.check,))
    if settlement.unreadable:
        ids = ", ".join(sorted({u.amazon_id for u in settlement.unreadable}))
        reason = f"settlement {settlement.group_id} has records we cannot read: {ids}"
        ids_tuple = tuple(u.amazon_id for u in settlement.unreadable)
        return _held(settlement, HoldCode.UNREADABLE_RECORD, reason, ids_tuple)
    carriers: dict[str, list[str]] = {}
    for txn in settlement.released:
        for leaf in txn.leaves:
            if mapping.target(leaf.path) is None:
                carrying = carriers.setdefault(leaf.key, [])
                if txn.transaction_id not in carrying:
                    carrying.append(txn.transaction_id)
    if carriers:
        unknown = sorted(carriers)
        # Name where each one came from, so a person can look the transaction up at Amazon.
        where = "; ".join(
            f"{key} (transaction{'s' if len(txns) > 1 else ''} {', '.join(txns[:3])}"
            f"{f' and {len(txns) - 3} more' if len(txns) > 3 else ''})"
            for key, txns in sorted(carriers.items())
        )
        reason = f"breakdowns not in the charge mapping: {where}"
        return _held(settlement, HoldCode.UNMAPPED_CHARGE, reason, tuple(unknown))
    # A transaction that names no marketplace belongs to the settlement's one marketplace when
    # every other transaction agrees on it; otherwise its cost center cannot be told.
    named = {t.marketplace_id for t in settlement.released if mapping.places(t.marketplace_id)}
    only_market = next(iter(named)) if len(named) == 1 else None

    def market_of(txn: SettlementTransaction) -> str | None:
        return txn.marketplace_id if txn.marketplace_id is not None else only_market

    unplaced = [t.transaction_id for t in settlement.released if not mapping.places(market_of(t))]
    if unplaced:
        reason = (
            "the cost center depends on the marketplace and these transactions name none we "
            f"know (marketplaceDetails.marketplaceId): {', '.join(unplaced[:5])}"
        )
        return _held(settlement, HoldCode.AMBIGUOUS, reason, tuple(unplaced))
    lines = _Lines(mapping)
    for txn in settlement.released:
        for leaf in txn.leaves:
            target = mapping.target(leaf.path)
            assert target is not None  # unknown types were held above
            if target.invoiced is not None:
                account = mapping.named("receivable_clearing", market_of(txn))
                label = "Order proceeds settled"
            else:
                account = mapping.combination(
                    target.natural_account, market_of(txn), target.cost_center
                )
                label = target.label
            lines.credit(account, leaf.amount, label)
    cost_lines: list[JournalLine] = []
    if policy.include_cogs:
        if catalog is None:
            return _held(settlement, HoldCode.INVARIANT, "COGS requested without a catalog")
        costed = cost_settlement(
            settlement,
            catalog,
            mapping,
            policy,
            market_of=market_of,
            cost_currency=cost_currency or policy.cost_currency,
        )
        if isinstance(costed, CogsProblem):
            return _held(settlement, costed.code, costed.reason, costed.details)
        cost_lines = cogs_lines(costed, mapping, policy, settlement.settlement_id)
    cash = mapping.named("cash_in_transit")
    lines.credit(cash, -settlement.total, f"Net payout, settlement {settlement.settlement_id}")
    moment = settlement.fund_transfer_date
    day = accounting_date or (moment.date() if moment else None)
    if day is None:
        # The journal is dated by the deposit; the group's end would be a guess that can fall
        # in another period. Planning again once Amazon sends the date closes this by itself.
        reason = (
            f"settlement {settlement.settlement_id} is Closed but Amazon sent no "
            "FundTransferDate (the deposit date the journal is dated by); it waits for it"
        )
        return _held(settlement, HoldCode.AMBIGUOUS, reason, (settlement.group_id,))
    config = mapping.journal
    journal = JournalDoc(
        key=journal_key(settlement.group_id),
        batch_name=f"{config.batch_prefix} {settlement.settlement_id}",
        group_id=settlement.group_id,
        settlement_id=settlement.settlement_id,
        ledger=config.ledger,
        legal_entity=config.legal_entity,
        source=config.source,
        category=config.category,
        accounting_date=day,
        currency=settlement.currency,
        lines=(*lines.lines(settlement.settlement_id), *cost_lines),
    )
    try:
        check_journal_balances(journal)
        check_journal_ties(journal, cash, settlement.total)
    except InvariantViolation as exc:
        return _held(settlement, HoldCode.INVARIANT, str(exc), (exc.check,))
    return journal
