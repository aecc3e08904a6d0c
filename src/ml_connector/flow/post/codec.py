"""Planned documents as JSON for the outbox, and back, without losing a cent or a segment.

The outbox stores what accounting planned so that posting, recovery after a crash and replay's
diff all work from the same bytes. pydantic's adapters read the frozen dataclasses directly, so
there is one definition of each document (in ``domain``) and no hand-written mapping to drift.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ml_connector.domain.documents import CreditMemoDoc, InvoiceDoc, JournalDoc

PlannedDoc = InvoiceDoc | CreditMemoDoc | JournalDoc

_INVOICE = TypeAdapter(InvoiceDoc)
_CREDIT_MEMO = TypeAdapter(CreditMemoDoc)
_JOURNAL = TypeAdapter(JournalDoc)


def dump_doc(doc: PlannedDoc) -> dict[str, Any]:
    """JSON-ready dict (Decimals as strings, dates ISO) of any planned document."""
    if isinstance(doc, InvoiceDoc):
        return dict(_INVOICE.dump_python(doc, mode="json"))
    if isinstance(doc, CreditMemoDoc):
        return dict(_CREDIT_MEMO.dump_python(doc, mode="json"))
    return dict(_JOURNAL.dump_python(doc, mode="json"))


def load_invoice(data: dict[str, Any]) -> InvoiceDoc:
    return _INVOICE.validate_python(data)


def load_credit_memo(data: dict[str, Any]) -> CreditMemoDoc:
    return _CREDIT_MEMO.validate_python(data)


def load_journal(data: dict[str, Any]) -> JournalDoc:
    return _JOURNAL.validate_python(data)
