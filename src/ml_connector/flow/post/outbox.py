"""The outbox's state changes towards Oracle, each in its own transaction (DESIGN.md §5).

``sending`` is committed before anything is sent; ``posted`` is committed with Oracle's id, the
binding and the audit event together; Oracle's "no" becomes ``rejected`` plus a review item, a
failure that certainly carried nothing out ``retry``. The posting strategies (REST, FBDI
imports) build on these steps.

A POST whose answer was lost (broken connection, timeout, a 5xx after an import was submitted)
may have landed: the document stays ``sending`` and an ``unconfirmed`` event records when. Such
a document, like one a crash left ``sending``, is only ever settled by ``_resolve`` — the one
code path for the retry after a lost answer, the re-run of ``sync`` and crash recovery: wait
while an ESS request submitted for it runs, or while the import settle time since an
unanswered submission has not passed; then look the document up by its key where Oracle keeps
it (invoices and credit memos by number in their own resources, journal batches by name); only
a look-up that proves it absent lets it be sent again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import structlog
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.errors import (
    ConflictError,
    RemoteError,
    TransientError,
    ValidationError,
)
from ml_connector.flow.post.breaker import (
    BreakerSettings,
    OracleBreaker,
    is_outage,
    is_token_failure,
)
from ml_connector.flow.post.codec import load_invoice
from ml_connector.flow.post.oracle_docs import PostingProfile, invoice_payload
from ml_connector.observability import metrics
from ml_connector.remote.oracle import BulkImports, ImportStillRunning, Receivables
from ml_connector.remote.oracle.client import may_have_landed
from ml_connector.remote.oracle.imports import ImportNeedsAttention
from ml_connector.run import crashpoints
from ml_connector.store import (
    AuditAction,
    BindingConflictError,
    DocumentKind,
    DocumentState,
    ReviewKind,
    append_event,
    bind,
    find_by_amazon_id,
    find_by_oracle_id,
    get_document,
    get_document_by_key,
    list_documents,
    open_review_item,
    timeline,
    transition,
)
from ml_connector.store.tables import Document

_log = structlog.get_logger(__name__)

# The routes of the circuit breaker (``breaker.py``): REST Receivables, and FBDI imports.
INVOICES = "invoices"
IMPORTS = "imports"
SUBMITTED = "submitted"  # an import was submitted for the documents: Oracle's request id
UNCONFIRMED = "unconfirmed"  # a POST for the document got no usable answer: it may have landed


@dataclass
class PostSummary:
    """What one posting pass did, for the run record and the CLI's summary."""

    posted: dict[str, int] = field(default_factory=dict)
    found_existing: int = 0
    rejected: int = 0
    retry: int = 0
    waiting_on_invoice: int = 0
    recovered: int = 0
    # POSTs whose answer was lost (the documents stay `sending` until a look-up settles them),
    # and documents left waiting because an import that may create them can still be running.
    unconfirmed: int = 0
    waiting_on_import: int = 0
    # Set only when the circuit breaker stopped the pass (``breaker.py``): the documents still
    # to post (planned, retry, or sent without an answer: nothing was marked rejected for it),
    # and the one-line reason ("Oracle unreachable: connection refused by … — N documents left
    # for the next cycle"). The next cycle posts them, each looked up before it is re-sent.
    left_for_next_cycle: int = 0
    oracle_unreachable: str | None = None
    #: The breaker opened because Oracle refused the credentials (``oracle_unreachable`` then
    #: holds its line): unlike an outage it never heals by itself, someone must set a secret.
    oracle_refused: bool = False
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
    # When to stop asking an Oracle that does not answer, and the retry caps meanwhile.
    breaker: BreakerSettings = field(default_factory=BreakerSettings)


Progress = Callable[[str, int], None]


def route_of(kind: DocumentKind) -> str:
    """The breaker route a document is posted (and looked up) through."""
    return INVOICES if kind is DocumentKind.INVOICE else IMPORTS


class Standing(StrEnum):
    """What Oracle says about a document that may already be there."""

    FOUND = "found"  # Oracle holds it: record it as posted
    ABSENT = "absent"  # proven not there and nothing running that could create it: send it
    PENDING = "pending"  # an import that may create it can still be running: come back later
    UNKNOWN = "unknown"  # Oracle could not be asked (look-up or status failed): come back later


@dataclass(frozen=True, slots=True)
class Resolution:
    standing: Standing
    oracle_id: str | None = None
    number: str | None = None
    reason: str = ""
    error: Exception | None = None  # why Oracle could not be asked (UNKNOWN)


@dataclass
class _Attempt:
    """One send of a document, from its `sending` event: the import requests it submitted and
    when a POST of it went unanswered."""

    began: datetime
    request_ids: list[str] = field(default_factory=list)
    lost_at: datetime | None = None


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
        self._breaker = self._new_breaker()

    def _new_breaker(self) -> OracleBreaker:
        endpoint = getattr(getattr(self._receivables, "client", None), "endpoint", None)
        origin = str(getattr(endpoint, "origin", "") or "")
        return OracleBreaker(self._settings.breaker, origin=origin)

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

    def _authorized(self, route: str) -> bool:
        """Get Oracle's token before a document is begun: a token request that fails for an
        outage (no answer, refused credentials) sent nothing, so the document keeps its state
        (planned or retry) and the breaker (at once for the token request) ends the pass. A
        failure that is no outage is left to the document's own send, which records it."""
        authorize = getattr(getattr(self._receivables, "client", None), "authorize", None)
        if authorize is None:  # a client without a token of its own (test doubles)
            return True
        try:
            authorize()
        except RemoteError as exc:
            if not is_outage(exc):
                return True
            self._breaker.failed(exc, route)
            _log.warning("post.token_failed", route=route, error=str(exc))
            return False
        return True

    def _not_sent(self, doc: Document, summary: PostSummary) -> None:
        """A document begun (``sending``) but not sent because the breaker opened meanwhile:
        back to ``retry``, nothing went out for it in this attempt."""
        with self._tx() as session:
            current = get_document(session, doc.id)
            if current is not None and current.state is DocumentState.SENDING:
                transition(
                    session,
                    current,
                    DocumentState.RETRY,
                    error="not sent: Oracle stopped answering during this pass",
                    now=self._clock(),
                )
        summary.bump("retry")

    def _close_pass(self, summary: PostSummary) -> None:
        """When the breaker stopped the pass: count what waits and say why, in one line."""
        if not self._breaker.open:
            return
        with self._tx() as session:
            left = len(
                list_documents(
                    session,
                    connection_id=self._connection_id,
                    states=(DocumentState.PLANNED, DocumentState.RETRY, DocumentState.SENDING),
                )
            )
        summary.left_for_next_cycle = left
        summary.oracle_unreachable = self._breaker.summary_line(left)
        summary.oracle_refused = self._breaker.refused
        _log.warning(
            "post.breaker.open",
            failures=self._breaker.failures,
            left=left,
            reason=summary.oracle_unreachable,
        )

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
        try:
            kind = self._record_posted(
                doc_id, oracle_id, oracle_number, created=created, request_id=request_id
            )
        except BindingConflictError:
            # Rolled back: the document is not recorded as posted under an id that is taken.
            self._id_taken(doc_id, oracle_id, oracle_number, summary)
            return
        summary.count_posted(kind, created=created)
        metrics.documents_posted.labels(kind=kind.value).inc()
        crashpoints.hit(f"post.{kind.value}.recorded")

    def _record_posted(
        self,
        doc_id: int,
        oracle_id: str,
        oracle_number: str | None,
        *,
        created: bool,
        request_id: str | None,
    ) -> DocumentKind:
        """``posted`` + binding + audit event in one transaction; raises
        ``BindingConflictError`` (nothing committed) when either id is bound otherwise."""
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
            return doc.kind

    def _id_taken(
        self, doc_id: int, oracle_id: str, oracle_number: str | None, summary: PostSummary
    ) -> None:
        """Oracle answered for the document with an id our records give another document (or
        our records give the document another id): the pod was refreshed or restored, or the
        connection points at another pod. The one document goes to review in plain words; the
        pass goes on."""
        with self._tx() as session:
            doc = get_document(session, doc_id)
            assert doc is not None
            what = doc.kind.value.replace("_", " ")
            owner = find_by_oracle_id(session, self._connection_id, doc.kind, oracle_id)
            if owner is not None and owner.amazon_id != doc.idempotency_key:
                other = get_document_by_key(session, owner.amazon_id)
                name = other.amazon_source_id if other is not None else owner.amazon_id
                clash = f"which already belongs to {what} {name} in our records"
            else:
                before = find_by_amazon_id(
                    session, self._connection_id, doc.kind, doc.idempotency_key
                )
                earlier = before.oracle_id if before is not None else "another id"
                clash = f"but in our records it already became {earlier}"
            message = (
                f"Oracle gave {what} {doc.amazon_source_id} the id {oracle_id}, {clash}: "
                "was the Oracle pod refreshed or restored, or does the connection point at "
                "another pod? It is not recorded as posted here; check it in Oracle before "
                "resolving this item"
            )
            transition(session, doc, DocumentState.REJECTED, error=message, now=self._clock())
            append_event(
                session,
                self._connection_id,
                AuditAction.REJECTED,
                amazon_ids=[doc.amazon_source_id, doc.idempotency_key],
                oracle_ids=[oracle_id, *([oracle_number] if oracle_number else [])],
                details={"kind": doc.kind.value, "error": message[:1000], "id_taken": True},
                at=self._clock(),
            )
            open_review_item(
                session,
                self._connection_id,
                ReviewKind.ORACLE_REJECTED,
                doc.amazon_source_id,
                message,
                details={"idempotency_key": doc.idempotency_key, "oracle_id": oracle_id},
                now=self._clock(),
            )
            kind = doc.kind
        summary.bump("rejected")
        metrics.documents_rejected.labels(kind=kind.value).inc()
        _log.warning("post.oracle_id_taken", key=doc_id, oracle_id=oracle_id, reason=message)

    def needs_attention(self, docs: Sequence[Document], waiting: ImportNeedsAttention) -> None:
        """An import's ESS job waits for a person: say so at once (review item + audit), and
        keep the documents in flight on the same request (never submitted again)."""
        with self._tx() as session:
            for doc in docs:
                _, created = open_review_item(
                    session,
                    self._connection_id,
                    ReviewKind.ORACLE_JOB_WAITING,
                    doc.amazon_source_id,
                    waiting.message,
                    details={
                        "key": doc.idempotency_key,
                        "request_id": waiting.request_id,
                        "states": [state.value for state in waiting.states],
                    },
                )
                if created:
                    append_event(
                        session,
                        self._connection_id,
                        "oracle_job_waiting",
                        amazon_ids=[doc.amazon_source_id, doc.idempotency_key],
                        oracle_request_id=waiting.request_id,
                        details={"states": [state.value for state in waiting.states]},
                        at=self._clock(),
                    )

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

    def _send_failed(
        self,
        docs: Sequence[Document],
        exc: Exception,
        summary: PostSummary,
        *,
        label: str,
        starts_a_job: bool,
    ) -> None:
        """A POST for `docs` failed: "may have landed" if Oracle may hold them, else the usual
        `retry` / `rejected`. An import is one POST: if its token request failed, nothing of
        `docs` was sent (an invoice's create-or-find may have POSTed before a token refresh)."""
        sent_nothing = starts_a_job and is_token_failure(exc)
        if (
            isinstance(exc, RemoteError)
            and not sent_nothing
            and may_have_landed(exc, starts_a_job=starts_a_job)
        ):
            self._unconfirmed(docs, exc, summary, label=label)
            return
        for doc in docs:
            self._failed(doc.id, exc, summary)

    def _unconfirmed(
        self, docs: Sequence[Document], exc: RemoteError, summary: PostSummary, *, label: str
    ) -> None:
        """The POST for `docs` got no usable answer: they stay `sending`, and the time is kept
        so the settle wait counts from the submission."""
        with self._tx() as session:
            for doc in docs:
                append_event(
                    session,
                    self._connection_id,
                    UNCONFIRMED,
                    amazon_ids=[doc.amazon_source_id, doc.idempotency_key],
                    oracle_request_id=exc.request_id,
                    details={"kind": doc.kind.value, "error": str(exc)[:1000], "route": label},
                    at=self._clock(),
                )
        for _ in docs:
            summary.bump("unconfirmed")
        _log.warning("post.unconfirmed", route=label, documents=len(docs), error=str(exc))
        crashpoints.hit(f"post.{label}.unconfirmed")

    def _attempts(self, key: str) -> list[_Attempt]:
        with self._tx() as session:
            events = timeline(
                session, key, connection_id=self._connection_id, follow_bindings=False
            )
            attempts: list[_Attempt] = []
            for event in events:
                if event.action == AuditAction.SENDING:
                    attempts.append(_Attempt(event.at))
                elif not attempts:
                    continue
                elif event.action == SUBMITTED and event.oracle_request_id:
                    attempts[-1].request_ids.append(event.oracle_request_id)
                elif event.action == UNCONFIRMED:
                    attempts[-1].lost_at = event.at
        return attempts

    def _running_request(
        self,
        attempts: list[_Attempt],
        seen: dict[str, bool],
        docs: Sequence[Document] | None = None,
    ) -> Resolution | None:
        """PENDING while any ESS request submitted for the document is still running."""
        for request_id in dict.fromkeys(rid for a in attempts for rid in a.request_ids):
            if request_id not in seen:
                try:
                    self._imports.wait(request_id, max_wait=0)
                    seen[request_id] = False
                except ImportNeedsAttention as waiting:
                    seen[request_id] = True
                    self.needs_attention(docs or [], waiting)
                    return Resolution(Standing.PENDING, reason=waiting.message)
                except ImportStillRunning as running:
                    seen[request_id] = True
                    reason = f"ESS request {request_id} is still {running.state.value}"
                    return Resolution(Standing.PENDING, reason=reason)
                except TransientError as exc:
                    return Resolution(Standing.UNKNOWN, reason=str(exc), error=exc)
                except (RemoteError, ValueError):
                    seen[request_id] = False  # Oracle knows no such request: nothing runs
            if seen[request_id]:
                return Resolution(Standing.PENDING, reason=f"ESS request {request_id} is running")
        return None

    def _resolve(self, doc: Document, *, sent: bool, seen: dict[str, bool]) -> Resolution:
        """Where a document that may already be in Oracle stands (the one path, see above).

        ``sent``: the current attempt may have POSTed (a `sending` row found by recovery);
        otherwise the attempt has just begun and only earlier ones can have reached Oracle.
        ``seen`` caches ESS request states for one pass (a credit-memo file has one request).
        """
        attempts = self._attempts(doc.idempotency_key)
        if doc.kind is not DocumentKind.INVOICE:
            running = self._running_request(attempts, seen, [doc])
            if running is not None:
                return running
            current = attempts[-1] if attempts else None
            if sent and (current is None or not current.request_ids):
                # Submitted (perhaps) with no request id to follow: give the import its time.
                since = (current.lost_at or current.began) if current else doc.updated_at
                until = since + self._settings.import_settle
                if self._clock() < until:
                    return Resolution(
                        Standing.PENDING,
                        reason=f"an unanswered import may still create it; looked up after "
                        f"{until.isoformat(timespec='seconds')}",
                    )
        try:
            found = self._look_up(doc.kind, dict(doc.payload))
        except (RemoteError, ValueError) as exc:
            return Resolution(Standing.UNKNOWN, reason=str(exc), error=exc)
        if found is None:
            return Resolution(Standing.ABSENT)
        return Resolution(Standing.FOUND, found[0], found[1])
