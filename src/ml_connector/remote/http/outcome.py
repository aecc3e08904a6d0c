"""Turn an HTTP response (or the lack of one) into a typed outcome: the parsed body or an error.

Both clients route every response through here so that a 429 is always ``RateLimitedError``, a
non-JSON 502 from a load balancer is still a ``ServerError``, a 3xx (a sign-on or maintenance
page in front of the API) is a ``RedirectedError`` naming where it pointed — never an empty
answer, and never followed — and no error message ever contains more than the remote's own
(redacted, truncated) words.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from ml_connector.errors import (
    ConnectionFailedError,
    RemoteError,
    error_class_for_status,
)
from ml_connector.remote.http.redact import Redactor, default_redactor
from ml_connector.remote.http.transport import describe_transport

__all__ = [
    "REQUEST_ID_HEADERS",
    "MessageParser",
    "RedirectedError",
    "error_from_response",
    "error_from_transport",
    "generic_message",
    "parse_json",
    "parse_retry_after",
    "redirect_error",
    "request_id_of",
]

REQUEST_ID_HEADERS: tuple[str, ...] = (
    "x-amzn-RequestId",
    "x-amz-request-id",
    "x-request-id",
    "X-ORACLE-DMS-ECID",
    "X-ORACLE-DMS-RID",
)

MAX_MESSAGE_CHARS = 500

MessageParser = Callable[[Any], tuple[str | None, str | None]]
"""Given a parsed JSON body, return ``(code, message)`` in the remote's own words."""


def parse_json(content: bytes) -> Any:
    """JSON with every non-integer number as ``Decimal`` (money must never pass through float)."""
    return json.loads(content, parse_float=Decimal)


def request_id_of(
    response: httpx.Response, names: Sequence[str] = REQUEST_ID_HEADERS
) -> str | None:
    for name in names:
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


def generic_message(body: Any) -> tuple[str | None, str | None]:
    """Find ``(code, message)`` in the usual envelopes: SP-API, OAuth, Oracle, problem+json."""
    if not isinstance(body, dict):
        return None, None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        text = " ".join(str(part) for part in (first.get("message"), first.get("details")) if part)
        return _str_or_none(first.get("code")), text or None
    if "error" in body and isinstance(body["error"], str):
        return body["error"], _str_or_none(body.get("error_description"))
    for key in ("detail", "title", "message"):
        if isinstance(body.get(key), str):
            return _str_or_none(body.get("code") or body.get("o:errorCode")), body[key]
    return None, None


class RedirectedError(RemoteError):
    """The remote answered 3xx instead of the API's answer (single sign-on, maintenance page,
    a proxy). Not followed: it would resend credentials elsewhere and read a web page as data.
    Not a rejection of the document either, and not an absence: whoever asked must not
    conclude anything from it. ``location`` is where it pointed (query left out)."""

    def __init__(self, message: str, *, location: str | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location


def _location(response: httpx.Response, redactor: Redactor) -> str | None:
    raw = response.headers.get("location")
    if not raw:
        return None
    try:
        parts = urlsplit(raw.strip())
    except ValueError:
        return redactor.text(raw.strip())[:200]
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path
    if parts.query:
        shown += "?…"  # sign-on queries carry request state and sometimes tokens
    return redactor.text(shown)[:200]


def redirect_error(
    response: httpx.Response,
    *,
    operation: str | None = None,
    redactor: Redactor = default_redactor,
) -> RedirectedError:
    location = _location(response, redactor)
    where = f"to {location}" if location else "without a Location"
    return RedirectedError(
        f"HTTP {response.status_code} redirect {where} instead of an API answer "
        "(sign-on or maintenance page?); not followed",
        location=location,
        status=response.status_code,
        request_id=request_id_of(response),
        operation=operation,
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def error_from_response(
    response: httpx.Response,
    *,
    operation: str | None = None,
    parse_message: MessageParser = generic_message,
    redactor: Redactor = default_redactor,
) -> RemoteError:
    """The typed error for a non-2xx response; a body that is not JSON still gives one."""
    if 300 <= response.status_code < 400:
        return redirect_error(response, operation=operation, redactor=redactor)
    code: str | None = None
    message: str | None = None
    try:
        body = parse_json(response.content) if response.content else None
    except ValueError:
        body = None
    if body is not None:
        code, message = parse_message(body)
    if not message:
        text = response.text.strip() if response.content else ""
        message = text or f"HTTP {response.status_code} {response.reason_phrase}".strip()
    message = redactor.text(message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    cls = error_class_for_status(response.status_code)
    return cls(
        message,
        status=response.status_code,
        request_id=request_id_of(response),
        operation=operation,
        code=code,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def error_from_transport(
    exc: httpx.TransportError,
    *,
    operation: str | None = None,
    cls: type[ConnectionFailedError] = ConnectionFailedError,
) -> ConnectionFailedError:
    """A transport failure as a retryable typed error naming the host and the cause in plain
    words ("cannot reach api.amazon.com: the host name does not resolve (DNS lookup failed)");
    the path and query are left out: they may hold a token."""
    failure = describe_transport(exc)
    where = failure.host or "the server"
    return cls(
        f"cannot reach {where}: {failure.words}",
        host=failure.host,
        cause=failure.cause,
        operation=operation,
    )
