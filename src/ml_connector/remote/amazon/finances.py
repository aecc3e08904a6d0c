"""Finances: v0 event groups (settlements) and event lists, 2024-06-19 transactions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ml_connector.remote.amazon.models.base import Record, read_record
from ml_connector.remote.amazon.models.finances import (
    FinancialEventGroup,
    FinancialEventsPage,
    Transaction,
)
from ml_connector.remote.amazon.params import QueryValue
from ml_connector.remote.http.paginate import follow_tokens

if TYPE_CHECKING:
    from ml_connector.remote.amazon.client import SpApiClient

__all__ = ["FinancesApi"]

V0 = "/finances/v0"
TRANSACTIONS_PATH = "/finances/2024-06-19/transactions"


class FinancesApi:
    def __init__(self, client: SpApiClient) -> None:
        self._client = client

    def _v0_pages(
        self, operation: str, path: str, params: dict[str, QueryValue]
    ) -> Iterator[dict[str, Any]]:
        def fetch(token: str | None) -> dict[str, Any]:
            body = self._client.call(operation, "GET", path, params={**params, "NextToken": token})
            payload: dict[str, Any] = body.get("payload") or {}
            return payload

        yield from follow_tokens(fetch, lambda p: p.get("NextToken"), operation=operation)

    def list_financial_event_groups(
        self,
        *,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        max_results_per_page: int = 100,
    ) -> Iterator[Record[FinancialEventGroup]]:
        """Settlements opened in the window (Amazon returns nothing if it spans > 180 days)."""
        params: dict[str, QueryValue] = {
            "MaxResultsPerPage": max_results_per_page,
            "FinancialEventGroupStartedAfter": started_after,
            "FinancialEventGroupStartedBefore": started_before,
        }
        pages = self._v0_pages("listFinancialEventGroups", f"{V0}/financialEventGroups", params)
        for payload in pages:
            for raw in payload.get("FinancialEventGroupList") or []:
                yield read_record(FinancialEventGroup, raw)

    def _event_pages(
        self, operation: str, path: str, params: dict[str, QueryValue]
    ) -> Iterator[Record[FinancialEventsPage]]:
        for payload in self._v0_pages(operation, path, params):
            yield Record(FinancialEventsPage.model_validate(payload), payload)

    def list_financial_events_by_group_id(
        self,
        group_id: str,
        *,
        posted_after: datetime | None = None,
        posted_before: datetime | None = None,
        max_results_per_page: int = 100,
    ) -> Iterator[Record[FinancialEventsPage]]:
        """v0 events of one settlement, a page at a time (fallback when v2024 is unavailable)."""
        params: dict[str, QueryValue] = {
            "MaxResultsPerPage": max_results_per_page,
            "PostedAfter": posted_after,
            "PostedBefore": posted_before,
        }
        path = f"{V0}/financialEventGroups/{group_id}/financialEvents"
        return self._event_pages("listFinancialEventsByGroupId", path, params)

    def list_financial_events_by_order_id(
        self, order_id: str, *, max_results_per_page: int = 100
    ) -> Iterator[Record[FinancialEventsPage]]:
        path = f"{V0}/orders/{order_id}/financialEvents"
        params: dict[str, QueryValue] = {"MaxResultsPerPage": max_results_per_page}
        return self._event_pages("listFinancialEventsByOrderId", path, params)

    def list_financial_events(
        self,
        *,
        posted_after: datetime | None = None,
        posted_before: datetime | None = None,
        max_results_per_page: int = 100,
    ) -> Iterator[Record[FinancialEventsPage]]:
        params: dict[str, QueryValue] = {
            "MaxResultsPerPage": max_results_per_page,
            "PostedAfter": posted_after,
            "PostedBefore": posted_before,
        }
        return self._event_pages("listFinancialEvents", f"{V0}/financialEvents", params)

    def list_transactions(
        self,
        *,
        posted_after: datetime | None = None,
        posted_before: datetime | None = None,
        marketplace_id: str | None = None,
        transaction_status: str | None = None,
        group_id: str | None = None,
        order_id: str | None = None,
    ) -> Iterator[Record[Transaction]]:
        """v2024 transactions by posted window, or by settlement group, or by order."""
        if group_id and order_id:
            raise ValueError("filter by group_id or by order_id, not both")
        related_name = "FINANCIAL_EVENT_GROUP_ID" if group_id else "ORDER_ID" if order_id else None
        if related_name is None and posted_after is None:
            raise ValueError("posted_after is required unless group_id or order_id is given")
        params: dict[str, QueryValue] = {
            "postedAfter": posted_after,
            "postedBefore": posted_before,
            "marketplaceId": marketplace_id,
            "transactionStatus": transaction_status,
            "relatedIdentifierName": related_name,
            "relatedIdentifierValue": group_id or order_id,
        }

        def fetch(token: str | None) -> dict[str, Any]:
            body = self._client.call(
                "listTransactions", "GET", TRANSACTIONS_PATH, params={**params, "nextToken": token}
            )
            payload: dict[str, Any] = body.get("payload") or {}
            return payload

        for payload in follow_tokens(
            fetch, lambda p: p.get("nextToken"), operation="listTransactions"
        ):
            for raw in payload.get("transactions") or []:
                yield read_record(Transaction, raw)
