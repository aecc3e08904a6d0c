"""The FBDI path: credit memos through AutoInvoice, settlement journals through Journal Import.

An import is submitted once; its ESS request id is recorded in the audit trail right away, so a
crash while Oracle works is resumed by waiting on the same request instead of importing twice.
A submission whose answer was lost leaves its documents "may have landed" (``outbox.py``).
Every document goes through ``_resolve`` (an earlier request still running → wait; found by
its number in receivablesCreditMemos or its batch name in journalBatches → posted) before a
file is built for it. Once the circuit breaker is open no further file is submitted; the
documents not sent go back to ``retry``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog
from sqlalchemy.orm import Session

from ml_connector.errors import RemoteError, TransientError, ValidationError
from ml_connector.flow.post.codec import load_credit_memo, load_invoice, load_journal
from ml_connector.flow.post.oracle_docs import (
    credit_memo_rows,
    journal_group_id,
    journal_rows,
)
from ml_connector.flow.post.outbox import (
    IMPORTS,
    SUBMITTED,
    OutboxSteps,
    PostSummary,
    Progress,
    Standing,
)
from ml_connector.remote.oracle import (
    AutoInvoiceParameters,
    ImportFailed,
    ImportNeedsAttention,
    ImportStillRunning,
    JournalImportParameters,
    autoinvoice_files,
    autoinvoice_request,
    gl_interface_csv,
    journal_import_request,
)
from ml_connector.run import crashpoints
from ml_connector.store import (
    DocumentKind,
    DocumentState,
    append_event,
    get_document_by_key,
    list_documents,
)
from ml_connector.store.tables import Document

_log = structlog.get_logger(__name__)


class BulkPosting(OutboxSteps):
    """Posting through FBDI imports, on top of the outbox steps."""

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
            if self._breaker.is_open(IMPORTS):
                return  # the rest stay as they are, for the next cycle
            self._credit_memo_batch(ready[start : start + size], summary, progress)

    def _credit_memo_batch(
        self, ids: Sequence[int], summary: PostSummary, progress: Progress | None
    ) -> None:
        if not self._authorized(IMPORTS):
            return  # no token: nothing begun, the documents keep their state
        sending = [doc for doc in (self._begin_send(i) for i in ids) if doc is not None]
        if not sending:
            return
        pending = self._absent(sending, summary)
        if not pending:
            return
        if self._breaker.is_open(IMPORTS):
            for doc in pending:
                self._not_sent(doc, summary)
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

    def _post_journals(self, summary: PostSummary, progress: Progress | None) -> None:
        for doc_id in self._ready(DocumentKind.JOURNAL):
            if self._breaker.is_open(IMPORTS) or not self._authorized(IMPORTS):
                return  # the rest stay as they are, for the next cycle
            doc = self._begin_send(doc_id)
            if doc is None:
                continue
            if not self._absent([doc], summary):
                continue
            journal = load_journal(doc.payload)
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
            self._breaker.failed(exc, IMPORTS)
            self._send_failed(docs, exc, summary, label=label, starts_a_job=True)
            return
        self._breaker.answered(IMPORTS)
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
        except ImportNeedsAttention as waiting:
            _log.warning("post.import.needs_attention", request_id=request_id, label=label)
            self.needs_attention(docs, waiting)
            return  # stays `sending` on this request: never submitted again
        except ImportStillRunning:
            _log.info("post.import.still_running", request_id=request_id, label=label)
            return  # stays `sending`; recovery resumes waiting on the same request id
        except ImportFailed as exc:
            # Oracle imports row by row: some documents of the file may exist all the same.
            for doc in docs:
                self._settle_after_failed_import(doc, exc, summary)
            return
        except RemoteError as exc:
            self._breaker.failed(exc, IMPORTS)
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

    def _absent(self, docs: Sequence[Document], summary: PostSummary) -> list[Document]:
        """The documents Oracle proves it does not hold (an earlier attempt or a crash may have
        created some); the found ones are recorded as posted, the undecided ones wait."""
        absent: list[Document] = []
        seen: dict[str, bool] = {}
        for doc in docs:
            if self._breaker.is_open(IMPORTS):
                self._not_sent(doc, summary)
                continue
            verdict = self._resolve(doc, sent=False, seen=seen)
            if verdict.standing is Standing.UNKNOWN and verdict.error is not None:
                self._breaker.failed(verdict.error, IMPORTS)
            else:
                self._breaker.answered(IMPORTS)
            if verdict.standing is Standing.ABSENT:
                absent.append(doc)
            elif verdict.standing is Standing.FOUND:
                assert verdict.oracle_id is not None
                self._posted(doc.id, verdict.oracle_id, verdict.number, summary, created=False)
            elif verdict.standing is Standing.PENDING:
                # Stays `sending`: recovery takes it up once the earlier request has finished.
                summary.bump("waiting_on_import")
            else:
                error = verdict.error or RemoteError(verdict.reason or "look-up failed")
                self._failed(doc.id, error, summary)
        return absent

    def _settle_after_failed_import(
        self, doc: Document, exc: ImportFailed, summary: PostSummary
    ) -> None:
        try:
            found = self._look_up(doc.kind, dict(doc.payload))
        except RemoteError:
            found = None
        if found is None:
            # Quote this document's own rejected rows, not the whole file's.
            number = str(doc.payload.get("batch_name") or doc.payload.get("transaction_number"))
            self._failed(doc.id, exc.for_document(number), summary)
            return
        oracle_id, number = found
        self._posted(doc.id, oracle_id, number, summary, created=True)


def _payload_of(session: Session, key: str) -> dict[str, object]:
    doc = get_document_by_key(session, key)
    if doc is None:
        raise LookupError(f"no planned invoice {key}")
    return dict(doc.payload)
