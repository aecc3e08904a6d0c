"""Receivables invoices and on-account credit memos over REST, created at most once.

`create_or_find_*` is the only way the flow creates a document: a POST that timed out, lost its
connection or met a 5xx may well have been committed, so before sending again we look the key
(TransactionNumber, else CrossReference — both carry the Amazon id) up, and only create when
Oracle holds nothing under it. A rejection is also checked against the key, because the usual
reason for "number already used" is our own earlier attempt.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from pydantic import BaseModel

from ml_connector.errors import ConflictError, RemoteError, TransientError, ValidationError
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.oracle.client import FusionClient
from ml_connector.remote.oracle.payloads import (
    CreditMemo,
    CreditMemoCreate,
    Invoice,
    InvoiceCreate,
)

__all__ = ["CreateOutcome", "Receivables", "lookup_literal"]

INVOICES = "receivablesInvoices"
CREDIT_MEMOS = "receivablesCreditMemos"
# Keys go into finder and q expressions; quotes, commas, semicolons or spaces would change the
# expression, so anything beyond an id-like shape is refused before a request is built.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,149}")
_log = structlog.get_logger(__name__)

D = TypeVar("D", Invoice, CreditMemo)


def lookup_literal(value: str) -> str:
    if not _KEY_SHAPE.fullmatch(value):
        raise ValueError(f"look-up key {value!r} is not an id-like value")
    return value


@dataclass(frozen=True, slots=True)
class CreateOutcome(Generic[D]):
    """The document Oracle holds for our key, and whether this call created it."""

    document: D
    created: bool


class Receivables:
    """Invoices and credit memos of one pod."""

    def __init__(
        self,
        client: FusionClient,
        *,
        create_attempts: int = 3,
        backoff: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self.client = client  # callers read its last_request_id for their audit trail
        self._attempts = create_attempts
        self._backoff = backoff or RetryPolicy()
        self._sleep = sleep

    # -- invoices -----------------------------------------------------------------------------

    def create_invoice(self, invoice: InvoiceCreate) -> Invoice:
        """One deep POST (lines, distributions, DFFs together); never retried here."""
        body = self._client.post(INVOICES, invoice.wire(), operation="receivablesInvoices.create")
        return Invoice.model_validate(body)

    def get_invoice(self, customer_transaction_id: str) -> Invoice:
        body = self._client.get(
            f"{INVOICES}/{lookup_literal(customer_transaction_id)}",
            operation="receivablesInvoices.get",
        )
        return Invoice.model_validate(body)

    def find_invoices(
        self, *, transaction_number: str | None = None, cross_reference: str | None = None
    ) -> list[Invoice]:
        """By number through the `invoiceSearch` finder, by cross reference through `q`."""
        params: dict[str, str]
        if transaction_number is not None:
            params = {
                "finder": f"invoiceSearch;TransactionNumber={lookup_literal(transaction_number)}"
            }
        elif cross_reference is not None:
            params = {"q": f"CrossReference='{lookup_literal(cross_reference)}'"}
        else:
            raise ValueError("give a transaction number or a cross reference")
        items = self._client.iter_items(INVOICES, params, operation="receivablesInvoices.find")
        found = [Invoice.model_validate(item) for item in items]
        # Filter again on our side: a pod that ignores an unknown finder variable would
        # otherwise hand back unrelated invoices.
        return [
            inv
            for inv in found
            if (transaction_number is None or inv.TransactionNumber == transaction_number)
            and (cross_reference is None or inv.CrossReference == cross_reference)
        ]

    def find_invoice(self, invoice: InvoiceCreate) -> Invoice | None:
        """The invoice Oracle holds under this payload's key, if any."""
        field, value = invoice.lookup_key
        if field == "TransactionNumber":
            matches = self.find_invoices(transaction_number=value)
            matches = [
                m for m in matches if m.TransactionSource in (None, invoice.TransactionSource)
            ]
        else:
            matches = self.find_invoices(cross_reference=value)
        return self._single(matches, field, value, invoice.CrossReference)

    def create_or_find_invoice(self, invoice: InvoiceCreate) -> CreateOutcome[Invoice]:
        return self._create_or_find(invoice, self.create_invoice, self.find_invoice)

    # -- credit memos ---------------------------------------------------------------------------

    def create_credit_memo(self, memo: CreditMemoCreate) -> CreditMemo:
        """An on-account credit memo; REST cannot tie it to an invoice (use AutoInvoice)."""
        body = self._client.post(
            CREDIT_MEMOS, memo.wire(), operation="receivablesCreditMemos.create"
        )
        return CreditMemo.model_validate(body)

    def find_credit_memos(
        self, *, transaction_number: str | None = None, cross_reference: str | None = None
    ) -> list[CreditMemo]:
        if transaction_number is not None:
            params = {"q": f"TransactionNumber='{lookup_literal(transaction_number)}'"}
        elif cross_reference is not None:
            params = {"q": f"CrossReference='{lookup_literal(cross_reference)}'"}
        else:
            raise ValueError("give a transaction number or a cross reference")
        items = self._client.iter_items(
            CREDIT_MEMOS, params, operation="receivablesCreditMemos.find"
        )
        found = [CreditMemo.model_validate(item) for item in items]
        return [
            memo
            for memo in found
            if (transaction_number is None or memo.TransactionNumber == transaction_number)
            and (cross_reference is None or memo.CrossReference == cross_reference)
        ]

    def find_credit_memo(self, memo: CreditMemoCreate) -> CreditMemo | None:
        field, value = memo.lookup_key
        if field == "TransactionNumber":
            matches = self.find_credit_memos(transaction_number=value)
        else:
            matches = self.find_credit_memos(cross_reference=value)
        return self._single(matches, field, value, memo.CrossReference)

    def create_or_find_credit_memo(self, memo: CreditMemoCreate) -> CreateOutcome[CreditMemo]:
        return self._create_or_find(memo, self.create_credit_memo, self.find_credit_memo)

    # -- the at-most-once loop ------------------------------------------------------------------

    @staticmethod
    def _single(matches: list[D], field: str, value: str, cross_reference: str | None) -> D | None:
        if not matches:
            return None
        if len(matches) > 1:
            raise ConflictError(f"{len(matches)} documents in Oracle carry {field} {value}")
        found = matches[0]
        if cross_reference and found.CrossReference not in (None, cross_reference):
            raise ConflictError(
                f"{field} {value} belongs to a document with CrossReference "
                f"{found.CrossReference}, not {cross_reference}"
            )
        return found

    def _create_or_find(
        self,
        payload: BaseModel,
        create: Callable[[Any], D],
        find: Callable[[Any], D | None],
    ) -> CreateOutcome[D]:
        key = getattr(payload, "lookup_key")  # noqa: B009 - both payload types define it
        last: RemoteError | None = None
        for attempt in range(1, self._attempts + 1):
            if attempt > 1:
                existing = find(payload)
                if existing is not None:
                    _log.info("oracle.create_or_find", key=key[1], outcome="found", attempt=attempt)
                    return CreateOutcome(existing, created=False)
                self._sleep(self._backoff.backoff(attempt - 1))
            try:
                document = create(payload)
            except (ValidationError, ConflictError) as rejected:
                existing = find(payload)
                if existing is not None:
                    _log.info("oracle.create_or_find", key=key[1], outcome="found_after_reject")
                    return CreateOutcome(existing, created=False)
                raise rejected from None
            except TransientError as unknown:
                _log.warning(
                    "oracle.create_or_find",
                    key=key[1],
                    outcome="unknown",
                    error=type(unknown).__name__,
                    attempt=attempt,
                )
                last = unknown
                continue
            _log.info("oracle.create_or_find", key=key[1], outcome="created", attempt=attempt)
            return CreateOutcome(document, created=True)
        existing = find(payload)
        if existing is not None:
            return CreateOutcome(existing, created=False)
        assert last is not None
        raise last
