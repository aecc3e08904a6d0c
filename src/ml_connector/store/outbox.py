"""The outbox: every Oracle document is planned here before anything is sent (DESIGN.md §5).

State machine (anything else raises ``IllegalTransitionError``)::

    planned ──► sending ──► posted (final)
       │           ├──► retry ──► sending
       ▼           └──► rejected ──► planned   (replay after a fix)
    waiting ──► planned                        (review resolved / dependency posted)

``sending`` is committed before the POST; after a crash the poster finds those rows and looks
their key up in Oracle before deciding anything. Transitions are compare-and-set on the state
the caller read, so two workers can never both move the same document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from ml_connector.store.columns import utcnow
from ml_connector.store.dialect import insert_or_ignore
from ml_connector.store.errors import (
    IdempotencyConflictError,
    IllegalTransitionError,
    StaleStateError,
)
from ml_connector.store.kinds import DocumentKind, DocumentState
from ml_connector.store.leases import LeaseToken, check_fence
from ml_connector.store.tables import Document

__all__ = [
    "MAX_ERROR_CHARS",
    "TRANSITIONS",
    "count_by_state",
    "documents_for_amazon_id",
    "get_document",
    "get_document_by_key",
    "list_documents",
    "plan_document",
    "transition",
]

S = DocumentState
TRANSITIONS: Mapping[DocumentState, frozenset[DocumentState]] = {
    S.PLANNED: frozenset({S.SENDING, S.WAITING}),
    S.SENDING: frozenset({S.POSTED, S.RETRY, S.REJECTED}),
    S.RETRY: frozenset({S.SENDING}),
    S.WAITING: frozenset({S.PLANNED}),
    S.REJECTED: frozenset({S.PLANNED}),
    S.POSTED: frozenset(),
}
MAX_ERROR_CHARS = 4000


def plan_document(
    session: Session,
    connection_id: int,
    idempotency_key: str,
    kind: DocumentKind,
    amazon_source_id: str,
    payload: Mapping[str, Any],
    *,
    waiting_reason: str | None = None,
    now: datetime | None = None,
) -> tuple[Document, bool]:
    """Plan a document once per key; planning it again returns the existing row, untouched.

    ``waiting_reason`` plans it straight into ``waiting`` (unmapped SKU, invoice not posted yet).
    The boolean is True when this call created the row.
    """
    at = now or utcnow()
    created = insert_or_ignore(
        session,
        Document.__table__,  # type: ignore[arg-type]
        {
            "connection_id": connection_id,
            "idempotency_key": idempotency_key,
            "kind": kind,
            "amazon_source_id": amazon_source_id,
            "payload": dict(payload),
            "state": S.PLANNED if waiting_reason is None else S.WAITING,
            "attempts": 0,
            "last_error": None if waiting_reason is None else waiting_reason[:MAX_ERROR_CHARS],
            "created_at": at,
            "updated_at": at,
        },
    )
    document = get_document_by_key(session, idempotency_key)
    assert document is not None
    if (document.connection_id, document.kind, document.amazon_source_id) != (
        connection_id,
        DocumentKind(kind),
        amazon_source_id,
    ):
        raise IdempotencyConflictError(
            f"idempotency key {idempotency_key!r} already belongs to {document.kind} "
            f"#{document.id} for {document.amazon_source_id!r}"
        )
    return document, created


def transition(
    session: Session,
    document: Document,
    to: DocumentState,
    *,
    oracle_id: str | None = None,
    oracle_number: str | None = None,
    error: str | None = None,
    payload: Mapping[str, Any] | None = None,
    fence: LeaseToken | None = None,
    now: datetime | None = None,
) -> Document:
    """Move ``document`` from the state it was read in to ``to``, or raise.

    - ``sending`` counts an attempt; ``posted`` needs the Oracle id (stored in the same
      statement, so the caller's commit makes both durable together);
    - ``retry``, ``rejected`` and ``waiting`` need ``error`` (why), kept in ``last_error``;
    - ``planned`` may carry a re-derived ``payload`` (replay with today's mapping).
    """
    source, target = document.state, DocumentState(to)
    if target not in TRANSITIONS[source]:
        raise IllegalTransitionError(
            f"document #{document.id} ({document.idempotency_key}) cannot go {source} → {target}"
        )
    values: dict[str, Any] = {"state": target, "updated_at": now or utcnow()}
    if target is S.SENDING:
        values["attempts"] = Document.attempts + 1
    elif target is S.POSTED:
        if not oracle_id:
            raise IllegalTransitionError(f"document #{document.id} posted without an Oracle id")
        values.update(oracle_id=oracle_id, oracle_number=oracle_number, last_error=None)
    elif target in (S.RETRY, S.REJECTED, S.WAITING):
        if not error:
            raise IllegalTransitionError(f"document #{document.id} → {target} needs a reason")
        values["last_error"] = error[:MAX_ERROR_CHARS]
    elif target is S.PLANNED:
        values["last_error"] = None
        if payload is not None:
            values["payload"] = dict(payload)
    if payload is not None and target is not S.PLANNED:
        raise IllegalTransitionError("a payload can only change when a document is re-planned")
    if fence is not None:
        check_fence(session, fence)
    session.flush()
    result = session.execute(
        update(Document)
        .where(Document.id == document.id, Document.state == source)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise StaleStateError(
            f"document #{document.id} is no longer {source}: another worker moved it"
        )
    session.refresh(document)
    return document


def get_document(session: Session, document_id: int) -> Document | None:
    return session.get(Document, document_id)


def get_document_by_key(session: Session, idempotency_key: str) -> Document | None:
    return session.scalar(select(Document).where(Document.idempotency_key == idempotency_key))


def list_documents(
    session: Session,
    *,
    connection_id: int | None = None,
    states: Iterable[DocumentState] | None = None,
    kind: DocumentKind | None = None,
    limit: int | None = None,
) -> list[Document]:
    """Oldest first, so the poster sends invoices before the credit memos planned after them."""
    query = select(Document)
    if connection_id is not None:
        query = query.where(Document.connection_id == connection_id)
    if states is not None:
        query = query.where(Document.state.in_([DocumentState(s) for s in states]))
    if kind is not None:
        query = query.where(Document.kind == kind)
    return list(session.scalars(query.order_by(Document.id).limit(limit)))


def documents_for_amazon_id(
    session: Session, amazon_id: str, *, connection_id: int | None = None
) -> list[Document]:
    query = select(Document).where(Document.amazon_source_id == amazon_id)
    if connection_id is not None:
        query = query.where(Document.connection_id == connection_id)
    return list(session.scalars(query.order_by(Document.id)))


def count_by_state(
    session: Session, *, connection_id: int | None = None
) -> dict[DocumentState, int]:
    """Every state with its count (zeros included), for the dashboard and `sync` summaries."""
    query = select(Document.state, func.count()).group_by(Document.state)
    if connection_id is not None:
        query = query.where(Document.connection_id == connection_id)
    counts = dict.fromkeys(DocumentState, 0)
    for state, count in session.execute(query):
        counts[DocumentState(state)] = int(count)
    return counts
