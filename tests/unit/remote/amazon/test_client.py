"""SP-API client behaviour: auth, pacing under 429 storms, pagination, typed errors, no leaks."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import structlog

from ml_connector.errors import (
    AuthError,
    ConfigError,
    ServerError,
    ValidationError,
)
from ml_connector.remote.amazon.client import SpApiClient, default_limiter
from ml_connector.remote.http.paginate import PaginationLoopError
from ml_connector.remote.http.retry import RetryPolicy

from ..conftest import FakeClock
from .fakes import BASE, CREDS, FakeAmazon, make_client

GROUPS = "/eu/finances/v0/financialEventGroups"
SEARCH = "/eu/orders/2026-01-01/orders"
QUOTA = {
    "errors": [
        {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
    ]
}
EXPIRED = {
    "errors": [
        {
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The access token you provided has expired.",
        }
    ]
}
AFTER = datetime(2026, 1, 1, tzinfo=UTC)


def _group(i: int) -> dict[str, Any]:
    return {"FinancialEventGroupId": f"G{i}", "ProcessingStatus": "Closed"}


def _groups_page(items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"FinancialEventGroupList": items}
    if token:
        payload["NextToken"] = token
    return {"payload": payload}


def test_urls_keep_the_base_path_and_token_header(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    fake.routes[("GET", GROUPS)] = _groups_page([_group(1)], None)
    client = make_client(fake, clock)
    assert [
        r.model.financial_event_group_id for r in client.finances.list_financial_event_groups()
    ] == ["G1"]
    request = fake.requests[0]
    assert str(request.url).startswith("http://127.0.0.1:9/eu/finances/v0/financialEventGroups?")
    assert request.headers["x-amz-access-token"] == "Atza|token-1"
    form = fake.token_requests[0].content.decode()
    assert "grant_type=refresh_token" in form


def test_token_is_cached_then_refreshed_five_minutes_before_expiry(clock: FakeClock) -> None:
    fake = FakeAmazon(clock, expires_in=3600)
    fake.routes[("GET", GROUPS)] = _groups_page([], None)
    client = make_client(fake, clock)
    list(client.finances.list_financial_event_groups())
    clock.advance(3600 - 301)
    list(client.finances.list_financial_event_groups())
    assert fake.issued == 1
    clock.advance(2)  # now 299 s left: refresh before use
    list(client.finances.list_financial_event_groups())
    assert fake.issued == 2
    assert fake.tokens_seen[-1] == "Atza|token-2"


def test_expired_token_403_refreshes_once_and_retries(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    answers = [
        httpx.Response(403, json=EXPIRED),
        httpx.Response(200, json=_groups_page([_group(1)], None)),
    ]
    fake.routes[("GET", GROUPS)] = lambda request: answers.pop(0)
    records = list(make_client(fake, clock).finances.list_financial_event_groups())
    assert len(records) == 1
    assert fake.issued == 2
    assert fake.tokens_seen == ["Atza|token-1", "Atza|token-2"]


def test_persistent_403_is_an_auth_error_after_one_refresh(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    fake.routes[("GET", GROUPS)] = lambda request: httpx.Response(403, json=EXPIRED)
    with pytest.raises(AuthError) as info:
        list(make_client(fake, clock).finances.list_financial_event_groups())
    assert len(fake.requests) == 2
    assert info.value.status == 403


def test_lwa_invalid_grant_is_an_auth_error_without_secrets(clock: FakeClock) -> None:
    def lwa_refuses(request: httpx.Request) -> httpx.Response:
        body = {"error": "invalid_grant", "error_description": f"bad {CREDS.refresh_token}"}
        return httpx.Response(400, json=body)

    http = httpx.Client(transport=httpx.MockTransport(lwa_refuses))
    client = SpApiClient(
        seller_id="S",
        region="NA",
        credentials=CREDS,
        http=http,
        lwa_url="http://lwa.test/t",
        retry=RetryPolicy(sleep=clock.sleep, clock=clock),
    )
    with pytest.raises(AuthError) as info:
        client.orders.get_order("1")
    text = str(info.value) + repr(info.value) + repr(client) + repr(CREDS)
    assert "REFRESH-456" not in text
    assert "cs-SECRET" not in text
    assert info.value.code == "invalid_grant"


def test_429_storm_never_exceeds_the_bucket_and_still_finishes(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    sent_at: list[float] = []
    state = {"n": 0}

    def storm(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        state["n"] += 1
        if state["n"] <= 12:
            return httpx.Response(429, json=QUOTA)
        page = int(request.url.params.get("NextToken") or 0)
        return httpx.Response(
            200, json=_groups_page([_group(page)], str(page + 1) if page < 3 else None)
        )

    fake.routes[("GET", GROUPS)] = storm
    retry = RetryPolicy(
        max_attempts=20, max_elapsed=3600, sleep=clock.sleep, clock=clock, rng=random.Random(1)
    )
    client = make_client(fake, clock, retry=retry)
    records = list(client.finances.list_financial_event_groups())
    assert [r.model.financial_event_group_id for r in records] == ["G0", "G1", "G2", "G3"]
    # The bucket (0.5 rps, burst 30) bounds every window: no more than burst + rate * span.
    start = sent_at[0]
    for i, t in enumerate(sent_at):
        assert i + 1 <= 30 + 0.5 * (t - start) + 1e-9
    # After the first 429 the bucket is drained: the next sends are paced at the rate.
    gaps = [b - a for a, b in itertools.pairwise(sent_at[1:])]
    assert all(g >= 2.0 - 1e-9 for g in gaps[:5])


def test_rate_header_corrects_the_bucket(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    fake.routes[("GET", GROUPS)] = lambda r: httpx.Response(
        200, json=_groups_page([], None), headers={"x-amzn-RateLimit-Limit": "0.25"}
    )
    limiter = default_limiter(clock=clock, sleep=clock.sleep)
    client = make_client(fake, clock, limiter=limiter)
    list(client.finances.list_financial_event_groups())
    assert limiter.bucket(("A1SELLER", "EU", "listFinancialEventGroups")).rate == 0.25


def test_pagination_to_the_last_page_resending_filters(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)

    def pages(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("paginationToken")
        assert request.url.params["lastUpdatedAfter"] == "2026-01-01T00:00:00Z"
        n = {None: 0, "t1": 1, "t2": 2}[token]
        order = {
            "orderId": f"O{n}",
            "createdTime": "2026-01-01T00:00:00Z",
            "lastUpdatedTime": "2026-01-01T00:00:00Z",
            "salesChannel": {"channelName": "AMAZON"},
            "orderItems": [],
        }
        body: dict[str, Any] = {"orders": [order] if n != 1 else []}  # an empty middle page
        if n < 2:
            body["pagination"] = {"nextToken": f"t{n + 1}"}
        return httpx.Response(200, json=body)

    fake.routes[("GET", SEARCH)] = pages
    records = list(make_client(fake, clock).orders.search_orders(last_updated_after=AFTER))
    assert [r.model.order_id for r in records] == ["O0", "O2"]
    assert len(fake.requests) == 3


def test_repeated_token_stops_instead_of_looping(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    fake.routes[("GET", GROUPS)] = _groups_page([_group(1)], "same")
    with pytest.raises(PaginationLoopError):
        list(make_client(fake, clock).finances.list_financial_event_groups())
    assert len(fake.requests) == 2


def test_non_json_5xx_is_retried_then_raised_typed(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    fake.routes[("GET", GROUPS)] = lambda r: httpx.Response(
        503, text="<html>Service Unavailable</html>"
    )
    retry = RetryPolicy(max_attempts=3, sleep=clock.sleep, clock=clock)
    with pytest.raises(ServerError) as info:
        list(make_client(fake, clock, retry=retry).finances.list_financial_event_groups())
    assert len(fake.requests) == 3
    assert info.value.operation == "listFinancialEventGroups"


def test_400_is_not_retried_and_keeps_amazons_message(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    fake.routes[("GET", GROUPS)] = lambda r: httpx.Response(
        400,
        json={"errors": [{"code": "InvalidInput", "message": "Date range is invalid."}]},
        headers={"x-amzn-RequestId": "req-9"},
    )
    with pytest.raises(ValidationError) as info:
        list(make_client(fake, clock).finances.list_financial_event_groups())
    assert (info.value.code, info.value.message, info.value.request_id) == (
        "InvalidInput",
        "Date range is invalid.",
        "req-9",
    )
    assert len(fake.requests) == 1


def test_transport_errors_are_retried(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    answers: list[Any] = [
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json=_groups_page([], None)),
    ]

    def flaky(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    fake.routes[("GET", GROUPS)] = flaky
    assert list(make_client(fake, clock).finances.list_financial_event_groups()) == []
    assert len(fake.requests) == 2


def test_no_token_in_logs(clock: FakeClock) -> None:
    fake = FakeAmazon(clock)
    fake.routes[("GET", GROUPS)] = _groups_page([], None)
    with structlog.testing.capture_logs() as logs:
        list(make_client(fake, clock).finances.list_financial_event_groups())
    assert logs
    assert "Atza|token" not in repr(logs)
    assert "REFRESH-456" not in repr(logs)


def test_bad_region_and_naive_datetimes_are_refused(clock: FakeClock) -> None:
    with pytest.raises(ConfigError):
        SpApiClient(seller_id="S", region="XX", credentials=CREDS)
    fake = FakeAmazon(clock)
    with pytest.raises(ValueError, match="timezone-aware"):
        list(make_client(fake, clock).orders.search_orders(last_updated_after=datetime(2026, 1, 1)))
    with pytest.raises(ValueError, match="exactly one"):
        list(make_client(fake, clock).orders.search_orders())
    assert BASE.endswith("/eu")
