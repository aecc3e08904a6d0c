"""Why no HTTP answer came, in the words an admin can act on: DNS, refused, TLS, timeout.

httpx raises one ``TransportError`` subclass per phase (``ConnectError``, ``ReadTimeout``...) and
keeps the operating system's error as its ``__cause__`` chain (httpx → httpcore → ``OSError``,
``socket.gaierror``, ``ssl.SSLError``); the kind of failure is read from that chain, so a name
that does not resolve is never reported as a "connection error". Only the host and port of the
request are named: its path and query may carry a token.
"""

from __future__ import annotations

import errno
import socket
import ssl
from dataclasses import dataclass

import httpx

__all__ = ["TransportFailure", "describe_transport", "request_host"]


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """``host`` (``host`` or ``host:port``, None if unknown), ``cause`` (a kind, see
    ``errors.ConnectionFailedError``) and ``words`` (one plain phrase, no trailing period)."""

    host: str | None
    cause: str
    words: str


def request_host(exc: httpx.TransportError) -> str | None:
    """``host`` or ``host:port`` of the request that failed (None when httpx attached none)."""
    try:
        url = exc.request.url
    except RuntimeError:  # an exception built without a request (tests, pool internals)
        return None
    host = url.host
    if not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{url.port}" if url.port is not None else host


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _seconds(exc: httpx.TransportError, phase: str) -> str:
    """' within 10 s' from the request's timeout settings, or '' when they are unknown."""
    try:
        timeouts = exc.request.extensions.get("timeout") or {}
    except RuntimeError:
        return ""
    value = timeouts.get(phase) if isinstance(timeouts, dict) else None
    return f" within {value:g} s" if isinstance(value, int | float) else ""


def _tls_words(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = error.verify_message or error.reason or "untrusted certificate"
        return f"TLS certificate verify failed ({detail})"
    reason = (error.reason or "").upper()
    if reason in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE"):
        return "TLS handshake failed: the server does not speak https on that port (plain http?)"
    return f"TLS handshake failed ({error.reason or type(error).__name__})"


_OS_WORDS = {
    errno.ECONNREFUSED: ("refused", "connection refused (nothing listens on that port)"),
    errno.ECONNRESET: ("reset", "the connection was reset by the other end"),
    errno.ENETUNREACH: ("other", "the network is unreachable from this machine"),
    errno.EHOSTUNREACH: ("other", "no route to the host"),
}


def _cause_in_chain(exc: httpx.TransportError) -> tuple[str, str] | None:
    for link in _chain(exc):
        if isinstance(link, socket.gaierror):
            return "dns", "the host name does not resolve (DNS lookup failed)"
        if isinstance(link, ssl.SSLError):
            return "tls", _tls_words(link)
        if isinstance(link, OSError) and link.errno in _OS_WORDS:
            return _OS_WORDS[link.errno]
    return None


def describe_transport(exc: httpx.TransportError) -> TransportFailure:
    """What happened to a request that got no usable answer, as a :class:`TransportFailure`."""
    host = request_host(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportFailure(
            host, "connect_timeout", f"no connection{_seconds(exc, 'connect')} (connect timeout)"
        )
    if isinstance(exc, httpx.ReadTimeout):
        return TransportFailure(
            host,
            "read_timeout",
            f"connected, but no answer came{_seconds(exc, 'read')} (read timeout)",
        )
    if isinstance(exc, httpx.WriteTimeout):
        return TransportFailure(
            host, "write_timeout", f"the request could not be sent{_seconds(exc, 'write')}"
        )
    if isinstance(exc, httpx.PoolTimeout):
        return TransportFailure(
            host, "pool_timeout", f"no free connection{_seconds(exc, 'pool')} (pool timeout)"
        )
    found = _cause_in_chain(exc)
    if found is not None:
        return TransportFailure(host, *found)
    if isinstance(exc, httpx.RemoteProtocolError):
        return TransportFailure(
            host, "protocol", "the server closed the connection or answered something not HTTP"
        )
    if isinstance(exc, httpx.ConnectError):
        return TransportFailure(host, "other", "the connection could not be opened")
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return TransportFailure(host, "reset", "the connection broke during the request")
    return TransportFailure(host, "other", f"no usable answer ({type(exc).__name__})")
