from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from ml_connector.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    RemoteError,
    ServerError,
    TransientError,
    ValidationError,
)
from ml_connector.remote.http.outcome import (
    error_from_response,
    error_from_transport,
    parse_json,
    parse_retry_after,
)
from ml_connector.remote.http.paginate import PaginationLoopError, follow_tokens

QUOTA = b'{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota.","details":""}]}'


def _resp(status: int, content: bytes = b"", **headers: str) -> httpx.Response:
    return httpx.Response(status, content=content, headers=headers)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (400, ValidationError),
        (422, ValidationError),
    ],
)
def test_status_maps_to_error_class(status: int, cls: type[RemoteError]) -> None:
    assert type(error_from_response(_resp(status, b"{}"))) is cls


def test_amazon_error_envelope() -> None:
    err = error_from_response(
        _resp(429, QUOTA, **{"x-amzn-RequestId": "rid-1"}), operation="searchOrders"
    )
    assert isinstance(err, TransientError)
    assert err.code == "QuotaExceeded"
    assert err.message == "You exceeded your quota."
    assert err.request_id == "rid-1"
    assert "searchOrders" in str(err)
    assert "rid-1" in str(err)


def test_oauth_error_envelope() -> None:
    body = b'{"error":"invalid_grant","error_description":"The request has an invalid grant"}'
    err = error_from_response(_resp(400, body))
    assert (err.code, err.message) == ("invalid_grant", "The request has an invalid grant")


def test_non_json_body_still_gives_a_typed_error() -> None:
    err = error_from_response(_resp(502, b"<html>Bad Gateway</html>"))
    assert isinstance(err, ServerError)
    assert err.message == "<html>Bad Gateway</html>"
    empty = error_from_response(_resp(503))
    assert isinstance(empty, ServerError)
    assert "503" in empty.message


def test_long_bodies_are_truncated_and_tokens_scrubbed() -> None:
    err = error_from_response(_resp(400, b"Atza|secretsecret " + b"x" * 2000))
    assert len(err.message) <= 500
    assert "secretsecret" not in err.message


def test_retry_after_header() -> None:
    assert error_from_response(_resp(429, QUOTA, **{"Retry-After": "7"})).retry_after == 7.0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0


def test_transport_error_is_transient_and_leaks_no_url() -> None:
    exc = httpx.ConnectError("failed https://h/?refresh_token=abc")
    err = error_from_transport(exc, operation="getOrder")
    assert isinstance(err, TransientError)
    assert "abc" not in str(err)


def test_json_numbers_become_decimal() -> None:
    assert parse_json(b'{"a": 25.37, "b": 3}') == {"a": Decimal("25.37"), "b": 3}


def test_pagination_follows_tokens_including_empty_pages() -> None:
    pages = {None: ([1], "a"), "a": ([], "b"), "b": ([2, 3], None)}
    got = list(follow_tokens(lambda t: pages[t], lambda p: p[1]))
    assert [p[0] for p in got] == [[1], [], [2, 3]]


def test_pagination_stops_on_a_repeated_token() -> None:
    pages = {None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")}
    with pytest.raises(PaginationLoopError, match="repeated"):
        list(follow_tokens(lambda t: pages[t], lambda p: p[1]))


def test_pagination_page_cap() -> None:
    with pytest.raises(PaginationLoopError, match="more than 3"):
        list(follow_tokens(lambda t: int(t or 0) + 1, lambda p: str(p), max_pages=3))
