"""Replay: re-derive documents from the stored Amazon records with today's mapping.

A finance team fixes a mapping, or Oracle refused a document, or Amazon changed an order: replay
shows, per document, what would be posted against what is posted (``dry_run``), and then does
only what is safe:

- nothing planned yet → plan it (an unmapped SKU that is now mapped);
- rejected by Oracle → re-plan it with the re-derived payload and send it again;
- posted and unchanged → nothing;
- posted but different → never mutated in Oracle: the difference is reported and kept in the
  review queue as ``changed_after_posting``; the correction (a credit memo plus a new invoice, or
  a reversing journal) is a decision for a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from ml_connector.context import ConnectionContext, Runtime
from ml_connector.domain.diff import diff
from ml_connector.domain.documents import CreditMemoDoc, Held, InvoiceDoc, JournalDoc
from ml_connector.domain.ids import (
    AmazonOrderId,
    FinancialEventGroupId,
    invoice_key,
    journal_key,
    revision_of,
)
from ml_connector.domain.quarantine import RecordKind
from ml_connector.flow.accounting import plan_invoice, plan_settlement_journal
from ml_connector.flow.accounting.corrections import correct_invoice, correct_journal
from ml_connector.flow.normalize.fields import NormalizeError
from ml_connector.flow.normalize.orders import normalize_order
from ml_connector.flow.normalize.settlements import normalize_settlement
from ml_connector.flow.post.codec import (
    PlannedDoc,
    dump_doc,
    load_credit_memo,
    load_invoice,
    load_journal,
)
from ml_connector.flow.stored import current_document, transactions_by_group
from ml_connector.pipeline import planner_for, poster_for
from ml_connector.store import (
    AuditAction,
    DocumentKind,
    DocumentState,
    RawKind,
    ReviewKind,
    append_event,
    documents_for_amazon_id,
    get_raw_record,
    list_raw_records,
    list_review_items,
    open_review_item,
    plan_document,
    resolve_review_item,
    resolve_subject,
    transition,
)
from ml_connector.store.tables import Document, ReviewItem

# What replay does (or, in a dry run, would do) with one document.
UNCHANGED = "unchanged"
PLAN = "plan"
RESEND = "resend"
HELD = "held"
NEEDS_CORRECTION = "needs_correction"
PENDING = "pending"
CORRECT = "correct"

_CORRECTION_TEXT = {
    "invoice": "credit memo for what is open on the posted invoice, then a new invoice",
    "journal": "reversing journal for the posted one, then a new journal",
}


@dataclass
class ReplayItem:
    amazon_id: str
    key: str
    kind: str
    action: str
    state: str | None
    reason: str = ""
    changes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "amazon_id": self.amazon_id,
            "key": self.key,
            "kind": self.kind,
            "action": self.action,
            "state": self.state,
            "reason": self.reason,
            "changes": self.changes,
        }


@dataclass
class ReplayReport:
    dry_run: bool
    items: list[ReplayItem] = field(default_factory=list)
    posted: int = 0
    retry: int = 0
    rejected: int = 0

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)


def _order_targets(
    session: Session, ctx: ConnectionContext, order_ids: Iterable[str], since: datetime | None
) -> list[str]:
    targets = list(order_ids)
    if since is not None:
        targets += [
            row.amazon_id
            for row in list_raw_records(session, ctx.id, RawKind.ORDER, changed_since=since)
        ]
    return list(dict.fromkeys(targets))


def _settlement_targets(
    session: Session, ctx: ConnectionContext, ids: Iterable[str]
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """group id → (group, its transactions) for the settlements asked about (by either id)."""
    wanted = set(ids)
    if not wanted:
        return {}
    transactions = transactions_by_group(session, ctx.id)
    found: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for row in list_raw_records(session, ctx.id, RawKind.GROUP):
        group_transactions = transactions.get(row.amazon_id, [])
        settlement_ids = {
            str(ident.get("relatedIdentifierValue"))
            for payload in group_transactions
            for ident in payload.get("relatedIdentifiers") or ()
            if ident.get("relatedIdentifierName") == "SETTLEMENT_ID"
        }
        if row.amazon_id in wanted or settlement_ids & wanted:
            found[row.amazon_id] = (row.payload, group_transactions)
    return found


def _stored_like(derived: PlannedDoc, stored: Document) -> PlannedDoc:
    """The stored document's payload, read as the same kind of document as `derived`."""
    if isinstance(derived, JournalDoc):
        return load_journal(stored.payload)
    return load_invoice(stored.payload)


def _same_identity(derived: PlannedDoc, current: PlannedDoc) -> PlannedDoc:
    """`derived` under the key and number of `current` (a re-issue has its own), so only real
    differences in lines, accounts and amounts count."""
    if isinstance(derived, JournalDoc) and isinstance(current, JournalDoc):
        return replace(derived, key=current.key, batch_name=current.batch_name)
    if isinstance(derived, InvoiceDoc) and isinstance(current, InvoiceDoc):
        return replace(derived, key=current.key, transaction_number=current.transaction_number)
    return derived


def _compare(
    amazon_id: str, key: str, kind: str, derived: PlannedDoc | Held, existing: Document | None
) -> ReplayItem:
    state = existing.state.value if existing is not None else None
    if isinstance(derived, Held):
        return ReplayItem(amazon_id, key, kind, HELD, state, derived.reason)
    if existing is None:
        return ReplayItem(amazon_id, key, kind, PLAN, None, "not planned yet")
    posted_doc = _stored_like(derived, existing)
    changes = [str(change) for change in diff(_same_identity(derived, posted_doc), posted_doc)]
    if existing.state is DocumentState.REJECTED:
        return ReplayItem(amazon_id, key, kind, RESEND, state, existing.last_error or "", changes)
    if not changes:
        return ReplayItem(amazon_id, key, kind, UNCHANGED, state)
    if existing.state is DocumentState.POSTED:
        reason = "posted documents are never changed; a correction needs a person's decision"
        return ReplayItem(amazon_id, key, kind, NEEDS_CORRECTION, state, reason, changes)
    return ReplayItem(amazon_id, key, kind, PENDING, state, "not posted yet", changes)


def replay(
    rt: Runtime,
    ctx: ConnectionContext,
    *,
    order_ids: Iterable[str] = (),
    settlement_ids: Iterable[str] = (),
    since: datetime | None = None,
    dry_run: bool = True,
    correct: bool = False,
) -> ReplayReport:
    """Re-derive the asked-for documents; in a real run, plan and (re)send what is safe."""
    report = ReplayReport(dry_run=dry_run)
    derived_docs: dict[str, PlannedDoc] = {}
    with rt.sessions() as session:
        for order_id in _order_targets(session, ctx, order_ids, since):
            raw = get_raw_record(session, ctx.id, RawKind.ORDER, order_id)
            key = invoice_key(AmazonOrderId(order_id))
            if raw is None:
                report.items.append(
                    ReplayItem(order_id, key, "invoice", HELD, None, "order not in the store")
                )
                continue
            try:
                derived = plan_invoice(
                    normalize_order(raw.payload), ctx.catalog, ctx.mapping, policy=ctx.policy
                )
            except NormalizeError as exc:
                reason = f"Amazon's order cannot be read: {exc}"
                report.items.append(ReplayItem(order_id, key, "invoice", HELD, None, reason))
                continue
            existing = current_document(session, ctx.id, key)
            report.items.append(_compare(order_id, key, "invoice", derived, existing))
            if isinstance(derived, InvoiceDoc | CreditMemoDoc):
                derived_docs[key] = derived
        for group_id, (group, txns) in _settlement_targets(session, ctx, settlement_ids).items():
            key = journal_key(FinancialEventGroupId(group_id))
            try:
                settlement = normalize_settlement(group, txns)
            except NormalizeError as exc:
                reason = f"Amazon's settlement group cannot be read: {exc}"
                report.items.append(ReplayItem(group_id, key, "journal", HELD, None, reason))
                continue
            result = plan_settlement_journal(
                settlement, ctx.mapping, catalog=ctx.catalog, policy=ctx.policy
            )
            existing = current_document(session, ctx.id, key)
            report.items.append(
                _compare(str(settlement.settlement_id), key, "journal", result, existing)
            )
            if isinstance(result, JournalDoc):
                derived_docs[key] = result
    if dry_run:
        if correct:
            for item in report.items:
                if item.action == NEEDS_CORRECTION:
                    item.action = CORRECT
                    item.reason = _CORRECTION_TEXT[item.kind]
        return report
    _apply(rt, ctx, report, derived_docs, correct=correct)
    targets = {item.amazon_id for item in report.items} | set(settlement_ids)
    planner_for(rt, ctx).plan_all(only=targets)
    summary = poster_for(rt, ctx).post_all()
    report.posted = sum(summary.posted.values())
    report.retry = summary.retry
    report.rejected = summary.rejected
    return report


def _apply(
    rt: Runtime,
    ctx: ConnectionContext,
    report: ReplayReport,
    derived: dict[str, PlannedDoc],
    *,
    correct: bool,
) -> None:
    with rt.sessions() as session, session.begin():
        for item in report.items:
            if item.action == NEEDS_CORRECTION and correct and item.key in derived:
                _plan_correction(session, ctx, item, derived[item.key], rt.clock().date())
            elif item.action == RESEND and item.key in derived:
                doc = current_document(session, ctx.id, item.key)
                if doc is not None and doc.state is DocumentState.REJECTED:
                    # Re-sent under the rejected document's own key and number (a re-issue has
                    # its own), with today's lines.
                    today = _same_identity(derived[item.key], _stored_like(derived[item.key], doc))
                    transition(session, doc, DocumentState.PLANNED, payload=dump_doc(today))
            elif item.action == NEEDS_CORRECTION and not correct:
                open_review_item(
                    session,
                    ctx.id,
                    ReviewKind.CHANGED_AFTER_POSTING,
                    item.amazon_id,
                    f"{item.kind} {item.key} differs from what today's data and mapping give: "
                    + "; ".join(item.changes[:5]),
                    details={"key": item.key, "changes": item.changes},
                )
            append_event(
                session,
                ctx.id,
                AuditAction.REPLAYED,
                amazon_ids=[item.amazon_id, item.key],
                details={"action": item.action, "changes": item.changes[:20]},
            )


def _plan_correction(
    session: Session, ctx: ConnectionContext, item: ReplayItem, today: PlannedDoc, on: date
) -> None:
    """Plan the reversal and the re-issue of a posted document that today's data contradicts."""
    posted = current_document(session, ctx.id, item.key)
    assert posted is not None
    revision = (revision_of(posted.idempotency_key, item.key) or 0) + 1
    pair: tuple[PlannedDoc, PlannedDoc]
    if isinstance(today, JournalDoc):
        pair = correct_journal(load_journal(posted.payload), today, revision=revision)
        kinds = (DocumentKind.JOURNAL, DocumentKind.JOURNAL)
    else:
        assert isinstance(today, InvoiceDoc)
        invoice = load_invoice(posted.payload)
        prior = tuple(
            load_credit_memo(doc.payload)
            for doc in documents_for_amazon_id(session, item.amazon_id, connection_id=ctx.id)
            if doc.kind is DocumentKind.CREDIT_MEMO
            and doc.state is not DocumentState.REJECTED
            and doc.payload.get("invoice_key") == invoice.key
        )
        outcome = correct_invoice(invoice, today, revision=revision, on=on, prior=prior)
        if isinstance(outcome, Held):
            item.action = HELD
            item.reason = outcome.reason
            return
        pair = outcome
        kinds = (DocumentKind.CREDIT_MEMO, DocumentKind.INVOICE)
    for planned, kind in ((pair[0], kinds[0]), (pair[1], kinds[1])):
        plan_document(session, ctx.id, planned.key, kind, item.amazon_id, dump_doc(planned))
    item.action = CORRECT
    item.reason = _CORRECTION_TEXT[item.kind]
    resolve_subject(
        session,
        ctx.id,
        item.amazon_id,
        kind=ReviewKind.CHANGED_AFTER_POSTING,
        resolution=f"corrected: {pair[0].key} and {pair[1].key}",
    )


def _is_settlement_item(item: ReviewItem) -> bool:
    """Whether an item holds a settlement's journal (replayed as a settlement, not an order):
    an unknown fee type, a held journal (its key), an unreadable settlement group."""
    details = item.details if isinstance(item.details, dict) else {}
    return (
        item.kind is ReviewKind.UNKNOWN_FEE_TYPE
        or str(details.get("key", "")).startswith("jnl:")
        or details.get("record") == RecordKind.GROUP.value
    )


def resolve_reviews(
    rt: Runtime, ctx: ConnectionContext, *, item_ids: Iterable[int] = (), all_open: bool = False
) -> tuple[ReplayReport, list[str]]:
    """Replay the subjects of open review items after their cause was fixed.

    Items whose document now plans (or posts) are closed by the planner; the others stay open and
    their reasons come back, so the operator sees what still blocks them.
    """
    wanted = set(item_ids)
    with rt.sessions() as session:
        items = [
            item
            for item in list_review_items(session, connection_id=ctx.id)
            if all_open or item.id in wanted
        ]
    orders = [i.subject_amazon_id for i in items if not _is_settlement_item(i)]
    settlements = [i.subject_amazon_id for i in items if _is_settlement_item(i)]
    report = replay(rt, ctx, order_ids=orders, settlement_ids=settlements, dry_run=False)
    with rt.sessions() as session, session.begin():
        for item in items:
            fixed = any(
                entry.amazon_id == item.subject_amazon_id and entry.action in (PLAN, RESEND)
                for entry in report.items
            )
            if fixed and item.kind is ReviewKind.ORACLE_REJECTED:
                resolve_review_item(session, item.id, resolution="re-sent after the fix")
        still_open = [
            f"#{item.id} {item.subject_amazon_id}: {item.reason}"
            for item in list_review_items(session, connection_id=ctx.id)
            if item.id in {i.id for i in items}
        ]
    return report, still_open
