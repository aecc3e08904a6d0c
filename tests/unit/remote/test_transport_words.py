"""A request that got no answer is named by host and cause in plain words, from real sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from ml_connector.errors import AuthError, ConnectionFailedError
from ml_connector.remote.explain import describe_failure
from ml_connector.remote.http.outcome import error_from_transport


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _failure(url: str, *, timeout: float = 2.0) -> ConnectionFailedError:
    with httpx.Client(timeout=timeout) as client:
        try:
            client.get(url)
        except httpx.TransportError as exc:
            return error_from_transport(exc, operation="searchOrders")
    raise AssertionError(f"{url} answered")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port whose listener never accepts nor answers (the kernel completes the
    TCP handshake from the backlog, so the client waits for an answer)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


class _Plain(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_a_name_that_does_not_resolve_is_a_dns_failure() -> None:
    # RFC 6761: .invalid never resolves, with or without a network.
    error = _failure("http://nonexistent.invalid/orders?token=SECRET")
    assert (error.host, error.cause) == ("nonexistent.invalid", "dns")
    assert error.message == (
        "cannot reach nonexistent.invalid: the host name does not resolve (DNS lookup failed)"
    )
    assert "SECRET" not in str(error)


def test_a_closed_port_is_connection_refused() -> None:
    port = free_port()
    error = _failure(f"http://127.0.0.1:{port}/")
    assert (error.host, error.cause) == (f"127.0.0.1:{port}", "refused")
    assert error.message == (
        f"cannot reach 127.0.0.1:{port}: connection refused (nothing listens on that port)"
    )


def test_a_server_that_never_answers_is_a_read_timeout(silent_port: int) -> None:
    error = _failure(f"http://127.0.0.1:{silent_port}/", timeout=0.3)
    assert error.cause == "read_timeout"
    assert error.message == (
        f"cannot reach 127.0.0.1:{silent_port}: connected, but no answer came within 0.3 s "
        "(read timeout)"
    )


def test_https_to_a_plain_http_server_is_a_tls_failure(plain_http_port: int) -> None:
    error = _failure(f"https://127.0.0.1:{plain_http_port}/")
    assert error.cause == "tls"
    assert error.message == (
        f"cannot reach 127.0.0.1:{plain_http_port}: TLS handshake failed: the server does not "
        "speak https on that port (plain http?)"
    )


def test_describe_failure_names_the_side_that_failed() -> None:
    unreachable = ConnectionFailedError(
        "cannot reach h.example: connection refused", operation="oauth.token"
    )
    assert describe_failure(unreachable) == (
        "Oracle's identity domain: cannot reach h.example: connection refused"
    )
    posted = ConnectionFailedError("cannot reach h.example: x", operation="erpintegrations.wait")
    assert describe_failure(posted) == "Oracle Fusion: cannot reach h.example: x"
    revoked = AuthError("revoked", status=400, code="invalid_grant", operation="lwa.token")
    line = describe_failure(revoked, connection="shop", region="FE")
    assert line.startswith("Amazon refused the refresh token for FE (invalid_grant)")
    assert line.endswith("connection set-secret shop --refresh-token-env FE=VARIABLE`")
    refused = AuthError("Unauthorized", status=401, operation="receivablesInvoices.create")
    assert describe_failure(refused) == (
        "Oracle refused the credentials (401): check the user and its password"
    )
    role = AuthError("Forbidden", status=403, operation="listTransactions")
    assert describe_failure(role, region="EU") == (
        "Amazon EU: Amazon refused listTransactions: the app lacks the Finance and Accounting "
        "role for this seller"
    )
