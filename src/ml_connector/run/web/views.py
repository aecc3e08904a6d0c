"""What each dashboard page shows, as plain JSON-able data.

One function per page, read-only, so the HTML page and its JSON twin can never disagree: both
render the same dictionary. Datetimes are ISO 8601 strings, money stays decimal strings as the
pipeline stored it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ml_connector.store import (
    AuditAction,
    AuditEvent,
    Document,
    DocumentState,
    ReviewItem,
    ReviewStatus,
    Run,
    bindings_for,
    count_by_state,
    documents_for_amazon_id,
    list_connections,
    list_review_items,
    list_runs,
    timeline,
)

PAGE_LIMIT = 200
RECONCILIATION_FIELDS = (
    "settlement_id",
    "status",
    "currency",
    "amazon_total",
    "report_total",
    "posted_total",
    "variance",
)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _run(run: Run) -> dict[str, Any]:
    return {
        "stream": run.stream,
        "status": run.status.value,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "counts": run.counts,
        "error": run.error,
    }


def _connection_names(session: Session) -> dict[int, str]:
    return {row.id: row.name for row in list_connections(session)}


def overview(session: Session) -> dict[str, Any]:
    connections = []
    for row in list_connections(session):
        config = row.config
        latest: dict[str, Run] = {}
        for run in list_runs(session, connection_id=row.id, limit=PAGE_LIMIT):
            latest.setdefault(run.stream, run)  # newest first: the first seen is the last run
        counts = count_by_state(session, connection_id=row.id)
        connections.append(
            {
                "name": row.name,
                "enabled": row.enabled,
                "marketplaces": config.get("amazon", {}).get("marketplace_ids", []),
                "oracle_pod": config.get("oracle", {}).get("pod"),
                "last_runs": [_run(latest[stream]) for stream in sorted(latest)],
                "documents": {state.value: count for state, count in counts.items()},
            }
        )
    return {
        "connections": connections,
        "documents": {s.value: n for s, n in count_by_state(session).items()},
        "review_open": open_review_count(session),
    }


def open_review_count(session: Session) -> int:
    query = select(func.count()).select_from(ReviewItem)
    return int(session.scalar(query.where(ReviewItem.status == ReviewStatus.OPEN)) or 0)


def _document(doc: Document, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": doc.id,
        "connection": names.get(doc.connection_id),
        "key": doc.idempotency_key,
        "kind": doc.kind.value,
        "amazon_id": doc.amazon_source_id,
        "state": doc.state.value,
        "attempts": doc.attempts,
        "oracle_id": doc.oracle_id,
        "oracle_number": doc.oracle_number,
        "last_error": doc.last_error,
        "updated_at": _iso(doc.updated_at),
    }


def documents(
    session: Session, *, amazon_id: str | None, state: DocumentState | None
) -> dict[str, Any]:
    """One Amazon id's documents, or the newest documents (optionally in one state)."""
    names = _connection_names(session)
    if amazon_id:
        rows = documents_for_amazon_id(session, amazon_id)
        if state is not None:
            rows = [row for row in rows if row.state is state]
    else:
        query = select(Document).order_by(Document.id.desc()).limit(PAGE_LIMIT)
        if state is not None:
            query = query.where(Document.state == state)
        rows = list(session.scalars(query))
    return {
        "amazon_id": amazon_id,
        "state": None if state is None else state.value,
        "documents": [_document(row, names) for row in rows],
    }


def review(session: Session) -> dict[str, Any]:
    names = _connection_names(session)
    items = list_review_items(session, status=ReviewStatus.OPEN, limit=PAGE_LIMIT)
    return {
        "items": [
            {
                "id": item.id,
                "connection": names.get(item.connection_id),
                "kind": item.kind.value,
                "subject": item.subject_amazon_id,
                "reason": item.reason,
                "details": item.details,
                "created_at": _iso(item.created_at),
            }
            for item in items
        ]
    }


def _event(event: AuditEvent, names: dict[int, str]) -> dict[str, Any]:
    return {
        "at": _iso(event.at),
        "connection": names.get(event.connection_id),
        "action": event.action,
        "amazon_ids": event.amazon_ids,
        "oracle_ids": event.oracle_ids,
        "amazon_request_id": event.amazon_request_id,
        "oracle_request_id": event.oracle_request_id,
        "details": event.details,
    }


def audit(session: Session, any_id: str) -> dict[str, Any]:
    names = _connection_names(session)
    return {
        "id": any_id,
        "bindings": [
            {
                "connection": names.get(b.connection_id),
                "kind": b.kind.value,
                "amazon_id": b.amazon_id,
                "oracle_id": b.oracle_id,
                "oracle_number": b.oracle_number,
            }
            for b in bindings_for(session, any_id)
        ],
        "events": [_event(e, names) for e in timeline(session, any_id, limit=PAGE_LIMIT * 5)],
    }


def reconciliation(session: Session) -> dict[str, Any]:
    """The latest `reconciled` event per (connection, settlement)."""
    names = _connection_names(session)
    query = (
        select(AuditEvent)
        .where(AuditEvent.action == AuditAction.RECONCILED.value)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(PAGE_LIMIT * 5)
    )
    seen: set[tuple[int, str]] = set()
    rows = []
    for event in session.scalars(query):
        details = event.details
        settlement = str(details.get("settlement_id", ""))
        if (event.connection_id, settlement) in seen:
            continue
        seen.add((event.connection_id, settlement))
        row: dict[str, Any] = {"connection": names.get(event.connection_id), "at": _iso(event.at)}
        row.update({name: _str_or_none(details.get(name)) for name in RECONCILIATION_FIELDS})
        rows.append(row)
        if len(rows) >= PAGE_LIMIT:
            break
    return {"settlements": rows}


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
