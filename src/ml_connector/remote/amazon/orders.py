"""Orders API 2026-01-01: ``searchOrders`` (items inline, no call per order) and ``getOrder``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ml_connector.remote.amazon.models.base import Record, read_record
from ml_connector.remote.amazon.models.orders import IncludedData, Order
from ml_connector.remote.amazon.params import QueryValue
from ml_connector.remote.http.paginate import follow_tokens

if TYPE_CHECKING:
    from ml_connector.remote.amazon.client import SpApiClient

__all__ = ["DEFAULT_INCLUDED_DATA", "OrdersApi", "OrdersPage"]

SEARCH_PATH = "/orders/2026-01-01/orders"

DEFAULT_INCLUDED_DATA: tuple[IncludedData, ...] = (
    IncludedData.PROCEEDS,
    IncludedData.PROMOTION,
    IncludedData.TAX,
    IncludedData.FULFILLMENT,
    IncludedData.CANCELLATION,
)
"""What the accounting needs; BUYER/RECIPIENT are left out on purpose (personal data)."""


@dataclass(frozen=True)
class OrdersPage:
    """One ``searchOrders`` page; Amazon echoes the effective upper bound it applied."""

    records: list[Record[Order]]
    next_token: str | None
    last_updated_before: str | None
    created_before: str | None
    raw: dict[str, Any]


class OrdersApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    def search_pages(
        self,
        *,
        marketplace_ids: Sequence[str] | None = None,
        last_updated_after: datetime | None = None,
        last_updated_before: datetime | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        fulfillment_statuses: Sequence[str] | None = None,
        fulfilled_by: Sequence[str] | None = None,
        included_data: Sequence[str] = DEFAULT_INCLUDED_DATA,
        max_results_per_page: int = 100,
    ) -> Iterator[OrdersPage]:
        """Every page of a search, to the end; the filters are resent with each token."""
        if (created_after is None) == (last_updated_after is None):
            raise ValueError("give exactly one of created_after or last_updated_after")
        if created_after is not None and (last_updated_before is not None):
            raise ValueError("last_updated_before cannot be combined with created_after")
        if last_updated_after is not None and created_before is not None:
            raise ValueError("created_before cannot be combined with last_updated_after")
        if not 1 <= max_results_per_page <= 100:
            raise ValueError("max_results_per_page must be within 1..100")
        params: dict[str, QueryValue] = {
            "marketplaceIds": list(marketplace_ids) if marketplace_ids else None,
            "lastUpdatedAfter": last_updated_after,
            "lastUpdatedBefore": last_updated_before,
            "createdAfter": created_after,
            "createdBefore": created_before,
            "fulfillmentStatuses": list(fulfillment_statuses) if fulfillment_statuses else None,
            "fulfilledBy": list(fulfilled_by) if fulfilled_by else None,
            "includedData": [str(v) for v in included_data] or None,
            "maxResultsPerPage": max_results_per_page,
        }

        def fetch(token: str | None) -> OrdersPage:
            body = self._client.call(
                "searchOrders", "GET", SEARCH_PATH, params={**params, "paginationToken": token}
            )
            raws: list[dict[str, Any]] = body.get("orders") or []
            pagination = body.get("pagination") or {}
            return OrdersPage(
                records=[read_record(Order, raw) for raw in raws],
                next_token=pagination.get("nextToken"),
                last_updated_before=body.get("lastUpdatedBefore"),
                created_before=body.get("createdBefore"),
                raw=body,
            )

        yield from follow_tokens(fetch, lambda page: page.next_token, operation="searchOrders")

    def search_orders(self, **filters: Any) -> Iterator[Record[Order]]:
        """Every order matching ``filters`` (same keywords as ``search_pages``), page after page."""
        for page in self.search_pages(**filters):
            yield from page.records

    def get_order(
        self, order_id: str, *, included_data: Sequence[str] = DEFAULT_INCLUDED_DATA
    ) -> Record[Order]:
        body = self._client.call(
            "getOrder",
            "GET",
            f"{SEARCH_PATH}/{order_id}",
            params={"includedData": [str(v) for v in included_data] or None},
        )
        # Read like a listed record: a shape the typed view cannot take comes back with its
        # problem, for the connector's own reader to hold, never as an exception that stops a
        # cycle (the Orders model marks few fields required).
        return read_record(Order, body.get("order") if isinstance(body, dict) else body)
