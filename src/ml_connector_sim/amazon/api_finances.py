"""Finances v0 (groups, events by group) and Finances 2024-06-19 `listTransactions`."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ml_connector_sim.amazon.context import (
    IndexedTransaction,
    SimContext,
    rate_limit_headers,
    request_region,
    sim_context,
)
from ml_connector_sim.amazon.v0_events import financial_events
from ml_connector_sim.amazon.wire import int_param, invalid_input, json_response, parse_time

router = APIRouter()

TWO_MINUTES = timedelta(minutes=2)
MAX_SPAN = timedelta(days=180)
_FILTERABLE = ("FINANCIAL_EVENT_GROUP_ID", "ORDER_ID")
_STATUSES = ("DEFERRED", "RELEASED", "DEFERRED_RELEASED")


def _token(query: dict[str, Any], offset: int) -> str:
    raw = json.dumps({"q": query, "o": offset}, sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _resume(token: str | None, query: dict[str, Any], name: str) -> tuple[dict[str, Any], int]:
    """A token carries the query it came from; the caller resends the same arguments with it."""
    if not token:
        return query, 0
    try:
        data = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()))
        return dict(data["q"]), int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise invalid_input(f"Invalid {name}.") from None


def _window(
    now: datetime, after_name: str, after_raw: str | None, before_name: str, before_raw: str | None
) -> tuple[datetime | None, datetime, bool]:
    """Parse an after/before pair; the flag says whether the pair is more than 180 days apart."""
    after = parse_time(after_name, after_raw) if after_raw else None
    before = parse_time(before_name, before_raw) if before_raw else now - TWO_MINUTES
    if after is not None and after > now - TWO_MINUTES:
        raise invalid_input(f"{after_name} must be more than two minutes before the request time.")
    if before_raw and before > now - TWO_MINUTES:
        raise invalid_input(f"{before_name} must be more than two minutes before the request time.")
    if before_raw and after is None:
        raise invalid_input(f"{after_name} is required when {before_name} is provided.")
    if after is not None and before <= after:
        raise invalid_input(f"{before_name} must be later than {after_name}.")
    too_wide = after is not None and before - after > MAX_SPAN
    return after, before, too_wide


@router.get("/finances/v0/financialEventGroups")
async def list_financial_event_groups(request: Request) -> Response:
    context = sim_context(request)
    context.authorize(request, "listFinancialEventGroups")
    params = request.query_params
    query, offset = _resume(
        params.get("NextToken"),
        {
            "after": params.get("FinancialEventGroupStartedAfter"),
            "before": params.get("FinancialEventGroupStartedBefore"),
            "size": params.get("MaxResultsPerPage"),
        },
        "NextToken",
    )
    size = int_param("MaxResultsPerPage", query["size"], 10, 1, 100)
    after, before, too_wide = _window(
        context.now(),
        "FinancialEventGroupStartedAfter",
        query["after"],
        "FinancialEventGroupStartedBefore",
        query["before"],
    )
    region = request_region(request)
    groups = [
        g.group
        for g in context.groups
        if not too_wide
        and (region is None or g.region == region)
        and (after is None or g.start >= after)
        and g.start < before
    ]
    payload: dict[str, Any] = {"FinancialEventGroupList": groups[offset : offset + size]}
    if offset + size < len(groups):
        payload["NextToken"] = _token(query, offset + size)
    return json_response({"payload": payload}, headers=rate_limit_headers(request))


@router.get("/finances/v0/financialEventGroups/{event_group_id}/financialEvents")
async def list_financial_events_by_group_id(event_group_id: str, request: Request) -> Response:
    context = sim_context(request)
    context.authorize(request, "listFinancialEventsByGroupId")
    params = request.query_params
    query, offset = _resume(
        params.get("NextToken"),
        {
            "after": params.get("PostedAfter"),
            "before": params.get("PostedBefore"),
            "size": params.get("MaxResultsPerPage"),
        },
        "NextToken",
    )
    size = int_param("MaxResultsPerPage", query["size"], 100, 1, 100)
    now = context.now()
    after, before, too_wide = _window(
        now, "PostedAfter", query["after"], "PostedBefore", query["before"]
    )
    region = request_region(request)
    closed = closed_groups(context)
    matched = [
        t
        for t in context.transactions
        if not too_wide
        and t.related.get("FINANCIAL_EVENT_GROUP_ID") == event_group_id
        and released(t, closed)
        and (region is None or t.region == region)
        and (after is None or t.posted >= after)
        and t.posted < before
        and context.posting_visible(t, now)
    ]
    page = [t.transaction for t in matched[offset : offset + size]]
    orders = {o.order["orderId"]: o.order for o in context.orders}
    payload: dict[str, Any] = {"FinancialEvents": financial_events(page, orders)}
    if offset + size < len(matched):
        payload["NextToken"] = _token(query, offset + size)
    return json_response({"payload": payload}, headers=rate_limit_headers(request))


def _status(t: IndexedTransaction) -> str | None:
    """The transaction's status in the model's spelling; Amazon also sends `Released`."""
    value = t.transaction.get("transactionStatus")
    return value.upper() if isinstance(value, str) else None


def closed_groups(context: SimContext) -> set[str]:
    return {
        str(g.group.get("FinancialEventGroupId"))
        for g in context.groups
        if str(g.group.get("ProcessingStatus", "")).lower() == "closed"
    }


def released(t: IndexedTransaction, closed: set[str]) -> bool:
    """Money paid out: RELEASED in any case, or no status at all inside a Closed group (the
    group's OriginalTotal includes it). v0 shows only this money."""
    status = _status(t)
    if status is None:
        return t.related.get("FINANCIAL_EVENT_GROUP_ID") in closed
    return status == "RELEASED"


def select_transactions(
    context: SimContext, query: dict[str, Any], region: str | None
) -> list[IndexedTransaction]:
    """Apply listTransactions' rules: identifier or window, 2-minute and 180-day limits."""
    now = context.now()
    name, value = query["name"], query["value"]
    if bool(name) != bool(value):
        raise invalid_input(
            "relatedIdentifierName and relatedIdentifierValue must be provided together."
        )
    if name and name not in _FILTERABLE:
        raise invalid_input(
            f"Invalid relatedIdentifierName: {name}. Only FINANCIAL_EVENT_GROUP_ID and ORDER_ID "
            "can be used for filtering."
        )
    if not name and not query["after"]:
        raise invalid_input("postedAfter is required if you do not specify a related identifier.")
    status = query["status"]
    if status and status not in _STATUSES:
        raise invalid_input(f"Invalid transactionStatus: {status}.")
    after, before, too_wide = _window(
        now, "postedAfter", query["after"], "postedBefore", query["before"]
    )
    if too_wide:
        return []
    market = query["marketplace"]
    return [
        t
        for t in context.transactions
        if (not name or t.related.get(name) == value)
        and (region is None or t.region == region)
        and (after is None or t.posted >= after)
        and t.posted < before
        and (
            not market
            or (t.transaction.get("marketplaceDetails") or {}).get("marketplaceId") == market
        )
        and (not status or _status(t) == status)
        and context.posting_visible(t, now)
    ]


@router.get("/finances/2024-06-19/transactions")
async def list_transactions(request: Request) -> Response:
    context = sim_context(request)
    context.authorize(request, "listTransactions")
    params = request.query_params
    query, offset = _resume(
        params.get("nextToken"),
        {
            "after": params.get("postedAfter"),
            "before": params.get("postedBefore"),
            "marketplace": params.get("marketplaceId"),
            "status": params.get("transactionStatus"),
            "name": params.get("relatedIdentifierName"),
            "value": params.get("relatedIdentifierValue"),
        },
        "nextToken",
    )
    matched = select_transactions(context, query, request_region(request))
    size = context.options.transactions_page_size
    payload: dict[str, Any] = {
        "transactions": [t.transaction for t in matched[offset : offset + size]]
    }
    if offset + size < len(matched):
        payload["nextToken"] = _token(query, offset + size)
    return json_response({"payload": payload}, headers=rate_limit_headers(request))
