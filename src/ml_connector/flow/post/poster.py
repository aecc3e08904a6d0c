"""The outbox worker: every planned document reaches Oracle exactly once.

The protocol (DESIGN.md §5), one transaction per step of one document:

1. ``planned``/``retry`` → ``sending`` is committed *before* anything is sent;
2. Oracle is asked to create the document — never blindly: the clients look the key up first
   whenever an earlier attempt may have landed;
3. ``posted`` with Oracle's id, the binding and the audit event are committed together.

A crash between 2 and 3 leaves a ``sending`` row. ``recover`` resolves every such row by looking
its key up in Oracle (invoice / credit memo number, journal batch name): found → posted; not
found → ``retry``, unless an import that may still create it is running (then it waits).
Oracle's "no" (validation, conflict) → ``rejected`` plus a review item carrying Oracle's message;
a transient failure → ``retry`` for the next cycle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.errors import (
    AuthError,
    ConflictError,
    RemoteError,
    TransientError,
    ValidationError,
)
from ml_connector.flow.post.codec import load_credit_memo, load_invoice, load_journal
from ml_connector.flow.post.oracle_docs import (
    PostingProfile,
    credit_memo_rows,
    invoice_payload,
    journal_group_id,
    journal_rows,
)
from ml_connector.remote.oracle import (
    AutoInvoiceParameters,
    BulkImports,
    ImportFailed,
    ImportStillRunning,
    JournalImportParameters,
    Receivables,
    autoinvoice_files,
    autoinvoice_request,
    gl_interface_csv,
    journal_import_request,
)
from ml_connector.run import crashpoints
from ml_connector.store import (
    AuditAction,
    DocumentKind,
    DocumentState,
    ReviewKind,
    append_event,
    bind,
    get_document,
    get_document_by_key,
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


class Poster:
    """Posts one connection's outbox to one Oracle pod."""

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

    # -- the pass ---------------------------------------------------------------------------

    def post_all(self, *, progress: Progress | None = None) -> PostSummary:
        summary = PostSummary()
        summary.recovered = self.recover(summary)
        self._post_invoices(summary, progress)
        self._post_credit_memos(summary, progress)
        self._post_journals(summary, progress)
        return summary

    def _ready(self, kind: DocumentKind) -> list[int]:
        with self._tx() as session:
            docs = list_documents(
                session,
                connection_id=self._connection_id,
                states=(DocumentState.PLANNED, DocumentState.RETRY),
                kind=kind,
            )
            return [doc.id for doc in docs]

    # -- state changes, each its own transaction ---------------------------------------------

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
        crashpoints.hit(f"post.{kind.value}.recorded")

    def _failed(self, doc_id: int, exc: Exception, summary: PostSummary) -> None:
        rejected = isinstance(exc, ValidationError | ConflictError)
        message = str(exc)
        with self._tx() as session:
            doc = get_document(session, doc_id)
            assert doc is not None
            target = DocumentState.REJECTED if rejected else DocumentState.RETRY
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
        _log.warning(
            "post.failed", key=doc_id, outcome="rejected" if rejected else "retry", error=message
        )
        if isinstance(exc, AuthError):
            # Every further document would fail the same way: stop the pass, say why once.
            raise exc

    # -- invoices: REST, bounded concurrency ---------------------------------------------------

    def _post_invoices(self, summary: PostSummary, progress: Progress | None) -> None:
        ids = self._ready(DocumentKind.INVOICE)

        def one(doc_id: int) -> None:
            doc = self._begin_send(doc_id)
            if doc is None:
                return
            payload = invoice_payload(load_invoice(doc.payload), self._profile)
            try:
                outcome = self._receivables.create_or_find_invoice(payload)
            except (RemoteError, ValueError) as exc:
                self._failed(doc_id, exc, summary)
                return
            crashpoints.hit("post.invoice.oracle_accepted")
            invoice = outcome.document
            self._posted(
                doc_id,
                str(invoice.CustomerTransactionId),
                invoice.TransactionNumber,
                summary,
                created=outcome.created,
            )
            if progress:
                progress("invoices", 1)

        workers = max(1, self._settings.concurrency)
        if workers == 1 or len(ids) <= 1:
            for doc_id in ids:
                one(doc_id)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="post") as pool:
            list(pool.map(one, ids))

    # -- credit memos: AutoInvoice against the invoice lines ---------------------------------

    def _post_credit_memos(self, summary: PostSummary, progress: Progress | None) -> None:
        ready: list[int] = []
        with self._tx() as session:
            posted_invoices = {
                d.idempotency_key
                for d in list_documents(
                    session,
                    connection_id=self._connection_id,
                    kind=DocumentKind.INVOICE,
                    states=(DocumentState.POSTED,),
                )
            }
            for doc in list_documents(
                session,
                connection_id=self._connection_id,
                kind=DocumentKind.CREDIT_MEMO,
                states=(DocumentState.PLANNED, DocumentState.RETRY),
            ):
                if doc.payload.get("invoice_key") in posted_invoices:
                    ready.append(doc.id)
                else:
                    summary.bump("waiting_on_invoice")
        size = max(1, self._settings.credit_memo_batch)
        for start in range(0, len(ready), size):
            self._credit_memo_batch(ready[start : start + size], summary, progress)

    def _credit_memo_batch(
        self, ids: Sequence[int], summary: PostSummary, progress: Progress | None
    ) -> None:
        sending = [doc for doc in (self._begin_send(i) for i in ids) if doc is not None]
        if not sending:
            return
        pending: list[Document] = []
        for doc in sending:  # a crash before may have created some already
            number = str(doc.payload["transaction_number"])
            try:
                existing = self._receivables.find_invoices(transaction_number=number)
            except RemoteError as exc:
                self._failed(doc.id, exc, summary)
                continue
            if existing:
                found = existing[0]
                self._posted(
                    doc.id, str(found.CustomerTransactionId), number, summary, created=False
                )
            else:
                pending.append(doc)
        if not pending:
            return
        lines, dists = [], []
        with self._tx() as session:
            for doc in pending:
                memo = load_credit_memo(doc.payload)
                invoice_doc = _payload_of(session, memo.invoice_key)
                memo_lines, memo_dists = credit_memo_rows(
                    memo, load_invoice(invoice_doc), self._profile
                )
                lines.extend(memo_lines)
                dists.extend(memo_dists)
        files = autoinvoice_files(lines, dists)
        first = load_credit_memo(pending[0].payload)
        request = autoinvoice_request(
            f"AmazonCreditMemos_{pending[0].id}.zip",
            files,
            AutoInvoiceParameters(
                business_unit=self._profile.business_unit,
                transaction_source=self._profile.invoice_source,
                default_date=first.transaction_date,
            ),
        )
        numbers = [str(doc.payload["transaction_number"]) for doc in pending]
        self._run_import(
            pending,
            summary,
            progress,
            submit=lambda: self._imports.submit(request),
            finish=lambda rid: {
                str(inv.TransactionNumber): str(inv.CustomerTransactionId)
                for inv in self._imports.import_autoinvoice(
                    request, transaction_numbers=numbers, request_id=rid
                ).invoices
            },
            numbers=numbers,
            label="credit_memos",
        )

    # -- journals: one Journal Import per settlement -----------------------------------------

    def _post_journals(self, summary: PostSummary, progress: Progress | None) -> None:
        for doc_id in self._ready(DocumentKind.JOURNAL):
            doc = self._begin_send(doc_id)
            if doc is None:
                continue
            journal = load_journal(doc.payload)
            try:
                existing = self._imports.find_journal_batches(journal.batch_name)
            except RemoteError as exc:
                self._failed(doc.id, exc, summary)
                continue
            if existing:
                batch = existing[0]
                self._posted(
                    doc.id, str(batch.JeBatchId), journal.batch_name, summary, created=False
                )
                continue
            rows = journal_rows(journal, self._profile)
            request = journal_import_request(
                f"AmazonSettlement_{doc.id}.zip",
                gl_interface_csv(rows),
                JournalImportParameters(
                    source=self._profile.journal_source,
                    ledger_id=self._profile.ledger_id,
                    group_id=journal_group_id(journal),
                ),
            )
            self._run_import(
                [doc],
                summary,
                progress,
                submit=lambda request=request: self._imports.submit(request),  # type: ignore[misc]
                finish=lambda rid, request=request, name=journal.batch_name: {  # type: ignore[misc]
                    name: str(
                        self._imports.import_journals(request, batch_name=name, request_id=rid)
                        .batches[0]
                        .JeBatchId
                    )
                },
                numbers=[journal.batch_name],
                label="journals",
            )

    # -- shared import protocol -------------------------------------------------------------

    def _run_import(
        self,
        docs: Sequence[Document],
        summary: PostSummary,
        progress: Progress | None,
        *,
        submit: Callable[[], str],
        finish: Callable[[str], dict[str, str]],
        numbers: Sequence[str],
        label: str,
    ) -> None:
        try:
            request_id = submit()
        except RemoteError as exc:
            for doc in docs:
                self._failed(doc.id, exc, summary)
            return
        crashpoints.hit(f"post.{label}.submitted")
        with self._tx() as session:
            append_event(
                session,
                self._connection_id,
                SUBMITTED,
                amazon_ids=[key for doc in docs for key in (doc.idempotency_key,)],
                oracle_request_id=request_id,
                details={"import": label, "documents": len(docs)},
                at=self._clock(),
            )
        try:
            created = finish(request_id)
        except ImportStillRunning:
            _log.info("post.import.still_running", request_id=request_id, label=label)
            return  # stays `sending`; recovery resumes waiting on the same request id
        except ImportFailed as exc:
            # Oracle imports row by row: some documents of the file may exist all the same.
            for doc in docs:
                self._settle_after_failed_import(doc, exc, summary)
            return
        except RemoteError as exc:
            if isinstance(exc, TransientError):
                return  # leave `sending`: recovery looks the documents up
            for doc in docs:
                self._failed(doc.id, exc, summary)
            return
        crashpoints.hit(f"post.{label}.oracle_accepted")
        for doc, number in zip(docs, numbers, strict=True):
            oracle_id = created.get(number)
            if oracle_id is None:
                self._failed(doc.id, ValidationError(f"Oracle did not create {number}"), summary)
                continue
            self._posted(doc.id, oracle_id, number, summary, created=True, request_id=request_id)
            if progress:
                progress(label, 1)

    def _settle_after_failed_import(
        self, doc: Document, exc: ImportFailed, summary: PostSummary
    ) -> None:
        try:
            found = self._look_up(doc.kind, dict(doc.payload))
        except RemoteError:
            found = None
        if found is None:
            self._failed(doc.id, exc, summary)
            return
        oracle_id, number = found
        self._posted(doc.id, oracle_id, number, summary, created=True)

    # -- recovery ------------------------------------------------------------------------------

    def recover(self, summary: PostSummary | None = None) -> int:
        """Resolve every `sending` row left by a crash, by asking Oracle; returns how many."""
        summary = summary or PostSummary()
        with self._tx() as session:
            stuck = [
                (doc.id, doc.kind, doc.idempotency_key, dict(doc.payload), doc.updated_at)
                for doc in list_documents(
                    session, connection_id=self._connection_id, states=(DocumentState.SENDING,)
                )
            ]
        resolved = 0
        for doc_id, kind, key, payload, updated in stuck:
            try:
                found = self._look_up(kind, payload)
            except RemoteError as exc:
                _log.warning("post.recover.lookup_failed", key=key, error=str(exc))
                continue
            if found is not None:
                oracle_id, number = found
                self._posted(doc_id, oracle_id, number, summary, created=False)
                resolved += 1
                continue
            if kind is not DocumentKind.INVOICE and self._import_may_still_land(key, updated):
                continue
            with self._tx() as session:
                doc = get_document(session, doc_id)
                if doc is not None and doc.state is DocumentState.SENDING:
                    transition(
                        session,
                        doc,
                        DocumentState.RETRY,
                        error="interrupted before Oracle confirmed; not found in Oracle",
                        now=self._clock(),
                    )
            resolved += 1
        return resolved

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


def _payload_of(session: Session, key: str) -> dict[str, object]:
    doc = get_document_by_key(session, key)
    if doc is None:
        raise LookupError(f"no planned invoice {key}")
    return dict(doc.payload)
