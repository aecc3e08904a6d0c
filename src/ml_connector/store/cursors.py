"""Per-stream watermarks. They only move forward, and only inside the caller's transaction,
so a watermark is never committed without the raw records fetched up to it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.store.columns import utcnow
from ml_connector.store.errors import CursorRewindError
from ml_connector.store.leases import LeaseToken, check_fence
from ml_connector.store.tables import Cursor

__all__ = ["advance_cursor", "cursors_with_prefix", "get_cursor", "reset_cursor"]


def _row(session: Session, connection_id: int, stream: str) -> Cursor | None:
    return session.scalar(
        select(Cursor).where(Cursor.connection_id == connection_id, Cursor.stream == stream)
    )


def get_cursor(session: Session, connection_id: int, stream: str) -> datetime | None:
    """The watermark, or ``None`` when the stream has never run (the caller picks the start)."""
    row = _row(session, connection_id, stream)
    return None if row is None else row.watermark


def cursors_with_prefix(session: Session, connection_id: int, prefix: str) -> dict[str, datetime]:
    """Every stream whose name starts with ``prefix`` (the rest of the name → its watermark)."""
    rows = session.scalars(
        select(Cursor).where(
            Cursor.connection_id == connection_id,
            Cursor.stream.startswith(prefix, autoescape=True),
        )
    )
    return {row.stream[len(prefix) :]: row.watermark for row in rows}


def advance_cursor(
    session: Session,
    connection_id: int,
    stream: str,
    watermark: datetime,
    *,
    fence: LeaseToken | None = None,
    now: datetime | None = None,
) -> datetime:
    """Move the watermark forward; refuses to go back, and refuses a worker that lost its lease."""
    if fence is not None:
        check_fence(session, fence)
    row = _row(session, connection_id, stream)
    if row is not None and watermark < row.watermark:
        raise CursorRewindError(
            f"cursor {stream!r} of connection {connection_id} is at {row.watermark.isoformat()}; "
            f"refusing to move it back to {watermark.isoformat()}"
        )
    _write(session, row, connection_id, stream, watermark, now)
    return watermark


def reset_cursor(
    session: Session,
    connection_id: int,
    stream: str,
    watermark: datetime,
    *,
    now: datetime | None = None,
) -> None:
    """Set the watermark anywhere (backfill, repair); re-reads are harmless by design."""
    _write(session, _row(session, connection_id, stream), connection_id, stream, watermark, now)


def _write(
    session: Session,
    row: Cursor | None,
    connection_id: int,
    stream: str,
    watermark: datetime,
    now: datetime | None,
) -> None:
    at = now or utcnow()
    if row is None:
        session.add(
            Cursor(connection_id=connection_id, stream=stream, watermark=watermark, updated_at=at)
        )
    else:
        row.watermark = watermark
        row.updated_at = at
    session.flush()
