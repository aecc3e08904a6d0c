"""The outbox worker: every planned document reaches Oracle exactly once.

The protocol (DESIGN.md §5), one transaction per step of one document (``outbox.py``):

1. ``planned``/``retry`` → ``sending`` is committed *before* anything is sent;
2. Oracle is asked to create the document — never blindly: the clients look the key up first
   whenever an earlier attempt may have landed;
3. ``posted`` with Oracle's id, the binding and the audit event are committed together.

Invoices go through REST with bounded concurrency; credit memos and journals through FBDI
imports (``bulk.py``). A crash between 2 and 3, or a POST whose answer was lost, leaves a
``sending`` row: ``recover`` settles every such row through ``_resolve`` (``outbox.py``): while
an import that may create it can still be running it waits; then its key is looked up in Oracle
(invoice / credit memo number, journal batch name): found → posted; proven absent → ``retry``,
sent again in the same pass.

A circuit breaker (``breaker.py``) ends the pass once Oracle stops answering: the documents not
started keep their state, and the summary says how many wait and why, in one line.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import structlog

from ml_connector.errors import RemoteError
from ml_connector.flow.post.bulk import BulkPosting
from ml_connector.flow.post.codec import load_invoice
from ml_connector.flow.post.oracle_docs import invoice_payload
from ml_connector.flow.post.outbox import (
    INVOICES,
    PosterSettings,
    PostSummary,
    Progress,
    Standing,
    route_of,
)
from ml_connector.remote.http.retry import retry_budget
from ml_connector.run import crashpoints
from ml_connector.store import DocumentKind, DocumentState, get_document, list_documents, transition

FIND_INVOICE = "receivablesInvoices.find"

__all__ = ["PostSummary", "Poster", "PosterSettings"]

_log = structlog.get_logger(__name__)


class Poster(BulkPosting):
    """Posts one connection's outbox to one Oracle pod."""

    def post_all(self, *, progress: Progress | None = None) -> PostSummary:
        """One pass: recovery, invoices, credit memos, journals. Stops early, leaving the rest
        for the next cycle, when the circuit breaker opens (``breaker.py``): then
        ``left_for_next_cycle`` and ``oracle_unreachable`` say how many wait and why."""
        summary = PostSummary()
        self._breaker = self._new_breaker()
        with retry_budget(self._breaker):
            summary.recovered = self.recover(summary)
            self._post_invoices(summary, progress)
            self._post_credit_memos(summary, progress)
            self._post_journals(summary, progress)
        self._close_pass(summary)
        return summary

    def _post_invoices(self, summary: PostSummary, progress: Progress | None) -> None:
        if self._breaker.is_open(INVOICES):
            return
        ids = self._ready(DocumentKind.INVOICE)
        breaker = self._breaker

        def one(doc_id: int) -> None:
            # Once the breaker is open the documents not yet started stay as they are.
            if breaker.is_open(INVOICES):
                return
            with retry_budget(breaker):  # pool threads do not inherit the caller's
                if not self._authorized(INVOICES):
                    return  # no token: nothing begun, the document keeps its state
            doc = self._begin_send(doc_id)
            if doc is None:
                return
            payload = invoice_payload(load_invoice(doc.payload), self._profile)
            try:
                with retry_budget(breaker):
                    outcome = self._receivables.create_or_find_invoice(payload)
            except (RemoteError, ValueError) as exc:
                if isinstance(exc, RemoteError):
                    breaker.failed(exc, INVOICES)
                if isinstance(exc, RemoteError) and exc.operation == FIND_INVOICE:
                    # The look-up after an unanswered POST failed: nobody knows yet.
                    self._unconfirmed([doc], exc, summary, label="invoice")
                    return
                self._send_failed([doc], exc, summary, label="invoice", starts_a_job=False)
                return
            breaker.answered(INVOICES)
            crashpoints.hit("post.invoice.oracle_accepted")
            invoice = outcome.document
            self._posted(
                doc_id,
                str(invoice.CustomerTransactionId),
                invoice.TransactionNumber,
                summary,
                created=outcome.created,
                request_id=self._receivables.client.last_request_id,
            )
            if progress:
                progress("invoices", 1)

        workers = max(1, self._settings.concurrency)
        if workers == 1 or len(ids) <= 1:
            for doc_id in ids:
                one(doc_id)
            return
        # The first invoice goes alone: it fetches the token the workers then share. Against an
        # Oracle that does not answer, the workers would otherwise each wait their turn for the
        # token lock and each time out again, minutes before the breaker could stop them.
        one(ids[0])
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="post") as pool:
            list(pool.map(one, ids[1:]))

    def recover(self, summary: PostSummary | None = None) -> int:
        """Settle every `sending` row a crash or a lost answer left; returns how many."""
        summary = summary or PostSummary()
        with self._tx() as session:
            stuck = list_documents(
                session, connection_id=self._connection_id, states=(DocumentState.SENDING,)
            )
            session.expunge_all()
        resolved = 0
        seen: dict[str, bool] = {}
        for doc in stuck:
            route = route_of(doc.kind)
            if self._breaker.is_open(route):
                continue  # stays `sending`: looked up by the next cycle
            verdict = self._resolve(doc, sent=True, seen=seen)
            if verdict.standing is Standing.UNKNOWN and verdict.error is not None:
                self._breaker.failed(verdict.error, route)
            else:
                self._breaker.answered(route)
            if verdict.standing is Standing.FOUND:
                assert verdict.oracle_id is not None
                self._posted(doc.id, verdict.oracle_id, verdict.number, summary, created=False)
            elif verdict.standing is Standing.ABSENT:
                self._absent_after_all(doc.id)
            else:
                if verdict.standing is Standing.PENDING:
                    summary.bump("waiting_on_import")
                _log.info(
                    "post.recover.waiting",
                    key=doc.idempotency_key,
                    standing=verdict.standing.value,
                    reason=verdict.reason,
                )
                continue
            resolved += 1
        return resolved

    def _absent_after_all(self, doc_id: int) -> None:
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
