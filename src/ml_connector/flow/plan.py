"""Plan: stored Amazon records → normalized facts → accounting → the outbox or the review queue.

This is the only place where the pure accounting meets the store. Every derivation starts from
the raw records as stored, with today's mapping, so planning is repeatable: a document already
in the outbox is never re-planned (its key exists), a held one is re-derived on every pass until
its reason is fixed, and a posted one is never changed — if Amazon later changes the order, the
difference is recorded for review instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.domain.diff import diff
from ml_connector.domain.documents import CreditMemoDoc, Held, HoldCode, InvoiceDoc, JournalDoc
from ml_connector.domain.ids import (
    AmazonOrderId,
    FinancialEventGroupId,
    IdempotencyKey,
    cancellation_key,
    credit_memo_key,
    invoice_key,
    journal_key,
)
from ml_connector.domain.money import total
from ml_connector.domain.orders import NormalizedOrder, OrderState
from ml_connector.domain.quarantine import RecordKind, Unreadable
from ml_connector.domain.settlements import Settlement, SettlementTransaction
from ml_connector.flow.accounting import (
    DEFAULT_POLICY,
    AccountingPolicy,
    plan_cancellation_credit_memo,
    plan_invoice,
    plan_refund_credit_memo,
    plan_settlement_journal,
)
from ml_connector.flow.mapping.catalog import Catalog
from ml_connector.flow.mapping.charges import ChargeMapping, fold_type
from ml_connector.flow.normalize.fields import NormalizeError
from ml_connector.flow.normalize.orders import normalize_order
from ml_connector.flow.normalize.settlements import (
    NON_REVERSAL_TYPES,
    REVERSAL_TYPES,
    is_reversal,
    normalize_settlement,
    normalize_transaction,
    transaction_type_of,
)
from ml_connector.flow.post.codec import PlannedDoc, dump_doc, load_credit_memo, load_invoice
from ml_connector.flow.stored import (
    current_document,
    named_identifier,
    stored_transactions_by_group,
    uncredited_reversals,
)
from ml_connector.run import crashpoints
from ml_connector.store import (
    AuditAction,
    DocumentKind,
    DocumentState,
    RawKind,
    ReviewKind,
    append_event,
    documents_for_amazon_id,
    list_raw_records,
    list_review_items,
    open_review_item,
    plan_document,
    resolve_review_item,
    resolve_subject,
    timeline,
)
from ml_connector.store.tables import Document

_log = structlog.get_logger(__name__)

_REVIEW_KIND = {
    HoldCode.UNMAPPED_SKU: ReviewKind.UNMAPPED_SKU,
    HoldCode.UNMAPPED_CHARGE: ReviewKind.UNKNOWN_FEE_TYPE,
}
# Review items that a successful plan answers; others (Oracle's rejections, changes after
# posting) stay open until a person closes them.
_FIXED_BY_PLANNING = (
    ReviewKind.UNMAPPED_SKU,
    ReviewKind.UNKNOWN_FEE_TYPE,
    ReviewKind.ACCOUNTING_HOLD,
    ReviewKind.INVALID_DATA,
)
# Holds that resolve themselves (the group closes, the invoice posts): no human needed. A
# document waiting for an unreadable record needs no item of its own: the record has one.
_SELF_RESOLVING = {
    HoldCode.NOT_SHIPPED,
    HoldCode.NOT_CLOSED,
    HoldCode.NOT_INVOICED,
    HoldCode.UNREADABLE_RECORD,
}
# What a bug in reading one record may raise: it holds that record, never the whole pass.
_RECORD_ERRORS = (NormalizeError, ArithmeticError, ValueError, TypeError, KeyError, RecursionError)


@dataclass
class PlanSummary:
    planned: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    changed_after_posting: int = 0
    invalid: int = 0
    #: Open review items of this connection after the pass (what waits for a person).
    waiting: int = 0

    def count_planned(self, kind: DocumentKind) -> None:
        self.planned[kind.value] = self.planned.get(kind.value, 0) + 1

    def count_held(self, code: HoldCode) -> None:
        self.held[code.value] = self.held.get(code.value, 0) + 1


@dataclass(frozen=True)
class Planner:
    """Derives one connection's documents from its stored records."""

    sessions: sessionmaker[Session]
    connection_id: int
    mapping: ChargeMapping
    catalog: Catalog
    policy: AccountingPolicy = DEFAULT_POLICY
    #: The marketplaces the connection covers; a settlement holding money of another one waits
    #: (its orders are not read, so its journal would leave the clearing accounts open).
    marketplaces: frozenset[str] | None = None
    #: Orders with a refund, claim or chargeback whose credit memo is not planned yet.
    _uncredited: set[str] = field(default_factory=set, init=False, repr=False)

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    def plan_all(self, *, only: set[str] | None = None) -> PlanSummary:
        """Plan invoices, then credit memos, then settlement journals.

        ``only`` limits the pass to these Amazon ids (order ids, settlement/group ids): replay
        and `review resolve` re-derive just what they were asked about.
        """
        summary = PlanSummary()
        self._plan_orders(summary, only)
        self._plan_refunds(summary, only)
        self._plan_settlements(summary, only)
        with self._tx() as session:
            summary.waiting = len(list_review_items(session, connection_id=self.connection_id))
        return summary

    # -- quarantine ---------------------------------------------------------------------------

    def _open_invalid(self, session: Session) -> dict[str, int]:
        """Open `invalid_data` items by subject: the records a good read must release."""
        items = list_review_items(
            session, connection_id=self.connection_id, kind=ReviewKind.INVALID_DATA
        )
        return {item.subject_amazon_id: item.id for item in items}

    def _quarantine(self, session: Session, problem: Unreadable, summary: PlanSummary) -> None:
        summary.invalid += 1
        _, created = open_review_item(
            session,
            self.connection_id,
            ReviewKind.INVALID_DATA,
            problem.amazon_id,
            problem.describe(),
            details=problem.details(),
        )
        if created:
            _log.warning("plan.record.unreadable", **problem.details())
            append_event(
                session,
                self.connection_id,
                AuditAction.HELD,
                amazon_ids=[problem.amazon_id],
                details={"code": "invalid_data", **problem.details()},
            )

    def _release(self, session: Session, open_items: dict[str, int], amazon_id: str) -> None:
        """A record that reads fine now closes the item an earlier bad read opened."""
        item_id = open_items.pop(amazon_id, None)
        if item_id is not None:
            resolve_review_item(session, item_id, resolution="a later listing reads fine")

    # -- records ------------------------------------------------------------------------------

    def _existing_keys(self, session: Session) -> set[str]:
        rows = session.scalars(
            select(Document.idempotency_key).where(Document.connection_id == self.connection_id)
        )
        return set(rows)

    def _record(
        self,
        session: Session,
        result: PlannedDoc | Held | None,
        kind: DocumentKind,
        subject: str,
        extra_ids: tuple[str, ...],
        summary: PlanSummary,
    ) -> None:
        if result is None:
            return
        if isinstance(result, Held):
            summary.count_held(result.code)
            if result.code in _SELF_RESOLVING:
                return
            review_kind = _REVIEW_KIND.get(result.code, ReviewKind.ACCOUNTING_HOLD)
            _, created = open_review_item(
                session,
                self.connection_id,
                review_kind,
                subject,
                result.reason,
                details={"code": result.code.value, "key": result.key, "items": result.details},
            )
            if created:
                append_event(
                    session,
                    self.connection_id,
                    AuditAction.HELD,
                    amazon_ids=[subject, result.key, *extra_ids],
                    details={"code": result.code.value, "reason": result.reason},
                )
            return
        payload = dump_doc(result)
        _, created = plan_document(session, self.connection_id, result.key, kind, subject, payload)
        if created:
            summary.count_planned(kind)
            for kind_fixed in _FIXED_BY_PLANNING:
                resolve_subject(
                    session,
                    self.connection_id,
                    subject,
                    kind=kind_fixed,
                    resolution=f"planned {result.key}",
                )
            append_event(
                session,
                self.connection_id,
                AuditAction.PLANNED,
                amazon_ids=[subject, result.key, *extra_ids],
                details={"kind": kind.value, "total": _total(result)},
            )

    # -- orders → invoices (and cancellations after invoicing) ---------------------------------

    def _plan_orders(self, summary: PlanSummary, only: set[str] | None) -> None:
        with self._tx() as session:
            keys = self._existing_keys(session)
            open_items = self._open_invalid(session)
            self._uncredited.clear()
            self._uncredited.update(uncredited_reversals(session, self.connection_id, keys))
            shipments = _settled_shipments(session, self.connection_id)
            for row in list_raw_records(session, self.connection_id, RawKind.ORDER):
                if only is not None and row.amazon_id not in only:
                    continue
                key = invoice_key(AmazonOrderId(row.amazon_id))
                if key in keys and only is None and row.times_changed == 0:
                    continue
                existing = (
                    current_document(session, self.connection_id, key) if key in keys else None
                )
                try:
                    order = normalize_order(row.payload)
                    if existing is not None:
                        self._order_changed(session, existing, order, summary)
                        self._release(session, open_items, row.amazon_id)
                        continue
                    paid = shipments.get(order.order_id)
                    if order.state is OrderState.CANCELLED and paid:
                        result = self._settled_cancelled(order, paid)
                    else:
                        result = plan_invoice(order, self.catalog, self.mapping, policy=self.policy)
                except _RECORD_ERRORS as exc:
                    self._quarantine(
                        session, _unreadable(RecordKind.ORDER, row.amazon_id, exc), summary
                    )
                    continue
                self._release(session, open_items, row.amazon_id)
                self._record(session, result, DocumentKind.INVOICE, row.amazon_id, (), summary)
        crashpoints.hit("plan.orders_committed")

    def _settled_cancelled(
        self, order: NormalizedOrder, paid: list[_Shipment]
    ) -> InvoiceDoc | Held:
        """An order that says CANCELLED although Amazon settled its shipment: it shipped and the
        buyer was charged, so it is invoiced from its items (the refund's credit memo then
        reverses it, with the refund's id). Only when the order's items come to exactly what
        Amazon's Shipment transactions charged; otherwise it waits for a person, naming the
        settlements that paid it, never silently unbooked."""
        key = invoice_key(order.order_id)
        where = ", ".join(
            f"{s.transaction_id} in settlement {s.settlement_id}" for s in paid[:5]
        ) + (f" and {len(paid) - 5} more" if len(paid) > 5 else "")
        intro = (
            f"order {order.order_id} is CANCELLED at Amazon, but Amazon settled its shipment "
            f"(Shipment {where})"
        )
        settled = [s.invoiced(self.mapping) for s in paid]
        if any(amount is None for amount in settled) or not order.marketplace_id:
            missing = "its marketplace" if not order.marketplace_id else "a readable shipment"
            return self._paid_hold(key, paid, f"{intro}; it cannot be invoiced without {missing}")
        charged = total(a for a in settled if a is not None)
        days = [s.posted for s in paid if s.posted is not None]
        shipped = replace(
            order,
            state=OrderState.SHIPPED,
            ship_date=min(days) if days else order.last_updated,
        )
        result = plan_invoice(shipped, self.catalog, self.mapping, policy=self.policy)
        if isinstance(result, InvoiceDoc) and result.total != charged:
            return self._paid_hold(
                key,
                paid,
                f"{intro} for {charged} {order.currency}, and the order's items come to "
                f"{result.total}",
            )
        return result

    @staticmethod
    def _paid_hold(key: IdempotencyKey, paid: list[_Shipment], why: str) -> Held:
        return Held(
            key,
            HoldCode.AMBIGUOUS,
            f"{why}. Whether the buyer kept the goods is for a person to decide: invoice the "
            "order in Oracle by hand (its refund's credit memo waits for an invoice) or close "
            "this item once Amazon's refund gives the money back",
            tuple(sorted({s.settlement_id for s in paid})),
        )

    def _order_changed(
        self, session: Session, existing: Document, order: NormalizedOrder, summary: PlanSummary
    ) -> None:
        """An order updated after its invoice was planned: never mutate, record what differs."""
        if order.state is OrderState.CANCELLED and existing.state is DocumentState.POSTED:
            if order.order_id in self._uncredited:
                # Amazon's refund (or claim) for the order is here: its credit memo reverses the
                # invoice with the refund's id; a cancellation memo now would reverse it twice.
                return
            invoice = load_invoice(existing.payload)
            prior = self._credit_memos(session, invoice.amazon_order_id)
            day = order.last_updated.date()
            memo = plan_cancellation_credit_memo(invoice, cancelled_on=day, prior=prior)
            self._record(
                session, memo, DocumentKind.CREDIT_MEMO, invoice.amazon_order_id, (), summary
            )
            return
        planned = plan_invoice(order, self.catalog, self.mapping, policy=self.policy)
        if not isinstance(planned, InvoiceDoc):
            return
        changes = diff(planned, load_invoice(existing.payload))
        if not changes:
            return
        summary.changed_after_posting += 1
        reason = (
            f"order {order.order_id} changed at Amazon after its invoice was planned "
            f"({existing.state.value}); the invoice is not changed. Differences: "
            + "; ".join(str(change) for change in changes[:5])
        )
        open_review_item(
            session,
            self.connection_id,
            ReviewKind.CHANGED_AFTER_POSTING,
            order.order_id,
            reason,
            details={"key": existing.idempotency_key, "changes": [str(c) for c in changes]},
        )

    def _credit_memos(self, session: Session, order_id: str) -> list[CreditMemoDoc]:
        return [
            load_credit_memo(doc.payload)
            for doc in documents_for_amazon_id(session, order_id, connection_id=self.connection_id)
            if doc.kind is DocumentKind.CREDIT_MEMO and doc.state is not DocumentState.REJECTED
        ]

    # -- refunds → credit memos against the invoice ---------------------------------------------

    def _plan_refunds(self, summary: PlanSummary, only: set[str] | None) -> None:
        with self._tx() as session:
            keys = self._existing_keys(session)
            open_items = self._open_invalid(session)
            reversal_holds = {
                item.subject_amazon_id: item.id
                for item in list_review_items(
                    session, connection_id=self.connection_id, kind=ReviewKind.ACCOUNTING_HOLD
                )
                if item.details.get("record") == RecordKind.TRANSACTION.value
                and item.details.get("field") != "transactionType"
            }
            for row in list_raw_records(session, self.connection_id, RawKind.TRANSACTION):
                if not is_reversal(row.payload):
                    self._unknown_type(session, row.amazon_id, row.payload, summary)
                    continue
                try:
                    refund = normalize_transaction(row.payload)
                except _RECORD_ERRORS as exc:
                    problem = _unreadable(RecordKind.TRANSACTION, row.amazon_id, exc)
                    self._quarantine(session, problem, summary)
                    continue
                self._release(session, open_items, row.amazon_id)
                if refund.order_id is None:
                    # Readable money (its settlement books it), but no invoice to reverse.
                    why = "a refund, claim or chargeback must name the order it reverses (ORDER_ID)"
                    self._hold_reversal(session, row.amazon_id, "relatedIdentifiers", why, summary)
                    continue
                if only is not None and refund.order_id not in only:
                    continue
                if credit_memo_key(refund.order_id, refund.transaction_id) in keys:
                    continue
                invoice_doc = current_document(
                    session, self.connection_id, invoice_key(refund.order_id)
                )
                invoice = load_invoice(invoice_doc.payload) if invoice_doc else None
                prior = [
                    memo
                    for memo in self._credit_memos(session, refund.order_id)
                    if invoice is not None and memo.invoice_key == invoice.key
                ]
                try:
                    result = plan_refund_credit_memo(
                        refund, invoice, self.mapping, prior=prior, policy=self.policy
                    )
                except _RECORD_ERRORS as exc:
                    why = f"its credit memo cannot be derived: {type(exc).__name__}: {exc}"
                    self._hold_reversal(session, row.amazon_id, "", why, summary)
                    continue
                self._release(session, reversal_holds, row.amazon_id)
                if (
                    isinstance(result, Held)
                    and result.code is HoldCode.OVER_CREDIT
                    and invoice is not None
                    and any(m.key == cancellation_key(invoice.amazon_order_id) for m in prior)
                ):
                    # The order was cancelled after invoicing and that memo already reversed it:
                    # the refund is the same money going back, not a second reversal.
                    self._covered_by_cancellation(session, row.amazon_id, invoice.amazon_order_id)
                    continue
                self._record(
                    session,
                    result,
                    DocumentKind.CREDIT_MEMO,
                    refund.order_id,
                    (row.amazon_id,),
                    summary,
                )
                if isinstance(result, CreditMemoDoc):
                    keys.add(result.key)

    def _hold_reversal(
        self, session: Session, amazon_id: str, field: str, reason: str, summary: PlanSummary
    ) -> None:
        """A readable reversal whose credit memo cannot be made: its own item, which the
        settlement pass (which reads the same record fine) does not close."""
        summary.count_held(HoldCode.AMBIGUOUS)
        open_review_item(
            session,
            self.connection_id,
            ReviewKind.ACCOUNTING_HOLD,
            amazon_id,
            f"transaction {amazon_id}: {reason}",
            details={"record": RecordKind.TRANSACTION.value, "field": field, "reason": reason},
        )

    def _unknown_type(
        self, session: Session, amazon_id: str, payload: Any, summary: PlanSummary
    ) -> None:
        """A transaction type we do not know that moves an order's money is never ignored."""
        kind = transaction_type_of(payload)
        order_id = named_identifier(payload, "ORDER_ID")
        if kind is None or kind in NON_REVERSAL_TYPES:
            return
        if self.mapping.books_by_breakdowns(kind):
            # A person decided: money between Amazon and the seller, booked by its breakdowns.
            resolve_subject(
                session,
                self.connection_id,
                amazon_id,
                kind=ReviewKind.ACCOUNTING_HOLD,
                resolution="[transaction_types] book_by_breakdowns lists its type",
            )
            return
        if order_id is None:
            return  # its settlement's journal waits for the person instead (_unknown_held)
        summary.count_held(HoldCode.AMBIGUOUS)
        spelled = str(payload.get("transactionType"))
        open_review_item(
            session,
            self.connection_id,
            ReviewKind.ACCOUNTING_HOLD,
            amazon_id,
            f"transaction type {spelled!r} moves money of order {order_id} "
            "and is not one we know: whether it gives money back to the buyer (a credit memo) "
            "is for a person to decide; its settlement journal books it by the charge mapping",
            details={
                "record": RecordKind.TRANSACTION.value,
                "field": "transactionType",
                "transaction_type": spelled,
                "order_id": order_id,
            },
        )

    def _unknown_held(self, settlement: Settlement, journal: JournalDoc) -> JournalDoc | Held:
        """A settlement holding money of a transaction type the product does not know, naming
        no order: its journal waits for a person to say what the money is."""
        unknown = _unknown_types(settlement, self.mapping)
        if not unknown:
            return journal
        types = sorted({t.transaction_type for t in unknown})
        listed = "; ".join(
            f"{t.transaction_type!r} {t.transaction_id} ({t.total} {t.currency})"
            for t in unknown[:5]
        ) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        quoted = ", ".join(f'"{kind}"' for kind in types)
        return Held(
            journal.key,
            HoldCode.AMBIGUOUS,
            f"settlement {settlement.settlement_id} holds transaction(s) of a type the product "
            f"does not know, naming no order: {listed}. Its journal waits. If this is money "
            "between Amazon and you (a fee, a charge, a credit), add "
            f"[transaction_types] book_by_breakdowns = [{quoted}] to the charge mapping "
            "(docs/mapping.md) and run `review resolve`: the journal then books it by its "
            "breakdowns (money given back to a buyer is not one to list: it needs a credit "
            "memo against the order's invoice, so ask Amazon which order it belongs to)",
            tuple(types),
        )

    def _covered_by_cancellation(self, session: Session, amazon_id: str, order_id: str) -> None:
        if any(e.action == "reversal_covered" for e in timeline(session, amazon_id)):
            return
        append_event(
            session,
            self.connection_id,
            "reversal_covered",
            amazon_ids=[amazon_id, order_id, cancellation_key(AmazonOrderId(order_id))],
            details={"reason": "already reversed by the cancellation credit memo"},
        )

    # -- settlements → journals ----------------------------------------------------------------

    def _plan_settlements(self, summary: PlanSummary, only: set[str] | None) -> None:
        with self._tx() as session:
            keys = self._existing_keys(session)
            open_items = self._open_invalid(session)
            by_group = stored_transactions_by_group(session, self.connection_id)
            for row in list_raw_records(session, self.connection_id, RawKind.GROUP):
                # Open groups are read too (their journal waits for the close): a record Amazon
                # sends broken is reported while there is time to ask Amazon about it.
                if journal_key(FinancialEventGroupId(row.amazon_id)) in keys:
                    continue
                try:
                    stored = by_group.get(row.amazon_id, [])
                    settlement = normalize_settlement(
                        row.payload,
                        [payload for _, payload in stored],
                        record_ids=[amazon_id for amazon_id, _ in stored],
                    )
                    if only is not None and not {row.amazon_id, settlement.settlement_id} & only:
                        continue
                    result = plan_settlement_journal(
                        settlement,
                        self.mapping,
                        catalog=self.catalog,
                        policy=self.policy,
                    )
                except _RECORD_ERRORS as exc:
                    problem = _unreadable(RecordKind.GROUP, row.amazon_id, exc)
                    self._quarantine(session, problem, summary)
                    continue
                covered = {m.upper() for m in self.marketplaces or ()}
                uncovered = [
                    t
                    for t in settlement.released
                    if covered and t.marketplace_id and t.marketplace_id.upper() not in covered
                ]
                if uncovered and isinstance(result, JournalDoc):
                    markets = sorted({str(t.marketplace_id) for t in uncovered})
                    ids = ", ".join(t.transaction_id for t in uncovered[:5])
                    result = Held(
                        result.key,
                        HoldCode.AMBIGUOUS,
                        f"settlement {settlement.settlement_id} holds money of marketplace(s) "
                        f"{', '.join(markets)} (transactions {ids}), which this connection does "
                        "not cover (amazon.marketplace_ids): their orders are not read, so the "
                        "journal would leave the clearing accounts open",
                        tuple(markets),
                    )
                if isinstance(result, JournalDoc):
                    result = self._unknown_held(settlement, result)
                self._release(session, open_items, row.amazon_id)
                for unreadable in settlement.unreadable:
                    self._quarantine(session, unreadable, summary)
                held = {u.amazon_id for u in settlement.unreadable}
                for txn in settlement.transactions:
                    if txn.transaction_id not in held:
                        self._release(session, open_items, txn.transaction_id)
                self._record(
                    session,
                    result,
                    DocumentKind.JOURNAL,
                    str(settlement.settlement_id),
                    (row.amazon_id,),
                    summary,
                )


@dataclass(frozen=True, slots=True)
class _Shipment:
    """A stored Shipment transaction naming an order: Amazon charged the buyer for it."""

    transaction_id: str
    settlement_id: str
    payload: Any

    @property
    def posted(self) -> datetime | None:
        try:
            return normalize_transaction(self.payload).posted_date
        except _RECORD_ERRORS:
            return None

    def invoiced(self, mapping: ChargeMapping) -> Decimal | None:
        """What the buyer was charged (its invoiced leaves); None when it cannot be read."""
        try:
            txn = normalize_transaction(self.payload)
        except _RECORD_ERRORS:
            return None
        amounts = []
        for leaf in txn.leaves:
            target = mapping.target(leaf.path)
            if target is not None and target.invoiced is not None:
                amounts.append(leaf.amount)
        return total(amounts)


def _settled_shipments(session: Session, connection_id: int) -> dict[str, list[_Shipment]]:
    """Stored Shipment transactions by the order they name."""
    out: dict[str, list[_Shipment]] = {}
    for row in list_raw_records(session, connection_id, RawKind.TRANSACTION):
        if transaction_type_of(row.payload) != "shipment":
            continue
        order_id = named_identifier(row.payload, "ORDER_ID")
        if order_id is None:
            continue
        settlement = named_identifier(row.payload, "SETTLEMENT_ID") or row.parent_amazon_id or "?"
        out.setdefault(order_id, []).append(_Shipment(row.amazon_id, settlement, row.payload))
    return out


def _unknown_types(settlement: Settlement, mapping: ChargeMapping) -> list[SettlementTransaction]:
    """The settlement's transactions of a type the product does not know that name no order
    and that the mapping does not list to book by their breakdowns."""
    return [
        t
        for t in settlement.transactions
        if t.order_id is None
        and (kind := fold_type(t.transaction_type or ""))
        and kind not in NON_REVERSAL_TYPES
        and kind not in REVERSAL_TYPES
        and not mapping.books_by_breakdowns(kind)
    ]


def _unreadable(record: RecordKind, amazon_id: str, error: Exception) -> Unreadable:
    """The quarantine entry for a record whose reading raised `error`."""
    if isinstance(error, NormalizeError):
        return Unreadable(record, amazon_id, error.path, error.message)
    # Not a shape we check for: still this record's problem, never the whole pass's.
    _log.warning("plan.record.failed", record=record.value, amazon_id=amazon_id, exc_info=error)
    return Unreadable(record, amazon_id, "", f"{type(error).__name__}: {error}")


def _total(doc: PlannedDoc) -> str:
    if isinstance(doc, JournalDoc):
        return str(doc.total_dr)
    return str(doc.total)
