"""Reconcile a connection: every settlement against what was posted, recorded in the audit trail.

The pure comparison lives in ``settlement.py`` and the report link in ``report_link.py``; this
module gathers their inputs from the store (the group and its transactions as fetched, the
settlement reports, the journal as planned and whether it reached Oracle) and records the
result as a ``reconciled`` audit event, so the dashboard, `audit show` and `reconcile` all read
the same figures. The event is written when a settlement's outcome differs from its last one
(status, totals, variances, the invariants, the notes, the journal's Oracle id): a cycle with
nothing new adds no audit rows, and the latest event is the settlement's current outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.domain.ids import FinancialEventGroupId, journal_key
from ml_connector.domain.settlements import GroupStatus, Settlement, group_status_of
from ml_connector.flow.accounting.policy import DEFAULT_POLICY, AccountingPolicy
from ml_connector.flow.mapping import Catalog
from ml_connector.flow.mapping.charges import ChargeMapping
from ml_connector.flow.normalize.fields import NormalizeError
from ml_connector.flow.normalize.settlements import normalize_settlement
from ml_connector.flow.post.codec import load_credit_memo, load_invoice, load_journal
from ml_connector.flow.reconcile.invariants import OrderBooks, ReviewRef, sale_footprint
from ml_connector.flow.reconcile.report_link import (
    GroupPeriod,
    ReportLink,
    StoredReport,
    link_reports,
)
from ml_connector.flow.reconcile.roles import roles_from_mapping
from ml_connector.flow.reconcile.settlement import reconcile_settlement
from ml_connector.flow.stored import current_document, transactions_by_group
from ml_connector.store import (
    AuditAction,
    DocumentKind,
    DocumentState,
    RawKind,
    RawRecord,
    append_event,
    list_documents,
    list_raw_records,
    list_review_items,
)
from ml_connector.store.columns import canonical_json
from ml_connector.store.tables import AuditEvent, AuditLink, ReviewItem

# Documents on their way to Oracle: not in the books yet, not lost either.
_ON_THE_WAY = (
    DocumentState.PLANNED,
    DocumentState.SENDING,
    DocumentState.RETRY,
    DocumentState.WAITING,
)


def _stored_reports(session: Session, connection_id: int) -> list[StoredReport]:
    reports = []
    for row in list_raw_records(session, connection_id, RawKind.SETTLEMENT_REPORT):
        report = StoredReport.from_payload(row.amazon_id, row.payload)
        if report is not None:
            reports.append(report)
    return reports


def _report_links(
    session: Session, connection_id: int, closed: list[tuple[RawRecord, Settlement]]
) -> dict[str, ReportLink]:
    """Each Closed group's settlement report (by settlement id, else by period)."""
    groups = [
        GroupPeriod.from_group(
            row.payload,
            settlement_id=str(settlement.settlement_id),
            currency=settlement.currency,
            total=settlement.total,
        )
        for row, settlement in closed
    ]
    return link_reports(groups, _stored_reports(session, connection_id))


def _order_books(
    session: Session, connection_id: int
) -> tuple[dict[str, OrderBooks], dict[str, list[ReviewItem]]]:
    """Every order's documents and open review items, by order id (a rejected document is in
    neither: Oracle does not have it, and its review item says why)."""
    invoices: dict[str, list[Any]] = {}
    memos: dict[str, list[Any]] = {}
    pending: dict[str, list[str]] = {}
    for doc in list_documents(session, connection_id=connection_id):
        if doc.kind is DocumentKind.JOURNAL:
            continue
        order_id = doc.amazon_source_id
        if doc.state is DocumentState.POSTED:
            if doc.kind is DocumentKind.INVOICE:
                invoices.setdefault(order_id, []).append(load_invoice(doc.payload))
            elif doc.kind is DocumentKind.CREDIT_MEMO:
                memos.setdefault(order_id, []).append(load_credit_memo(doc.payload))
        elif doc.state in _ON_THE_WAY:
            pending.setdefault(order_id, []).append(doc.idempotency_key)
    items: dict[str, list[ReviewItem]] = {}
    for item in list_review_items(session, connection_id=connection_id):
        items.setdefault(item.subject_amazon_id, []).append(item)
    books = {
        order_id: OrderBooks(
            order_id=order_id,
            invoices=tuple(invoices.get(order_id, ())),
            credit_memos=tuple(memos.get(order_id, ())),
            pending=tuple(pending.get(order_id, ())),
            review=tuple(
                ReviewRef(item.id, item.kind.value, item.reason) for item in items.get(order_id, ())
            ),
        )
        for order_id in {*invoices, *memos, *pending, *items}
    }
    return books, items


def _link_review_items(
    items: Mapping[str, list[ReviewItem]], paid_in: Mapping[str, list[str]]
) -> None:
    """An order's open review items name the settlement(s) that paid it (details.settlements)."""
    for order_id, settlement_ids in paid_in.items():
        for item in items.get(order_id, ()):
            details = dict(item.details) if isinstance(item.details, dict) else {}
            wanted = sorted({*map(str, details.get("settlements") or ()), *settlement_ids})
            if details.get("settlements") != wanted:
                details["settlements"] = wanted
                item.details = details


def reconcile_connection(
    sessions: sessionmaker[Session],
    connection_id: int,
    mapping: ChargeMapping,
    *,
    now: datetime,
    only: set[str] | None = None,
    record: bool = True,
    catalog: Catalog | None = None,
    policy: AccountingPolicy = DEFAULT_POLICY,
) -> list[dict[str, Any]]:
    """Reconcile every Closed settlement (or just ``only``); returns their JSON summaries.

    ``policy`` is the connection's accounting policy: with ``include_cogs`` each journal's cost
    lines are checked too, against the ``catalog``'s unit costs.
    """
    roles = roles_from_mapping(mapping)
    results: list[dict[str, Any]] = []
    with sessions() as session, session.begin():
        by_group = transactions_by_group(session, connection_id)
        closed: list[tuple[RawRecord, Settlement]] = []
        for row in list_raw_records(session, connection_id, RawKind.GROUP):
            if group_status_of(row.payload) is GroupStatus.OPEN:
                continue
            try:
                settlement = normalize_settlement(row.payload, by_group.get(row.amazon_id, []))
            except NormalizeError as exc:
                # Its review item says what is wrong; the other settlements reconcile as usual.
                results.append(_unreadable_group(row.amazon_id, exc))
                continue
            closed.append((row, settlement))
        # Linking looks at every Closed group, even when only some are asked for: a report
        # claimed by one group is no candidate for another.
        links = _report_links(session, connection_id, closed)
        books, items = _order_books(session, connection_id)
        tied = {
            memo.refund_transaction_id
            for order in books.values()
            for memo in order.credit_memos
            if memo.refund_transaction_id
        }
        known_ids = {t["transactionId"] for ts in by_group.values() for t in ts if _has_id(t)}
        footprints = {
            row.amazon_id: sale_footprint(settlement, mapping, tied) for row, settlement in closed
        }
        paid_in: dict[str, list[str]] = {}
        for row, settlement in closed:
            if only is not None and not {row.amazon_id, settlement.settlement_id} & only:
                continue
            link = links.get(row.amazon_id) or ReportLink(None, reason="")
            # After a correction the re-issued journal stands (the original and its reversal
            # net out).
            doc = current_document(
                session, connection_id, journal_key(FinancialEventGroupId(row.amazon_id))
            )
            journal = load_journal(doc.payload) if doc is not None else None
            order_ids = {str(t.order_id) for t in settlement.transactions if t.order_id}
            outcome = reconcile_settlement(
                settlement,
                journal,
                roles=roles,
                posted=doc is not None and doc.state is DocumentState.POSTED,
                report_total=link.report.total if link.report else None,
                report_id=link.report.report_id if link.report else None,
                report_link=link.by,
                report_missing=None if link.report else (link.reason or ""),
                books=_settlement_books(settlement, books, items),
                elsewhere=_elsewhere(footprints, row.amazon_id, order_ids),
                known_transaction_ids=known_ids,
                catalog=catalog,
                policy=policy,
            )
            for order_id in outcome.held_orders:
                paid_in.setdefault(order_id, []).append(str(settlement.settlement_id))
            summary: dict[str, Any] = outcome.to_json()
            if doc is None:
                _journal_waits(summary, items, (str(settlement.settlement_id), row.amazon_id))
            summary.setdefault("settlement_id", str(settlement.settlement_id))
            summary["group_id"] = row.amazon_id
            results.append(summary)
            if record:
                _record(session, connection_id, summary, doc.oracle_id if doc else None, now)
        if record:
            _link_review_items(items, paid_in)
    return results


def _settlement_books(
    settlement: Settlement,
    books: Mapping[str, OrderBooks],
    items: Mapping[str, list[ReviewItem]],
) -> dict[str, OrderBooks]:
    """The books of the settlement's orders, each with the review items about its own
    transactions too (a transaction type the product does not know is held under its id)."""
    out = {}
    transactions: dict[str, list[str]] = {}
    for txn in settlement.transactions:
        if txn.order_id:
            transactions.setdefault(str(txn.order_id), []).append(txn.transaction_id)
    for order_id, ids in transactions.items():
        order = books.get(order_id) or OrderBooks(order_id)
        known = {ref.item_id for ref in order.review}
        extra = tuple(
            ReviewRef(item.id, item.kind.value, item.reason)
            for txn_id in ids
            for item in items.get(txn_id, ())
            if item.id not in known
        )
        out[order_id] = replace(order, review=order.review + extra) if extra else order
    return out


def _journal_waits(
    summary: dict[str, Any], items: Mapping[str, list[ReviewItem]], subjects: tuple[str, ...]
) -> None:
    """A settlement whose journal is held says why: the journal's open review items (a type
    the product does not know, an unmapped breakdown) become its journal-total causes."""
    waiting = {item.id: item for subject in subjects for item in items.get(subject, ())}
    if not waiting:
        return
    causes = [
        f"journal held for review: review item {item.id} ({item.kind.value}): {item.reason}"
        for item in waiting.values()
    ]
    summary["notes"] = [*summary.get("notes", []), *causes]
    journal_total = (summary.get("invariants") or {}).get("journal_total")
    if isinstance(journal_total, dict):
        journal_total["causes"] = causes
    summary["review_items"] = sorted({*summary.get("review_items", []), *waiting})


def _has_id(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("transactionId"), str)


def _elsewhere(
    footprints: Mapping[str, Mapping[str, Mapping[str, Decimal]]],
    group_id: str,
    order_ids: set[str],
) -> dict[str, dict[str, Decimal]]:
    """What the other settlements' sale transactions settled for these orders, per bucket."""
    out: dict[str, dict[str, Decimal]] = {}
    for other, footprint in footprints.items():
        if other == group_id:
            continue
        for order_id in order_ids & footprint.keys():
            buckets = out.setdefault(order_id, {})
            for bucket, amount in footprint[order_id].items():
                buckets[bucket] = buckets.get(bucket, Decimal(0)) + amount
    return out


def _unreadable_group(group_id: str, error: NormalizeError) -> dict[str, Any]:
    """A settlement whose group record cannot be read: never `matched`, and it says why."""
    return {
        "settlement_id": group_id,
        "group_id": group_id,
        "status": "unreadable",
        "currency": None,
        "notes": [f"the settlement group cannot be read ({error}); see `review list`"],
    }


def _record(
    session: Session,
    connection_id: int,
    summary: Mapping[str, Any],
    oracle_id: str | None,
    now: datetime,
) -> None:
    if _unchanged(session, connection_id, summary, oracle_id):
        return
    append_event(
        session,
        connection_id,
        AuditAction.RECONCILED,
        # The orders that differ are linked too: `audit show <order>` finds the settlement
        # that paid it.
        amazon_ids=[
            str(summary["settlement_id"]),
            str(summary["group_id"]),
            *_differing_orders(summary),
        ],
        oracle_ids=[oracle_id] if oracle_id else [],
        details=dict(summary),
        at=now,
    )


def _unchanged(
    session: Session, connection_id: int, summary: Mapping[str, Any], oracle_id: str | None
) -> bool:
    """Whether the settlement's last ``reconciled`` event already says exactly this."""
    group_id = str(summary["group_id"])
    events = session.scalars(
        select(AuditEvent)
        .join(AuditLink, AuditLink.event_id == AuditEvent.id)
        .where(
            AuditEvent.connection_id == connection_id,
            AuditEvent.action == AuditAction.RECONCILED.value,
            AuditLink.side == "amazon",
            AuditLink.value == group_id,
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(10)
    )
    # A settlement id can equal another group's id: the group named in the details decides.
    last = next((e for e in events if str(e.details.get("group_id")) == group_id), None)
    if last is None:
        return False
    oracle = sorted(link.value for link in last.links if link.side == "oracle")
    return oracle == ([oracle_id] if oracle_id else []) and canonical_json(
        last.details
    ) == canonical_json(dict(summary))


def _differing_orders(summary: Mapping[str, Any]) -> list[str]:
    proceeds = (summary.get("invariants") or {}).get("proceeds") or {}
    orders = proceeds.get("orders") or []
    ids = [str(o["order_id"]) for o in orders if not str(o["order_id"]).startswith("(")]
    return list(dict.fromkeys(ids))
