"""Orders Amazon settled that the order listing did not bring: fetched by their ORDER_ID.

The first sync lists orders updated within ``initial_history_days``, but the settlements it
reads (every group reaching into that history) pay for orders shipped earlier. Without those
orders their invoices are never planned and every such settlement shows "not invoiced" with
nothing in review. So after the finances pull, each ORDER_ID a stored transaction names and the
store lacks is read with `getOrder` (Orders API 2026-01-01, ``GET /orders/2026-01-01/orders/
{orderId}``), through the client of the region that sells on the transaction's marketplace.

An order Amazon no longer returns (outside its two-year history, or unknown: 404) gets a review
item naming the order and the transaction, so the settlement's reconciliation can say why it is
not invoiced; it is asked for again only after ``RETRY_AFTER``. At most ``limit`` orders are
read per cycle, so a first sync of a large seller spreads them over a few cycles.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ml_connector.domain.marketplaces import marketplace
from ml_connector.errors import NotFoundError
from ml_connector.flow.extract.pull import REGION_FAILURES, PullSummary, _store
from ml_connector.remote.amazon.client import SpApiClient
from ml_connector.store import (
    RawKind,
    ReviewKind,
    advance_cursor,
    get_cursor,
    list_raw_records,
    open_review_item,
    resolve_subject,
)

__all__ = ["FETCH_PREFIX", "RETRY_AFTER", "pull_settled_orders", "settled_orders_missing"]

FETCH_PREFIX = "order-fetch:"
"""Cursor per order asked for by id: when, so a missing one is not asked for every cycle."""
RETRY_AFTER = timedelta(hours=24)
DEFAULT_LIMIT = 200


def _identifier(payload: object, name: str) -> str | None:
    identifiers = payload.get("relatedIdentifiers") if isinstance(payload, dict) else None
    for ident in identifiers if isinstance(identifiers, list) else ():
        if not isinstance(ident, dict):  # any shape may come: a null entry is not an id
            continue
        value = ident.get("relatedIdentifierValue")
        if ident.get("relatedIdentifierName") == name and isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _marketplace_of(payload: object) -> str | None:
    details = payload.get("marketplaceDetails") if isinstance(payload, dict) else None
    value = details.get("marketplaceId") if isinstance(details, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def settled_orders_missing(
    session: Session, connection_id: int
) -> dict[str, tuple[str, str | None]]:
    """ORDER_ID → (a transaction naming it, its marketplace id) for stored transactions whose
    order is not stored."""
    stored = {row.amazon_id for row in list_raw_records(session, connection_id, RawKind.ORDER)}
    missing: dict[str, tuple[str, str | None]] = {}
    for row in list_raw_records(session, connection_id, RawKind.TRANSACTION):
        order_id = _identifier(row.payload, "ORDER_ID")
        if order_id and order_id not in stored and order_id not in missing:
            missing[order_id] = (row.amazon_id, _marketplace_of(row.payload))
    return missing


def _client_for(
    marketplace_id: str | None, clients: Mapping[str, SpApiClient]
) -> SpApiClient | None:
    known = marketplace(marketplace_id) if marketplace_id else None
    if known is not None:
        return clients.get(known.region.value)
    return next(iter(clients.values())) if len(clients) == 1 else None


def pull_settled_orders(
    sessions: sessionmaker[Session],
    connection_id: int,
    clients: Mapping[str, SpApiClient],
    *,
    now: datetime,
    summary: PullSummary | None = None,
    limit: int = DEFAULT_LIMIT,
) -> PullSummary:
    """Read, by id, the orders stored transactions name and the store lacks (module doc).

    A region whose client fails (refused credentials, unreachable) is left for the next cycle
    and named in ``summary.region_failures`` only if the order listing did not already name it.
    """
    summary = summary or PullSummary()
    with sessions() as session:
        missing = settled_orders_missing(session, connection_id)
        due = []
        for order_id, (transaction_id, market) in sorted(missing.items()):
            asked = get_cursor(session, connection_id, FETCH_PREFIX + order_id)
            if asked is None or asked + RETRY_AFTER <= now:
                due.append((order_id, transaction_id, market))
    failed_regions: set[int] = set()
    for order_id, transaction_id, market in due[:limit]:
        client = _client_for(market, clients)
        if client is None or id(client) in failed_regions:
            continue
        try:
            record = client.orders.get_order(order_id)
        except NotFoundError:
            with sessions() as session, session.begin():
                advance_cursor(session, connection_id, FETCH_PREFIX + order_id, now, now=now)
                open_review_item(
                    session,
                    connection_id,
                    ReviewKind.INVALID_DATA,
                    order_id,
                    f"Amazon settled order {order_id} (transaction {transaction_id}) but does "
                    "not return the order (older than its order history, or unknown): its "
                    "invoice cannot be made from Amazon's data; book it by hand or dismiss",
                    details={"record": "order", "field": "orderId", "amazon_id": order_id,
                             "transaction_id": transaction_id,
                             "reason": "settled, but getOrder answers 404"},
                )  # fmt: skip
            continue
        except REGION_FAILURES:
            failed_regions.add(id(client))
            continue
        with sessions() as session, session.begin():
            _store(session, connection_id, RawKind.ORDER, order_id, record.raw, summary, now,
                   client.last_request_id)  # fmt: skip
            advance_cursor(session, connection_id, FETCH_PREFIX + order_id, now, now=now)
            resolve_subject(
                session,
                connection_id,
                order_id,
                kind=ReviewKind.INVALID_DATA,
                resolution="Amazon returned the order",
            )
    return summary
