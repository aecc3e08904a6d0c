"""The review queue: what waits for a human (unmapped SKU, unknown fee, Oracle rejection...).

At most one item is open per (connection, kind, Amazon subject): a database partial unique
index guarantees it, so every sync can re-open the same problem without piling up duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.store.audit import append_event, refuse_secrets
from ml_connector.store.columns import utcnow
from ml_connector.store.dialect import insert_or_ignore
from ml_connector.store.errors import NotFoundInStoreError, StoreError
from ml_connector.store.kinds import ReviewKind, ReviewStatus
from ml_connector.store.tables import ReviewItem

__all__ = [
    "DISMISSED_PREFIX",
    "dismiss_review_item",
    "get_review_item",
    "list_review_items",
    "open_review_item",
    "resolve_review_item",
    "resolve_subject",
]

# A dismissed item is resolved with this resolution prefix and the person's note.
DISMISSED_PREFIX = "dismissed: "


def _open_item(
    session: Session, connection_id: int, kind: ReviewKind, subject: str
) -> ReviewItem | None:
    return session.scalar(
        select(ReviewItem).where(
            ReviewItem.connection_id == connection_id,
            ReviewItem.kind == kind,
            ReviewItem.subject_amazon_id == subject,
            ReviewItem.status == ReviewStatus.OPEN,
        )
    )


def open_review_item(
    session: Session,
    connection_id: int,
    kind: ReviewKind,
    subject_amazon_id: str,
    reason: str,
    *,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[ReviewItem, bool]:
    """Open an item, or return the one already open (with the latest reason); True if new."""
    body = dict(details or {})
    refuse_secrets(body)
    created = insert_or_ignore(
        session,
        ReviewItem.__table__,  # type: ignore[arg-type]
        {
            "connection_id": connection_id,
            "kind": kind,
            "subject_amazon_id": subject_amazon_id,
            "reason": reason,
            "details": body,
            "status": ReviewStatus.OPEN,
            "created_at": now or utcnow(),
        },
    )
    item = _open_item(session, connection_id, kind, subject_amazon_id)
    assert item is not None
    if not created and (item.reason, item.details) != (reason, body):
        item.reason, item.details = reason, body
        session.flush()
    return item, created


def resolve_review_item(
    session: Session, item_id: int, *, resolution: str | None = None, now: datetime | None = None
) -> ReviewItem:
    """Mark an item resolved; resolving it again changes nothing."""
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFoundInStoreError(f"no review item #{item_id}")
    if item.status is ReviewStatus.OPEN:
        item.status = ReviewStatus.RESOLVED
        item.resolution = resolution
        item.resolved_at = now or utcnow()
        session.flush()
    return item


def resolve_subject(
    session: Session,
    connection_id: int,
    subject_amazon_id: str,
    *,
    kind: ReviewKind | None = None,
    resolution: str | None = None,
    now: datetime | None = None,
) -> int:
    """Resolve every open item about one Amazon id (a replay just posted it); returns the count."""
    items = list_review_items(session, connection_id=connection_id, kind=kind)
    matching = [item for item in items if item.subject_amazon_id == subject_amazon_id]
    for item in matching:
        resolve_review_item(session, item.id, resolution=resolution, now=now)
    return len(matching)


def list_review_items(
    session: Session,
    *,
    connection_id: int | None = None,
    status: ReviewStatus | None = ReviewStatus.OPEN,
    kind: ReviewKind | None = None,
    limit: int | None = None,
) -> list[ReviewItem]:
    """Open items by default, oldest first; ``status=None`` lists everything."""
    query = select(ReviewItem)
    if connection_id is not None:
        query = query.where(ReviewItem.connection_id == connection_id)
    if status is not None:
        query = query.where(ReviewItem.status == status)
    if kind is not None:
        query = query.where(ReviewItem.kind == kind)
    return list(session.scalars(query.order_by(ReviewItem.id).limit(limit)))


def get_review_item(session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFoundInStoreError(
            f"no review item #{item_id} (`ml-connector review list` shows the open ones)"
        )
    return item


def dismiss_review_item(
    session: Session, item_id: int, note: str, *, now: datetime | None = None
) -> ReviewItem:
    """Close an open item without a fix (a person decided nothing is to be done), audited.

    Any kind can be dismissed, a change after posting included; the note is kept as the
    resolution and in a ``dismissed`` audit event naming the item's Amazon id.
    """
    text = note.strip()
    if not text:
        raise StoreError("a dismissal needs a note saying why (--note TEXT)")
    item = get_review_item(session, item_id)
    if item.status is not ReviewStatus.OPEN:
        raise StoreError(
            f"review item #{item_id} is already closed ({item.resolution or 'resolved'})"
        )
    at = now or utcnow()
    resolve_review_item(session, item.id, resolution=DISMISSED_PREFIX + text, now=at)
    append_event(
        session,
        item.connection_id,
        "dismissed",
        amazon_ids=[item.subject_amazon_id],
        details={"review_item": item.id, "kind": str(item.kind), "note": text},
        at=at,
    )
    return item
