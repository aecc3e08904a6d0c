"""Orders API 2026-01-01: `searchOrders` and `getOrder`, with the documented validation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ml_connector_sim.amazon.context import (
    IndexedOrder,
    SimContext,
    rate_limit_headers,
    request_region,
    sim_context,
)
from ml_connector_sim.amazon.gen_orders import iso
from ml_connector_sim.amazon.marketplaces import BY_ID, region_of
from ml_connector_sim.amazon.wire import (
    ApiError,
    csv_values,
    int_param,
    invalid_input,
    json_response,
    parse_time,
)
from ml_connector_sim.amazon.world import JsonObject

router = APIRouter()

INCLUDED_DATA = (
    "BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT",
    "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS",
)  # fmt: skip
FULFILLMENT_STATUSES = (
    "PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED",
    "UNFULFILLABLE",
)  # fmt: skip
_ORDER_DATASETS = {
    "BUYER": "buyer", "RECIPIENT": "recipient", "PROCEEDS": "proceeds", "PAYMENT": "payment",
    "TAX": "tax", "FULFILLMENT": "fulfillment", "PACKAGES": "packages",
    "FULFILLMENT_ORDERS": "fulfillmentOrders",
}  # fmt: skip
_ITEM_DATASETS = {
    "PROCEEDS": "proceeds", "EXPENSE": "expense", "PROMOTION": "promotion",
    "CANCELLATION": "cancellation", "FULFILLMENT": "fulfillment", "TAX": "tax",
}  # fmt: skip
TWO_MINUTES = timedelta(minutes=2)
TOO_RECENT = (
    "The most updated data is 2 minutes after an order is created or last updated. If you set "
    "the createdBefore or lastUpdatedBefore parameters, please provide a date that is at least "
    "2 minutes before current time."
)
_LONG_HISTORY_FROM = datetime(2016, 1, 1, tzinfo=UTC)
_TOKEN_LIFETIME = timedelta(hours=24)


def shape_order(order: JsonObject, included: set[str]) -> JsonObject:
    """Drop the datasets the caller did not ask for, as `includedData` does."""
    hidden_order = {key for name, key in _ORDER_DATASETS.items() if name not in included}
    hidden_item = {key for name, key in _ITEM_DATASETS.items() if name not in included}
    shaped = {k: v for k, v in order.items() if k not in hidden_order}
    shaped["orderItems"] = [
        {k: v for k, v in item.items() if k not in hidden_item}
        for item in order.get("orderItems", [])
    ]
    return shaped


def history_visible(entry: IndexedOrder, now: datetime) -> bool:
    """Two years back, except JP, AU and SG, which go back to 2016."""
    market = BY_ID.get(entry.marketplace_id)
    if market is not None and market.long_history:
        return entry.created >= _LONG_HISTORY_FROM
    return entry.created >= now - timedelta(days=730)


def _included(raw: list[str]) -> set[str]:
    values = csv_values(raw)
    for value in values:
        if value not in INCLUDED_DATA:
            raise invalid_input(f"Invalid includedData value: {value}.")
    return set(values)


def _encode_token(query: dict[str, Any], offset: int, now: datetime) -> str:
    data = {"q": query, "o": offset, "t": int(now.timestamp())}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode_token(token: str, now: datetime) -> tuple[dict[str, Any], int]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        query, offset, issued = dict(data["q"]), int(data["o"]), int(data["t"])
    except (ValueError, KeyError, TypeError):
        raise invalid_input("Invalid paginationToken.") from None
    if now - datetime.fromtimestamp(issued, UTC) > _TOKEN_LIFETIME:
        raise invalid_input("The paginationToken has expired.")
    return query, offset


def _query_from_request(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "createdAfter": params.get("createdAfter"),
        "createdBefore": params.get("createdBefore"),
        "lastUpdatedAfter": params.get("lastUpdatedAfter"),
        "lastUpdatedBefore": params.get("lastUpdatedBefore"),
        "fulfillmentStatuses": csv_values(params.getlist("fulfillmentStatuses")),
        "marketplaceIds": csv_values(params.getlist("marketplaceIds")),
        "fulfilledBy": csv_values(params.getlist("fulfilledBy")),
        "maxResultsPerPage": params.get("maxResultsPerPage"),
        "includedData": sorted(_included(params.getlist("includedData"))),
    }


def _window(query: dict[str, Any], now: datetime) -> tuple[str, datetime, datetime]:
    created_after, created_before = query["createdAfter"], query["createdBefore"]
    updated_after, updated_before = query["lastUpdatedAfter"], query["lastUpdatedBefore"]
    if bool(created_after) == bool(updated_after):
        raise invalid_input("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
    if created_after and (updated_before or updated_after):
        raise invalid_input(
            "If createdAfter is provided, neither lastUpdatedAfter nor lastUpdatedBefore may be "
            "provided."
        )
    if updated_after and created_before:
        raise invalid_input(
            "If lastUpdatedAfter is provided, neither createdAfter nor createdBefore may be "
            "provided."
        )
    field = "createdTime" if created_after else "lastUpdatedTime"
    after_name = "createdAfter" if created_after else "lastUpdatedAfter"
    before_name = "createdBefore" if created_after else "lastUpdatedBefore"
    after = parse_time(after_name, created_after or updated_after)
    raw_before = created_before or updated_before
    before = parse_time(before_name, raw_before) if raw_before else now - TWO_MINUTES
    if raw_before and before > now - TWO_MINUTES:
        raise invalid_input(TOO_RECENT)
    if after > now - TWO_MINUTES:
        raise invalid_input(f"{after_name} must be at least 2 minutes before the current time.")
    if before < after:
        raise invalid_input(f"{before_name} must be equal to or after {after_name}.")
    return field, after, before


def _marketplaces(ids: list[str], region: str | None) -> set[str] | None:
    if len(ids) > 50:
        raise invalid_input("marketplaceIds may contain at most 50 values.")
    for marketplace_id in ids:
        known = region_of(marketplace_id)
        if known is None or (region is not None and known != region):
            raise invalid_input(f"Invalid marketplaceId: {marketplace_id}.")
    return set(ids) or None


def search(
    context: SimContext, query: dict[str, Any], offset: int, region: str | None
) -> JsonObject:
    now = context.now()
    field, after, before = _window(query, now)
    size = int_param("maxResultsPerPage", query["maxResultsPerPage"], 100, 1, 100)
    markets = _marketplaces(query["marketplaceIds"], region)
    statuses = set(query["fulfillmentStatuses"])
    if statuses - set(FULFILLMENT_STATUSES):
        raise invalid_input(f"Invalid fulfillmentStatuses: {sorted(statuses)}.")
    parties = set(query["fulfilledBy"])
    if parties - {"MERCHANT", "AMAZON"}:
        raise invalid_input(f"Invalid fulfilledBy: {sorted(parties)}.")
    matched = []
    for entry in context.orders:
        moment = entry.created if field == "createdTime" else entry.updated
        fulfillment = entry.order.get("fulfillment", {})
        if not after <= moment <= before or not history_visible(entry, now):
            continue
        if region is not None and entry.region != region:
            continue
        if markets is not None and entry.marketplace_id not in markets:
            continue
        if statuses and fulfillment.get("fulfillmentStatus") not in statuses:
            continue
        if parties and fulfillment.get("fulfilledBy") not in parties:
            continue
        matched.append(entry)
    if field == "lastUpdatedTime":
        matched.sort(key=lambda e: (e.updated, e.order["orderId"]))
    page = matched[offset : offset + size]
    included = set(query["includedData"])
    body: JsonObject = {"orders": [shape_order(e.order, included) for e in page]}
    if offset + size < len(matched):
        body["pagination"] = {"nextToken": _encode_token(query, offset + size, now)}
    body["createdBefore" if field == "createdTime" else "lastUpdatedBefore"] = iso(before)
    return body


@router.get("/orders/2026-01-01/orders")
async def search_orders(request: Request) -> Response:
    context = sim_context(request)
    context.authorize(request, "searchOrders")
    token = request.query_params.get("paginationToken")
    if token:
        query, offset = _decode_token(token, context.now())
    else:
        query, offset = _query_from_request(request), 0
    body = search(context, query, offset, request_region(request))
    return json_response(body, headers=rate_limit_headers(request))


@router.get("/orders/2026-01-01/orders/{order_id}")
async def get_order(order_id: str, request: Request) -> Response:
    context = sim_context(request)
    context.authorize(request, "getOrder")
    included = _included(request.query_params.getlist("includedData"))
    entry = context.orders_by_id.get(order_id)
    region = request_region(request)
    if (
        entry is None
        or (region is not None and entry.region != region)
        or not history_visible(entry, context.now())
    ):
        raise ApiError(404, "NotFound", f"Order {order_id} not found.")
    return json_response(
        {"order": shape_order(entry.order, included)}, headers=rate_limit_headers(request)
    )
