"""The Fusion requestor: headers, both error formats, retries for GETs only, paging, pacing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from ml_connector.errors import (
    AuthError,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from ml_connector.remote.http.ratelimit import RateLimiter
from ml_connector.remote.http.redact import Redactor
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.oracle import BasicAuth, FusionClient, FusionEndpoint

Handler = Callable[[httpx.Request], httpx.Response]


class CountingAuth:
    def __init__(self) -> None:
        self.invalidated = 0

    def authorization(self) -> str:
        return f"Bearer token-{self.invalidated}"

    def invalidate(self) -> None:
        self.invalidated += 1


def _client(handler: Handler, auth: object | None = None, **kw: object) -> FusionClient:
    return FusionClient(
        FusionEndpoint.from_base_url("http://127.0.0.1:8000"),
        auth or BasicAuth("u", "secret-pw", redactor=Redactor()),  # type: ignore[arg-type]
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        retry=RetryPolicy(sleep=lambda s: None, max_attempts=4),
        **kw,  # type: ignore[arg-type]
    )


def test_every_call_pins_the_framework_version_and_sends_exact_money() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"Amount": 12.5})

    body = _client(handler).post("receivablesInvoices", {"Amount": Decimal("12.50")}, operation="x")
    assert body == {"Amount": Decimal("12.5")}
    assert isinstance(body["Amount"], Decimal)
    request = seen[0]
    assert request.headers["REST-Framework-Version"] == "4"
    assert request.headers["Content-Type"] == "application/vnd.oracle.adf.resourceitem+json"
    assert request.content == b'{"Amount":12.50}'
    assert str(request.url) == (
        "http://127.0.0.1:8000/fscmRestApi/resources/11.13.18.05/receivablesInvoices"
    )


JSON_ERROR = {
    "title": "Bad Request",
    "status": "400",
    "detail": "The business unit you entered doesn't exist.",
    "o:errorCode": "AR_BU_NOT_FOUND",
    "o:errorDetails": [
        {
            "detail": "The business unit you entered doesn't exist.",
            "o:errorCode": "AR_BU_NOT_FOUND",
        },
        {
            "detail": "The transaction source you entered doesn't exist.",
            "o:errorCode": "AR_BATCH_SOURCE_NOT_FOUND",
        },
    ],
}


def test_json_error_details_reach_the_caller_typed_and_complete() -> None:
    client = _client(
        lambda r: httpx.Response(400, json=JSON_ERROR, headers={"X-ORACLE-DMS-ECID": "ecid-1"})
    )
    with pytest.raises(ValidationError) as caught:
        client.post("receivablesInvoices", {}, operation="receivablesInvoices.create")
    error = caught.value
    assert "business unit you entered doesn't exist" in error.message
    assert "transaction source you entered doesn't exist" in error.message
    assert error.code == "AR_BU_NOT_FOUND"
    assert error.request_id == "ecid-1"
    assert error.status == 400


def test_plain_text_errors_are_parsed_too() -> None:
    text = (
        "You can only create a complete invoice. You can't create an incomplete or frozen "
        "invoice. (AR-857798)"
    )
    client = _client(
        lambda r: httpx.Response(400, text=text, headers={"content-type": "text/plain"})
    )
    with pytest.raises(ValidationError, match="AR-857798"):
        client.post("receivablesInvoices", {}, operation="create")


@pytest.mark.parametrize(
    ("status", "error"),
    [(409, ConflictError), (404, NotFoundError), (403, AuthError), (500, ServerError)],
)
def test_status_codes_map_to_typed_errors(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        _client(lambda r: httpx.Response(status, text="nope")).post("x", {}, operation="x")


def test_post_is_sent_once_even_on_5xx_and_timeouts() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ConnectionFailedError):
        _client(handler).post("receivablesInvoices", {}, operation="create")
    assert len(calls) == 1


def test_get_is_retried_on_429_and_5xx_with_the_bucket_drained() -> None:
    answers = iter(
        [
            httpx.Response(429, text="slow down", headers={"Retry-After": "0"}),
            httpx.Response(503, text="busy"),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    limiter = RateLimiter[str](lambda op: (1000.0, 5.0), sleep=lambda s: None)
    client = _client(lambda r: next(answers), limiter=limiter)
    assert client.get("receivablesInvoices/1", operation="get") == {"ok": True}
    assert limiter.bucket("get").available() < 5


def test_get_gives_up_after_the_retry_budget() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, text="Too Many Requests")

    with pytest.raises(RateLimitedError):
        _client(handler).get("x", operation="x")
    assert len(calls) == 4


def test_expired_token_is_refreshed_once() -> None:
    auth = CountingAuth()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer token-0":
            return httpx.Response(401, text="expired")
        return httpx.Response(200, json={"ok": 1})

    assert _client(handler, auth).get("x", operation="x") == {"ok": 1}
    assert auth.invalidated == 1
    with pytest.raises(AuthError):
        _client(lambda r: httpx.Response(401, text="no"), CountingAuth()).get("x", operation="x")


def test_paging_follows_has_more_until_false() -> None:
    offsets: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        offsets.append(str(offset))
        assert request.url.params["limit"] == "2"
        items = [{"n": i} for i in range(offset, min(offset + 2, 5))]
        return httpx.Response(
            200, json={"items": items, "count": len(items), "hasMore": offset + 2 < 5}
        )

    items = list(
        _client(handler).iter_items("things", {"q": "A='b'"}, operation="list", page_size=2)
    )
    assert [item["n"] for item in items] == [0, 1, 2, 3, 4]
    assert offsets == ["0", "2", "4"]


def test_empty_page_with_has_more_stops_instead_of_looping() -> None:
    client = _client(lambda r: httpx.Response(200, json={"items": [], "hasMore": True}))
    with pytest.raises(Exception, match="empty page"):
        list(client.iter_items("things", operation="list"))


def test_secrets_never_appear_in_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=f"bad header {request.headers['authorization']}")

    redactor = Redactor()
    auth = BasicAuth("u", "secret-pw", redactor=redactor)
    client = _client(handler, auth, redactor=redactor)
    with pytest.raises(ValidationError) as caught:
        client.post("x", {}, operation="x")
    assert auth.authorization().split()[1] not in str(caught.value)
    assert "secret-pw" not in repr(client)
