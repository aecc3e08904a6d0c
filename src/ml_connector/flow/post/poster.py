"""The outbox worker: every planned document reaches Oracle exactly once.

The protocol (DESIGN.md §5), one transaction per step of one document (``outbox.py``):

1. ``planned``/``retry`` → ``sending`` is committed *before* anything is sent;
2. Oracle is asked to create the document — never blindly: the clients look the key up first
   whenever an earlier attempt may have landed;
3. ``posted`` with Oracle's id, the binding and the audit event are committed together.

Invoices go through REST with bounded concurrency; credit memos and journals through FBDI
imports (``bulk.py``). A crash between 2 and 3 leaves a ``sending`` row: ``recover`` resolves
every such row by looking its key up in Oracle (invoice / credit memo number, journal batch
name): found → posted; not found → ``retry``, unless an import that may still create it is
running (then it waits).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import structlog

from ml_connector.errors import AuthError, RemoteError
from ml_connector.flow.post.bulk import BulkPosting
from ml_connector.flow.post.codec import load_invoice
from ml_connector.flow.post.oracle_docs import invoice_payload
from ml_connector.flow.post.outbox import PosterSettings, PostSummary, Progress
from ml_connector.run import crashpoints
from ml_connector.store import DocumentKind, DocumentState, get_document, list_documents, transition

__all__ = ["PostSummary", "Poster", "PosterSettings"]

_log = structlog.get_logger(__name__)


class Poster(BulkPosting):
    """Posts one connection's outbox to one Oracle pod."""

    def post_all(self, *, progress: Progress | None = None) -> PostSummary:
        summary = PostSummary()
        summary.recovered = self.recover(summary)
        self._post_invoices(summary, progress)
        self._post_credit_memos(summary, progress)
        self._post_journals(summary, progress)
        return summary

    def _post_invoices(self, summary: PostSummary, progress: Progress | None) -> None:
        ids = self._ready(DocumentKind.INVOICE)
        # Set when Oracle refuses our credentials: the documents not yet started stay planned
        # instead of each trying (and failing) again.
        refused = threading.Event()

        def one(doc_id: int) -> None:
            if refused.is_set():
                return
            doc = self._begin_send(doc_id)
            if doc is None:
                return
            payload = invoice_payload(load_invoice(doc.payload), self._profile)
            try:
                outcome = self._receivables.create_or_find_invoice(payload)
            except (RemoteError, ValueError) as exc:
                if isinstance(exc, AuthError):
                    refused.set()
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
                request_id=self._receivables.client.last_request_id,
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
