"""A remote that did not answer, told in one plain line: which host, and what happened.

A ``ConnectionFailedError`` built by ``remote.http.outcome.error_from_transport`` already says
it ("cannot reach HOST: CAUSE", the words `connection test` uses). For anything else the kind
of failure (refused, DNS, TLS, timeout, reset) is read from the exception chain: the clients
raise ``from None``, which keeps the httpx and OS errors as ``__context__``.

Used by the poster's circuit breaker (Oracle) and by extract's per-region isolation (Amazon).
"""

from __future__ import annotations

import errno
import socket
import ssl

import httpx

from ml_connector.errors import ConnectionFailedError, RemoteError
from ml_connector.remote.http.outcome import RedirectedError

__all__ = ["unreachable_words"]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 12:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def unreachable_words(exc: BaseException | None, host: str) -> str:
    """E.g. ``cannot reach 127.0.0.1:8100: connection refused (nothing listens on that port)``
    (the words of a ``ConnectionFailedError`` that names its host), else from the exception
    chain: ``connection refused by h``, ``no connection to h (connect timeout)``, or for an
    answer ``h answered HTTP 503 (Service Unavailable)``. ``host`` (``host`` or ``host:port``,
    never a URL path) is used when the error does not name one."""
    if isinstance(exc, ConnectionFailedError) and exc.host:
        return exc.message  # "cannot reach HOST: CAUSE" (remote.http.outcome)
    host = str(getattr(exc, "host", None) or host)
    if exc is None:
        return f"no answer from {host}"
    for link in _chain(exc):
        if isinstance(link, socket.gaierror):
            return f"the host name {host.rsplit(':', 1)[0]} does not resolve (DNS)"
        if isinstance(link, ssl.SSLError):
            return f"TLS handshake with {host} failed ({link.reason or type(link).__name__})"
        if isinstance(link, httpx.ConnectTimeout):
            return f"no connection to {host} (connect timeout)"
        if isinstance(link, httpx.TimeoutException):
            return f"{host} did not answer in time (timeout)"
        if isinstance(link, OSError) and link.errno == errno.ECONNREFUSED:
            return f"connection refused by {host}"
        if isinstance(link, OSError) and link.errno == errno.ECONNRESET:
            return f"{host} reset the connection"
    if isinstance(exc, RedirectedError):
        where = f" to {exc.location}" if exc.location else ""
        return f"{host} redirected{where} (a sign-on or maintenance page?)"
    if isinstance(exc, RemoteError) and exc.status is not None:
        return f"{host} answered HTTP {exc.status} ({_clip(exc.message, 120)})"
    if isinstance(exc, RemoteError):
        return f"no usable answer from {host} ({_clip(exc.message, 120)})"
    return f"no usable answer from {host} ({type(exc).__name__})"
