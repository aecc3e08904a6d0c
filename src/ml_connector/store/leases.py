"""Leases: which worker works on a (connection, stream), until when, and with which fence.

A claim is one conditional UPDATE ("take it if it is free, expired, or already mine") that also
raises ``generation``. The database serialises those updates (row locks on PostgreSQL, the single
writer on SQLite), so of two racing workers exactly one sees its row change. On PostgreSQL a
``SELECT ... FOR UPDATE SKIP LOCKED`` first lets a worker pass over a lease another worker is
busy with instead of queueing behind it.

Fencing: a holder proves it still holds the lease inside the very transaction it writes in
(``check_fence``). That check is itself a no-op UPDATE of the lease row, so it holds the row's
write lock until commit and a thief cannot slip in between the check and the write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from ml_connector.store.columns import utcnow
from ml_connector.store.dialect import insert_or_ignore, is_postgresql
from ml_connector.store.errors import LeaseLostError
from ml_connector.store.tables import Lease

__all__ = [
    "LeaseToken",
    "check_fence",
    "claim_lease",
    "heartbeat",
    "held_leases",
    "list_leases",
    "release_lease",
]


@dataclass(frozen=True)
class LeaseToken:
    """Proof of a claim; every fenced write presents it."""

    connection_id: int
    stream: str
    owner: str
    generation: int
    expires_at: datetime


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def claim_lease(
    session: Session,
    connection_id: int,
    stream: str,
    owner: str,
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> LeaseToken | None:
    """Take the lease if free, expired or already ours (with a new generation); else ``None``."""
    at = now or utcnow()
    insert_or_ignore(
        session,
        Lease.__table__,  # type: ignore[arg-type]
        {"connection_id": connection_id, "stream": stream, "generation": 0, "updated_at": at},
    )
    where = (Lease.connection_id == connection_id, Lease.stream == stream)
    if is_postgresql(session):
        locked = session.scalar(select(Lease.id).where(*where).with_for_update(skip_locked=True))
        if locked is None:
            return None  # another worker is claiming or fencing it right now
    expires = at + ttl
    result = session.execute(
        update(Lease)
        .where(
            *where,
            or_(Lease.owner.is_(None), Lease.expires_at.is_(None), Lease.expires_at <= at)
            | (Lease.owner == owner),
        )
        .values(owner=owner, expires_at=expires, generation=Lease.generation + 1, updated_at=at)
        .returning(Lease.generation)
        .execution_options(synchronize_session=False)
    )
    generation = result.scalar()
    if generation is None:
        return None
    return LeaseToken(connection_id, stream, owner, int(generation), expires)


def lease_owner(session: Session, connection_id: int, stream: str) -> str | None:
    """Who holds (or last held) the lease, for a caller deciding whether the holder is dead."""
    return session.scalar(
        select(Lease.owner).where(Lease.connection_id == connection_id, Lease.stream == stream)
    )


def expire_lease(
    session: Session, connection_id: int, stream: str, owner: str, *, now: datetime | None = None
) -> bool:
    """End the lease of ``owner`` at once (it is known dead); False if someone else holds it.

    The next claim raises the generation, so anything the dead owner might still write is fenced.
    """
    at = now or utcnow()
    result = session.execute(
        update(Lease)
        .where(Lease.connection_id == connection_id, Lease.stream == stream, Lease.owner == owner)
        .values(expires_at=at, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def _fenced_update(session: Session, token: LeaseToken, **values: object) -> bool:
    result = session.execute(
        update(Lease)
        .where(
            Lease.connection_id == token.connection_id,
            Lease.stream == token.stream,
            Lease.owner == token.owner,
            Lease.generation == token.generation,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def check_fence(session: Session, token: LeaseToken) -> None:
    """Raise ``LeaseLostError`` unless ``token`` is still the current holder of its lease."""
    if not _fenced_update(session, token, generation=Lease.generation):
        raise LeaseLostError(
            f"lease {token.stream!r} of connection {token.connection_id} generation "
            f"{token.generation} is no longer held by {token.owner!r}"
        )


def heartbeat(
    session: Session, token: LeaseToken, ttl: timedelta, *, now: datetime | None = None
) -> LeaseToken:
    """Push the expiry out; a holder whose lease was stolen learns it here."""
    at = now or utcnow()
    expires = at + ttl
    if not _fenced_update(session, token, expires_at=expires, updated_at=at):
        raise LeaseLostError(
            f"lease {token.stream!r} of connection {token.connection_id} was taken over"
        )
    return replace(token, expires_at=expires)


def release_lease(session: Session, token: LeaseToken, *, now: datetime | None = None) -> bool:
    """Give the lease up early (clean shutdown); False when it had already been taken over."""
    return _fenced_update(session, token, owner=None, expires_at=None, updated_at=now or utcnow())


def list_leases(session: Session, connection_id: int | None = None) -> list[Lease]:
    query = select(Lease).order_by(Lease.connection_id, Lease.stream)
    if connection_id is not None:
        query = query.where(Lease.connection_id == connection_id)
    return list(session.scalars(query))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def held_leases(session: Session, connection_id: int, *, now: datetime | None = None) -> list[str]:
    """The connection's leases held now, each as ``"sync held by HOST:PID until 21:43 UTC"``.

    A holder that died without releasing its lease (killed, host lost) still holds it until
    that time, when it expires by itself; so the text says when, not only that it is held.
    """
    at = _aware(now or utcnow())
    return [
        f"{lease.stream} held by {lease.owner} until {_aware(lease.expires_at):%H:%M} UTC"
        for lease in list_leases(session, connection_id)
        if lease.owner and lease.expires_at is not None and _aware(lease.expires_at) > at
    ]
