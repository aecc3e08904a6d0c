"""The circuit breaker's rules, failure by failure: what opens it, what keeps it closed, and
the one line it gives the admin."""

from __future__ import annotations

import errno
import socket

import httpx
import pytest

from ml_connector.errors import (
    AuthError,
    ConflictError,
    ConnectionFailedError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from ml_connector.flow.post.breaker import BreakerSettings, OracleBreaker, outage_words
from ml_connector.remote.http.outcome import RedirectedError, error_from_transport
from ml_connector.remote.oracle.ess import EssState
from ml_connector.remote.oracle.imports import ImportStillRunning

ORIGIN = "https://acme.fa.us2.oraclecloud.com"


def refused() -> ConnectionFailedError:
    """What the Oracle client raises for a refused connection: the OS error under httpx's."""
    try:
        try:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        except OSError as os_error:
            raise httpx.ConnectError("[Errno 111] Connection refused") from os_error
    except httpx.ConnectError:
        try:
            raise ConnectionFailedError("ConnectError: no connection, nothing sent") from None
        except ConnectionFailedError as exc:
            return exc


def breaker(threshold: int = 3) -> OracleBreaker:
    return OracleBreaker(BreakerSettings(threshold=threshold), origin=ORIGIN)


def test_three_refused_connections_in_a_row_open_every_route() -> None:
    b = breaker()
    assert not b.failed(ValidationError("bad", status=400), "invoices")
    assert b.failed(refused(), "invoices")
    assert b.failed(refused(), "imports")
    assert not b.open
    assert b.failed(refused(), "invoices")
    assert b.open
    assert b.is_open("invoices")
    assert b.is_open("imports")
    assert b.failures == 3
    assert b.summary_line(37) == (
        "Oracle unreachable: connection refused by acme.fa.us2.oraclecloud.com — "
        "37 documents left for the next cycle"
    )


def test_an_answer_in_between_starts_the_count_again() -> None:
    b = breaker()
    for _ in range(5):
        b.failed(refused(), "invoices")
        b.failed(refused(), "invoices")
        b.answered("invoices")
    assert not b.open


@pytest.mark.parametrize(
    "answer",
    [
        ValidationError("the customer does not exist", status=400),
        ConflictError("number already used", status=409),
        RateLimitedError("slow down", status=429),
        ImportStillRunning("5000001", EssState.RUNNING),
    ],
)
def test_oracle_answering_about_a_document_is_not_an_outage(answer: Exception) -> None:
    b = breaker(threshold=1)
    for _ in range(10):
        assert not b.failed(answer, "imports")
    assert not b.open


def test_a_5xx_opens_only_its_route() -> None:
    b = breaker()
    for _ in range(3):
        b.failed(ServerError("Service Unavailable", status=503), "invoices")
    assert b.is_open("invoices")
    assert not b.is_open("imports")
    assert b.summary_line(1) == (
        "Oracle unreachable: acme.fa.us2.oraclecloud.com answered HTTP 503 (Service "
        "Unavailable) for invoices — 1 document left for the next cycle"
    )


def test_refused_credentials_open_it_at_once() -> None:
    b = breaker()
    refused_secret = AuthError(
        "invalid_client: client authentication failed", status=401, operation="oauth.token"
    )
    b.failed(refused_secret, "invoices")
    assert b.is_open("imports")
    # connection test's words (remote/explain.py), then what waits.
    assert b.summary_line(4) == (
        "Oracle's identity domain refused the client id or secret (or the scope): check the "
        "credentials stored for this connection — 4 documents left for the next cycle"
    )


def test_refused_credentials_are_told_apart_from_an_outage() -> None:
    b = breaker()
    b.failed(AuthError("refused", status=401, operation="oauth.token"), "invoices")
    assert b.refused
    away = breaker(threshold=1)
    away.failed(refused(), "invoices")
    assert away.open
    assert not away.refused


def test_one_failed_token_request_opens_every_route() -> None:
    """A hung identity domain: the token request timed out after its own retries. Every
    document needs a token, so the next one would wait just as long."""
    b = breaker()
    timed_out = ConnectionFailedError(
        "cannot reach idcs.example.com: no answer (read timeout)",
        cause="read_timeout",
        operation="oauth.token",
    )
    b.failed(timed_out, "invoices")
    assert b.is_open("imports")
    assert not b.refused
    unrelated = breaker()
    unrelated.failed(ServerError("busy", status=503, operation="oauth.token"), "imports")
    assert unrelated.is_open("invoices")  # a 5xx of the token call is no one service's
    post = breaker()
    post.failed(ServerError("busy", status=503, operation="receivablesInvoices.create"), "invoices")
    assert not post.open


def test_a_redirect_to_a_sign_on_page_counts_as_away() -> None:
    b = breaker(threshold=1)
    b.failed(
        RedirectedError("redirect", location="https://login.example.com/sso", status=302),
        "invoices",
    )
    assert b.open
    line = b.summary_line(2)
    assert "redirected to https://login.example.com/sso" in line, line


def test_requests_retry_less_once_a_failure_is_seen_and_not_at_all_once_open() -> None:
    settings = BreakerSettings(
        threshold=2, request_budget=15.0, suspect_attempts=2, suspect_budget=5.0
    )
    b = OracleBreaker(settings, origin=ORIGIN)
    attempts, elapsed = b.cap()
    assert elapsed == 15.0
    assert attempts > 6  # the policy's own attempts apply
    b.failed(refused(), "invoices")
    assert b.cap() == (2, 5.0)
    b.failed(refused(), "invoices")
    assert b.cap() == (1, 0.0)


def test_a_transport_error_naming_its_host_is_told_in_its_own_words() -> None:
    request = httpx.Request("POST", "https://acme.fa.us2.oraclecloud.com/fscmRestApi/x?t=1")
    try:
        raise httpx.ConnectError("refused", request=request) from ConnectionRefusedError(
            errno.ECONNREFUSED, "Connection refused"
        )
    except httpx.ConnectError as exc:
        error = error_from_transport(exc, operation="receivablesInvoices.create")
    b = breaker(threshold=1)
    b.failed(error, "invoices")
    assert b.summary_line(2) == (
        "Oracle unreachable: cannot reach acme.fa.us2.oraclecloud.com: connection refused "
        "(nothing listens on that port) — 2 documents left for the next cycle"
    )


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (httpx.ConnectTimeout("timed out"), "no connection to h.example:443 (connect timeout)"),
        (httpx.ReadTimeout("timed out"), "h.example:443 did not answer in time (timeout)"),
        (socket.gaierror(-2, "Name or service not known"), "the host name h.example does not"),
    ],
)
def test_the_line_says_what_happened(error: BaseException, words: str) -> None:
    def client_call() -> None:
        try:
            raise error
        except BaseException:
            raise ConnectionFailedError("no usable response") from None

    with pytest.raises(ConnectionFailedError) as caught:
        client_call()
    assert outage_words(caught.value, "https://h.example:443").startswith(words)


def test_one_failure_after_half_a_minute_of_silence_opens_it() -> None:
    """A pod that drops connections: each try costs a connect timeout, so waiting for three
    failures in a row would take minutes. One failure after 30 s without any answer will do."""
    now = [100.0]
    b = OracleBreaker(
        BreakerSettings(threshold=3, silence=30.0), origin=ORIGIN, clock=lambda: now[0]
    )
    now[0] += 10.0
    b.answered("invoices")  # the 3rd invoice posted at 110 s
    now[0] += 29.0
    b.failed(refused(), "invoices")  # 29 s without an answer: counted, not yet open
    assert not b.open
    b.answered("invoices")
    now[0] += 31.0
    b.failed(refused(), "invoices")
    assert b.is_open("imports")
    # A 5xx is an answer of sorts: it never opens the host by silence.
    other = OracleBreaker(BreakerSettings(silence=30.0), origin=ORIGIN, clock=lambda: now[0])
    now[0] += 60.0
    other.failed(ServerError("Service Unavailable", status=503), "invoices")
    assert not other.open
