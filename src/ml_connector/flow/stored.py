"""Reading what extract stored, for the stages after it: a settlement's transactions, the
orders a refund or claim waits to reverse, and a document's newest revision.

Raw payloads are Amazon's JSON as fetched, so every read here is defensive: a field of any
shape may come, and a wrong one is skipped rather than raised (the planner's readers say why).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.domain.ids import AmazonOrderId, credit_memo_key, revision_of
from ml_connector.flow.normalize.settlements import is_reversal
from ml_connector.store import RawKind, list_raw_records
from ml_connector.store.tables import Document

__all__ = [
    "current_document",
    "named_identifier",
    "stored_transactions_by_group",
    "transactions_by_group",
    "uncredited_reversals",
]


def transactions_by_group(session: Session, connection_id: int) -> dict[str, list[dict[str, Any]]]:
    """Stored transactions by the settlement (financial event group) they belong to."""
    return {
        group_id: [payload for _, payload in rows]
        for group_id, rows in stored_transactions_by_group(session, connection_id).items()
    }


def stored_transactions_by_group(
    session: Session, connection_id: int
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """(stored id, payload) of each transaction, by the group it belongs to.

    The group a transaction was listed for is the fact; its FINANCIAL_EVENT_GROUP_ID identifier
    (optional in Amazon's model) is used only for records stored before that was kept.
    """
    grouped: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for row in list_raw_records(session, connection_id, RawKind.TRANSACTION):
        group_id = row.parent_amazon_id or _named_group(row.payload)
        if group_id is not None:
            grouped[group_id].append((row.amazon_id, row.payload))
    return grouped


def _named_group(payload: Any) -> str | None:
    return named_identifier(payload, "FINANCIAL_EVENT_GROUP_ID")


def named_identifier(payload: Any, name: str) -> str | None:
    """A related identifier of a raw transaction, read defensively (any shape may come)."""
    identifiers = payload.get("relatedIdentifiers") if isinstance(payload, dict) else None
    if not isinstance(identifiers, list):
        return None
    for ident in identifiers:
        if (
            isinstance(ident, dict)
            and ident.get("relatedIdentifierName") == name
            and isinstance(ident.get("relatedIdentifierValue"), str)
        ):
            return str(ident["relatedIdentifierValue"])
    return None


def uncredited_reversals(session: Session, connection_id: int, keys: set[str]) -> set[str]:
    """Orders with a stored refund, claim or chargeback whose credit memo is not planned yet."""
    orders: set[str] = set()
    for row in list_raw_records(session, connection_id, RawKind.TRANSACTION):
        if not is_reversal(row.payload):
            continue
        order_id = named_identifier(row.payload, "ORDER_ID")
        if order_id and credit_memo_key(AmazonOrderId(order_id), row.amazon_id) not in keys:
            orders.add(order_id)
    return orders


def current_document(session: Session, connection_id: int, base_key: str) -> Document | None:
    """The latest revision of a document (the base, or its newest re-issue after corrections)."""
    prefix = base_key.split(":", 1)[0]
    candidates = session.scalars(
        select(Document).where(
            Document.connection_id == connection_id,
            Document.idempotency_key.startswith(base_key),
            Document.idempotency_key.startswith(f"{prefix}:"),
        )
    )
    best: tuple[int, Document] | None = None
    for doc in candidates:
        revision = revision_of(doc.idempotency_key, base_key)
        if revision is not None and (best is None or revision > best[0]):
            best = (revision, doc)
    return best[1] if best else None
