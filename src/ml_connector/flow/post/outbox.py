"""The outbox's state changes towards Oracle, each in its own transaction (DESIGN.md §5).

``sending`` is committed before anything is sent; ``posted`` is committed with Oracle's id, the
binding and the audit event together; Oracle's "no" becomes ``rejected`` plus a review item, a
transient failure ``retry``. The posting strategies (REST, FBDI imports) build on these steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.errors import AuthError, ConflictError, RemoteError, ValidationError
from ml_connector.flow.post.codec import load_invoice
from ml_connector.flow.post.oracle_docs import PostingProfile, invoice_payload
from ml_connector.observability import metrics
from ml_connector.remote.oracle import BulkImports, ImportStillRunning, Receivables
from ml_connector.run import crashpoints
from ml_connector.store import (
    AuditAction,
    DocumentKind,
    DocumentState,
    ReviewKind,
    append_event,
    bind,
    get_document,
    list_documents,
    open_review_item,
    timeline,
    transition,
)
from ml_connector.store.tables import Document

_log = structlog.get_logger(__name__)

SUBMITTED = "submitted"


@dataclass
class PostSummary:
    """What one posting pass did, for the run record and the CLI's summary."""

    posted: dict[str, int] = field(default_factory=dict)
    found_existing: int = 0
    rejected: int = 0
    retry: int = 0
    waiting_on_invoice: int = 0
    recovered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_posted(self, kind: DocumentKind, *, created: bool) -> None:
        with self._lock:
            self.posted[kind.value] = self.posted.get(kind.value, 0) + 1
            if not created:
                self.found_existing += 1

    def bump(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


@dataclass(frozen=True)
class PosterSettings:
    concurrency: int = 4
    credit_memo_batch: int = 200
    # How long an import submitted before a crash may still create its documents.
    import_settle: timedelta = timedelta(minutes=15)


Progress = Callable[[str, int], None]


class OutboxSteps:
    """One connection's outbox and the Oracle clients it posts with."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        connection_id: int,
        profile: PostingProfile,
        receivables: Receivables,
        imports: BulkImports,
        *,
        clock: Callable[[], datetime],
        settings: PosterSettings | None = None,
    ) -> None:
        self._sessions = sessions
        self._connection_id = connection_id
        self._profile = profile
        self._receivables = receivables
        self._imports = imports
        self._clock = clock
        self._settings = settings or PosterSettings()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def _ready(self, kind: DocumentKind) -> list[int]:
        with self._tx() as session:
            docs = list_documents(
                session,
                connection_id=self._connection_id,
                states=(DocumentState.PLANNED, DocumentState.RETRY),
                kind=kind,
            )
            return [doc.id for doc in docs]

    def _begin_send(self, doc_id: int) -> Document | None:
        with self._tx() as session:
            doc = get_document(session, doc_id)
            if doc is None or doc.state not in (DocumentState.PLANNED, DocumentState.RETRY):
                return None
            transition(session, doc, DocumentState.SENDING, now=self._clock())
            append_event(
                session,
                self._connection_id,
                AuditAction.SENDING,
                amazon_ids=[doc.amazon_source_id, doc.idempotency_key],
                details={"kind": doc.kind.value, "attempt": doc.attempts},
                at=self._clock(),
            )
            session.expunge(doc)
        crashpoints.hit(f"post.{doc.kind.value}.sending_committed")
        return doc

    def _posted(
        self,
        doc_id: int,
        oracle_id: str,
        oracle_number: str | None,
        summary: PostSummary,
        *,
        created: bool,
        request_id: str | None = None,
    ) -> None:
        crashpoints.hit("post.before_recording")
        with self._tx() as session:
            doc = get_document(session, doc_id)
            assert doc is not None
            transition(
                session,
                doc,
                DocumentState.POSTED,
                oracle_id=oracle_id,
                oracle_number=oracle_number,
                now=self._clock(),
            )
            bind(
                session,
                self._connection_id,
                doc.kind,
                doc.idempotency_key,
                oracle_id,
                oracle_number=oracle_number,
                now=self._clock(),
            )
            append_event(
                session,
                self._connection_id,
                AuditAction.POSTED,
                amazon_ids=[doc.amazon_source_id, doc.idempotency_key],
                oracle_ids=[oracle_id, *([oracle_number] if oracle_number else [])],
                oracle_request_id=request_id,
                details={"kind": doc.kind.value, "found_existing": not created},
                at=self._clock(),
            )
            kind = doc.kind
        summary.count_posted(kind, created=created)
        metrics.documents_posted.labels(kind=kind.value).inc()
        crashpoints.hit(f"post.{kind.value}.recorded")

    def _failed(self, doc_id: int, exc: Exception, summary: PostSummary) -> None:
        rejected = isinstance(exc, ValidationError | ConflictError)
        message = str(exc)
        with self._tx() as session:
            doc = get_document(session, doc_id)
            assert doc is not None
            target = DocumentState.REJECTED if rejected else DocumentState.RETRY
            kind = doc.kind
            transition(session, doc, target, error=message, now=self._clock())
            request_id = exc.request_id if isinstance(exc, RemoteError) else None
            append_event(
                session,
                self._connection_id,
                AuditAction.REJECTED if rejected else AuditAction.RETRIED,
                amazon_ids=[doc.amazon_source_id, doc.idempotency_key],
                oracle_request_id=request_id,
                details={"kind": doc.kind.value, "error": message[:1000]},
                at=self._clock(),
            )
            if rejected:
                open_review_item(
                    session,
                    self._connection_id,
                    ReviewKind.ORACLE_REJECTED,
                    doc.amazon_source_id,
                    f"Oracle rejected the {doc.kind.value.replace('_', ' ')}: {message}",
                    details={"idempotency_key": doc.idempotency_key},
                    now=self._clock(),
                )
        summary.bump("rejected" if rejected else "retry")
        if rejected:
            metrics.documents_rejected.labels(kind=kind.value).inc()
        _log.warning(
            "post.failed", key=doc_id, outcome="rejected" if rejected else "retry", error=message
        )
        if isinstance(exc, AuthError):
            # Every further document would fail the same way: stop the pass, say why once.
            raise exc

    def _look_up(self, kind: DocumentKind, payload: dict[str, object]) -> tuple[str, str] | None:
        if kind is DocumentKind.INVOICE:
            invoice = self._receivables.find_invoice(
                invoice_payload(load_invoice(dict(payload)), self._profile)
            )
            if invoice is None:
                return None
            return str(invoice.CustomerTransactionId), str(invoice.TransactionNumber)
        if kind is DocumentKind.CREDIT_MEMO:
            number = str(payload["transaction_number"])
            memos = self._receivables.find_credit_memos(transaction_number=number)
            return (str(memos[0].CustomerTransactionId), number) if memos else None
        name = str(payload["batch_name"])
        batches = self._imports.find_journal_batches(name)
        return (str(batches[0].JeBatchId), name) if batches else None

    def _import_may_still_land(self, key: str, updated: datetime) -> bool:
        """True while an import submitted for `key` may still be running in Oracle."""
        with self._tx() as session:
            events = [e for e in timeline(session, key) if e.action == SUBMITTED]
        if events:
            request_id = events[-1].oracle_request_id
            if request_id:
                try:
                    self._imports.wait(request_id, max_wait=0)
                except ImportStillRunning:
                    return True
                except RemoteError:
                    return False
            return False
        return self._clock() - updated < self._settings.import_settle
