"""Plan: stored Amazon records → normalized facts → accounting → the outbox or the review queue.

This is the only place where the pure accounting meets the store. Every derivation starts from
the raw records as stored, with today's mapping, so planning is repeatable: a document already
in the outbox is never re-planned (its key exists), a held one is re-derived on every pass until
its reason is fixed, and a posted one is never changed — if Amazon later changes the order, the
difference is recorded for review instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.domain.diff import diff
from ml_connector.domain.documents import CreditMemoDoc, Held, HoldCode, InvoiceDoc, JournalDoc
from ml_connector.domain.ids import (
    AmazonOrderId,
    FinancialEventGroupId,
    credit_memo_key,
    invoice_key,
    journal_key,
    revision_of,
)
from ml_connector.domain.orders import NormalizedOrder, OrderState
from ml_connector.flow.accounting import (
    plan_cancellation_credit_memo,
    plan_invoice,
    plan_refund_credit_memo,
    plan_settlement_journal,
)
from ml_connector.flow.mapping.catalog import Catalog
from ml_connector.flow.mapping.charges import ChargeMapping
from ml_connector.flow.normalize.fields import NormalizeError
from ml_connector.flow.normalize.orders import normalize_order
from ml_connector.flow.normalize.settlements import normalize_settlement, normalize_transaction
from ml_connector.flow.post.codec import PlannedDoc, dump_doc, load_credit_memo, load_invoice
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
    open_review_item,
    plan_document,
    resolve_subject,
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
# Holds that resolve themselves (the group closes, the invoice posts): no human needed.
_SELF_RESOLVING = {HoldCode.NOT_SHIPPED, HoldCode.NOT_CLOSED, HoldCode.NOT_INVOICED}


@dataclass
class PlanSummary:
    planned: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    changed_after_posting: int = 0
    invalid: int = 0

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
    include_cogs: bool = False

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
        return summary

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
            for row in list_raw_records(session, self.connection_id, RawKind.ORDER):
                if only is not None and row.amazon_id not in only:
                    continue
                key = invoice_key(AmazonOrderId(row.amazon_id))
                if key in keys and only is None and row.times_changed == 0:
                    continue
                try:
                    order = normalize_order(row.payload, path=f"order {row.amazon_id}")
                except NormalizeError as exc:
                    summary.invalid += 1
                    open_review_item(
                        session,
                        self.connection_id,
                        ReviewKind.INVALID_DATA,
                        row.amazon_id,
                        f"Amazon sent an order we cannot read: {exc}",
                    )
                    continue
                existing = (
                    current_document(session, self.connection_id, key) if key in keys else None
                )
                if existing is not None:
                    self._order_changed(session, existing, order, summary)
                    continue
                result = plan_invoice(order, self.catalog, self.mapping)
                self._record(session, result, DocumentKind.INVOICE, row.amazon_id, (), summary)
        crashpoints.hit("plan.orders_committed")

    def _order_changed(
        self, session: Session, existing: Document, order: NormalizedOrder, summary: PlanSummary
    ) -> None:
        """An order updated after its invoice was planned: never mutate, record what differs."""
        if order.state is OrderState.CANCELLED and existing.state is DocumentState.POSTED:
            invoice = load_invoice(existing.payload)
            prior = self._credit_memos(session, invoice.amazon_order_id)
            day = order.last_updated.date()
            memo = plan_cancellation_credit_memo(invoice, cancelled_on=day, prior=prior)
            self._record(
                session, memo, DocumentKind.CREDIT_MEMO, invoice.amazon_order_id, (), summary
            )
            return
        planned = plan_invoice(order, self.catalog, self.mapping)
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
            for row in list_raw_records(session, self.connection_id, RawKind.TRANSACTION):
                if row.payload.get("transactionType") != "Refund":
                    continue
                refund = normalize_transaction(row.payload, path=f"transaction {row.amazon_id}")
                if refund.order_id is None:
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
                result = plan_refund_credit_memo(refund, invoice, self.mapping, prior=prior)
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

    # -- settlements → journals ----------------------------------------------------------------

    def _plan_settlements(self, summary: PlanSummary, only: set[str] | None) -> None:
        with self._tx() as session:
            keys = self._existing_keys(session)
            by_group = transactions_by_group(session, self.connection_id)
            for row in list_raw_records(session, self.connection_id, RawKind.GROUP):
                if row.payload.get("ProcessingStatus") != "Closed":
                    continue
                if journal_key(FinancialEventGroupId(row.amazon_id)) in keys:
                    continue
                settlement = normalize_settlement(
                    row.payload, by_group.get(row.amazon_id, []), path=f"group {row.amazon_id}"
                )
                if only is not None and not {row.amazon_id, settlement.settlement_id} & only:
                    continue
                result = plan_settlement_journal(
                    settlement, self.mapping, catalog=self.catalog, include_cogs=self.include_cogs
                )
                self._record(
                    session,
                    result,
                    DocumentKind.JOURNAL,
                    str(settlement.settlement_id),
                    (row.amazon_id,),
                    summary,
                )


def transactions_by_group(session: Session, connection_id: int) -> dict[str, list[dict[str, Any]]]:
    """Stored transactions by the settlement (financial event group) they belong to."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in list_raw_records(session, connection_id, RawKind.TRANSACTION):
        for ident in row.payload.get("relatedIdentifiers") or ():
            if ident.get("relatedIdentifierName") == "FINANCIAL_EVENT_GROUP_ID":
                grouped[str(ident.get("relatedIdentifierValue"))].append(row.payload)
    return grouped


def current_document(session: Session, connection_id: int, base_key: str) -> Document | None:
    """The latest revision of a document (the base, or its newest re-issue after corrections)."""
    prefix = base_key.split(":", 1)[0]
    candidates = session.scalars(
        select(Document).where(
            Document.connection_id == connection_id,
            Document.idempotency_key.startswith(base_key),
            Document.idempotency_key.startswith(f"{prefix}:"),
        )
    )
    best: tuple[int, Document] | None = None
    for doc in candidates:
        revision = revision_of(doc.idempotency_key, base_key)
        if revision is not None and (best is None or revision > best[0]):
            best = (revision, doc)
    return best[1] if best else None


def _total(doc: PlannedDoc) -> str:
    if isinstance(doc, JournalDoc):
        return str(doc.total_dr)
    return str(doc.total)
