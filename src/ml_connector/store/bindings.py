"""Amazon id ↔ Oracle id, one-to-one per document kind.

Binding the same pair twice is harmless (a retried poster does exactly that); binding either
side to a different partner is refused, because it would mean one Amazon order became two
invoices, or one invoice answers for two orders.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ml_connector.store.columns import utcnow
from ml_connector.store.dialect import insert_or_ignore
from ml_connector.store.errors import BindingConflictError
from ml_connector.store.kinds import DocumentKind
from ml_connector.store.tables import Binding

__all__ = ["bind", "bindings_for", "find_by_amazon_id", "find_by_oracle_id"]


def find_by_amazon_id(
    session: Session, connection_id: int, kind: DocumentKind, amazon_id: str
) -> Binding | None:
    return session.scalar(
        select(Binding).where(
            Binding.connection_id == connection_id,
            Binding.kind == kind,
            Binding.amazon_id == amazon_id,
        )
    )


def find_by_oracle_id(
    session: Session, connection_id: int, kind: DocumentKind, oracle_id: str
) -> Binding | None:
    return session.scalar(
        select(Binding).where(
            Binding.connection_id == connection_id,
            Binding.kind == kind,
            Binding.oracle_id == oracle_id,
        )
    )


def _check(existing: Binding | None, amazon_id: str, oracle_id: str) -> None:
    if existing is not None and (existing.amazon_id, existing.oracle_id) != (amazon_id, oracle_id):
        raise BindingConflictError(
            f"{existing.kind} binding {existing.amazon_id!r} ↔ {existing.oracle_id!r} exists; "
            f"refusing {amazon_id!r} ↔ {oracle_id!r}"
        )


def bind(
    session: Session,
    connection_id: int,
    kind: DocumentKind,
    amazon_id: str,
    oracle_id: str,
    *,
    oracle_number: str | None = None,
    now: datetime | None = None,
) -> Binding:
    """Record that ``amazon_id`` became ``oracle_id``; idempotent for the same pair."""
    _check(find_by_amazon_id(session, connection_id, kind, amazon_id), amazon_id, oracle_id)
    _check(find_by_oracle_id(session, connection_id, kind, oracle_id), amazon_id, oracle_id)
    insert_or_ignore(
        session,
        Binding.__table__,  # type: ignore[arg-type]
        {
            "connection_id": connection_id,
            "kind": kind,
            "amazon_id": amazon_id,
            "oracle_id": oracle_id,
            "oracle_number": oracle_number,
            "created_at": now or utcnow(),
        },
    )
    # A concurrent writer may have won the insert: read back and re-check whoever it was.
    row = find_by_amazon_id(session, connection_id, kind, amazon_id)
    _check(row, amazon_id, oracle_id)
    if row is None:
        _check(find_by_oracle_id(session, connection_id, kind, oracle_id), amazon_id, oracle_id)
        raise BindingConflictError(f"could not bind {amazon_id!r} ↔ {oracle_id!r}")
    return row


def bindings_for(
    session: Session, any_id: str, *, connection_id: int | None = None
) -> list[Binding]:
    """Every binding where ``any_id`` is on either side (the audit timeline follows these)."""
    query = select(Binding).where(or_(Binding.amazon_id == any_id, Binding.oracle_id == any_id))
    if connection_id is not None:
        query = query.where(Binding.connection_id == connection_id)
    return list(session.scalars(query.order_by(Binding.id)))
