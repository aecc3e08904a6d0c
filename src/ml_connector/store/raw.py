"""Raw Amazon records: stored as fetched, deduplicated by Amazon id and content hash.

Polls deliberately overlap (DESIGN.md §2), so most upserts are re-reads; the outcome tells
extract whether anything downstream needs to be re-derived.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.store.columns import canonical_json, utcnow
from ml_connector.store.dialect import insert_or_ignore
from ml_connector.store.kinds import RawKind, UpsertOutcome
from ml_connector.store.tables import RawRecord

__all__ = [
    "content_hash",
    "delete_raw_records",
    "get_raw_record",
    "list_raw_records",
    "upsert_raw_record",
]


def content_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON form: key order and whitespace do not count as a change."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def upsert_raw_record(
    session: Session,
    connection_id: int,
    kind: RawKind,
    amazon_id: str,
    payload: Mapping[str, Any],
    *,
    now: datetime | None = None,
    parent_id: str | None = None,
) -> UpsertOutcome:
    """Insert, or record a re-read; a different hash replaces the payload and counts a change.

    `parent_id` is the settlement group a transaction was listed for (kept as last listed).
    """
    at = now or utcnow()
    digest = content_hash(payload)
    stored_payload = dict(payload)
    inserted = insert_or_ignore(
        session,
        RawRecord.__table__,  # type: ignore[arg-type]
        {
            "connection_id": connection_id,
            "kind": kind,
            "amazon_id": amazon_id,
            "content_hash": digest,
            "payload": stored_payload,
            "first_seen": at,
            "last_seen": at,
            "times_seen": 1,
            "times_changed": 0,
            "parent_amazon_id": parent_id,
        },
    )
    if inserted:
        return UpsertOutcome.NEW
    row = session.scalars(
        select(RawRecord)
        .where(
            RawRecord.connection_id == connection_id,
            RawRecord.kind == kind,
            RawRecord.amazon_id == amazon_id,
        )
        .with_for_update()
    ).one()
    row.last_seen = max(row.last_seen, at)
    row.times_seen += 1
    if parent_id is not None and row.parent_amazon_id != parent_id:
        row.parent_amazon_id = parent_id
    outcome = UpsertOutcome.UNCHANGED
    if row.content_hash != digest:
        row.previous_hash = row.content_hash
        row.content_hash = digest
        row.payload = stored_payload
        row.changed_at = at
        row.times_changed += 1
        outcome = UpsertOutcome.CHANGED
    session.flush()
    return outcome


def get_raw_record(
    session: Session, connection_id: int, kind: RawKind, amazon_id: str
) -> RawRecord | None:
    return session.scalar(
        select(RawRecord).where(
            RawRecord.connection_id == connection_id,
            RawRecord.kind == kind,
            RawRecord.amazon_id == amazon_id,
        )
    )


def list_raw_records(
    session: Session,
    connection_id: int,
    kind: RawKind,
    *,
    changed_since: datetime | None = None,
    limit: int | None = None,
) -> list[RawRecord]:
    """Records of one kind, oldest first; ``changed_since`` selects what a replay must redo."""
    query = select(RawRecord).where(
        RawRecord.connection_id == connection_id, RawRecord.kind == kind
    )
    if changed_since is not None:
        query = query.where(
            (RawRecord.first_seen >= changed_since) | (RawRecord.changed_at >= changed_since)
        )
    return list(session.scalars(query.order_by(RawRecord.id).limit(limit)))


def delete_raw_records(
    session: Session, connection_id: int, kind: RawKind, amazon_ids: list[str]
) -> int:
    """Forget records Amazon no longer lists (only synthetic-id stand-ins are ever deleted)."""
    if not amazon_ids:
        return 0
    rows = session.scalars(
        select(RawRecord).where(
            RawRecord.connection_id == connection_id,
            RawRecord.kind == kind,
            RawRecord.amazon_id.in_(amazon_ids),
        )
    )
    count = 0
    for row in rows:
        session.delete(row)
        count += 1
    session.flush()
    return count
