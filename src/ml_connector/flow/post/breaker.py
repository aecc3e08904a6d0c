"""The posting pass's circuit breaker: stop asking Oracle once it has stopped answering.

Without it, a pass against a pod that is down tries document after document, each with its own
look-up and retries, for many minutes, and ends with every document in ``retry``. The breaker
counts *consecutive* failures that say "Oracle is not there" — no connection, a timeout, a 5xx
after the request's retries, a redirect to a sign-on or maintenance page, credentials refused
even after a fresh token — and opens after ``threshold`` of them (at once for refused
credentials: the next document would be refused the same way, and at once for a failed token
request: every document needs the token, and its call has had its retries). Any answer Oracle
gives about a document (posted, found, a 400 rejecting it, a 429) closes the count again: a
business rejection says nothing about Oracle being away. A 5xx opens only the route it came
from (invoices over REST, or the FBDI imports), since one Fusion service can fail while the
others work; no connection, a failed token request or refused credentials open every route.

Before a document is begun the pass gets Oracle's token (``OutboxSteps._authorized``): a token
request that fails sent nothing, so the document keeps its state instead of being "sent
without an answer".

Open, the pass starts no further document: they keep their state (planned or retry) for the
next cycle, whose look-up-before-resend posts each exactly once. While the breaker has seen a
failure, or is open, the requests made under it (``retry_budget``) retry less, so it trips within
seconds rather than after each request's full retry budget.

A breaker lives for one pass: the next cycle starts closed (a half-open probe every cycle is
what a scheduler running ``sync`` already is).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ml_connector.errors import (
    AuthError,
    ConnectionFailedError,
    RateLimitedError,
    RemoteError,
    TransientError,
)
from ml_connector.flow.failures import unreachable_words
from ml_connector.remote.explain import describe_failure
from ml_connector.remote.http.outcome import RedirectedError
from ml_connector.remote.oracle.imports import ImportStillRunning

__all__ = ["TOKEN_CALL", "BreakerSettings", "OracleBreaker", "is_outage", "outage_words"]

#: The operation of Oracle's OAuth token request (``remote/oracle/auth.py``): a failure there
#: sent no document, and stops every document alike.
TOKEN_CALL = "oauth.token"


@dataclass(frozen=True)
class BreakerSettings:
    """``threshold``: consecutive outage failures that open the breaker. ``request_budget``:
    seconds a request may spend retrying while posting (the policy's own cap is minutes);
    ``suspect_attempts`` / ``suspect_budget``: attempts and seconds per request once a failure
    has been seen; ``silence``: see below."""

    threshold: int = 3
    request_budget: float = 15.0
    suspect_attempts: int = 2
    suspect_budget: float = 5.0
    #: A host-wide failure after this many seconds without any answer opens the breaker at
    #: once: with connect timeouts (a pod that drops connections) three failures one after the
    #: other would take minutes.
    silence: float = 30.0

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.suspect_attempts < 1:
            raise ValueError("threshold and suspect_attempts must be at least 1")


def is_outage(exc: BaseException) -> bool:
    """Whether a failure says Oracle is away (not that it refused one document).

    Transport failures, 5xx, 408/425 and a sign-on redirect are; refused credentials are. A 429
    (Oracle answers, slowly), an import still running, and every 4xx about the document
    (400, 404, 409) are not.
    """
    if isinstance(exc, RateLimitedError | ImportStillRunning):
        return False
    return isinstance(exc, TransientError | AuthError | RedirectedError | httpx.TransportError)


def is_token_failure(exc: BaseException) -> bool:
    """Whether ``exc`` came from the OAuth token request (nothing of a document was sent)."""
    return isinstance(exc, RemoteError) and exc.operation == TOKEN_CALL


def _host_wide(exc: BaseException) -> bool:
    """A failure of the host or the account, not of one service: no connection, a timeout,
    a sign-on redirect, refused credentials, the token request. A 5xx may be one service's
    (invoices down while imports work)."""
    if isinstance(exc, ConnectionFailedError | httpx.TransportError | AuthError):
        return True
    if is_token_failure(exc):
        return True
    return isinstance(exc, RedirectedError)


class OracleBreaker:
    """Consecutive outage failures of one pass, per route and for the whole host; thread-safe
    (the invoice workers share it).

    A route is a service of the pod the pass posts through (``invoices``: REST Receivables;
    ``imports``: FBDI through erpintegrations). ``threshold`` consecutive outage failures on a
    route open that route; ``threshold`` consecutive host-wide ones (see ``_host_wide``), on any
    routes, or one refused credential, or one failed token request, or one after ``silence``
    seconds in which Oracle answered nothing, open them all. An answer on a route closes the
    counts of that route and of the host.

    Also a ``remote.http.retry.RetryBudget``: enter ``retry_budget(breaker)`` around the calls.
    """

    def __init__(
        self,
        settings: BreakerSettings | None = None,
        *,
        origin: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or BreakerSettings()
        self._origin = origin
        self._clock = clock
        self._answered_at = clock()  # the pass's start counts as an answer
        self._lock = threading.Lock()
        self._host = 0  # consecutive host-wide failures
        self._routes: dict[str, int] = {}  # consecutive outage failures per route
        self._opened: dict[str, BaseException] = {}  # open route → the failure that opened it
        self._host_open = False
        self._last: BaseException | None = None
        #: Outage failures seen in this pass in all (for the log and the tests).
        self.failures = 0

    @property
    def open(self) -> bool:
        """Whether any route (or the whole host) is open: the pass did not post everything."""
        return self._host_open or bool(self._opened)

    def is_open(self, route: str) -> bool:
        return self._host_open or route in self._opened

    @property
    def refused(self) -> bool:
        """Whether Oracle refused the credentials (an ``AuthError`` opened the breaker): that
        never heals by itself, unlike an outage."""
        return isinstance(self._last, AuthError)

    @property
    def last_error(self) -> BaseException | None:
        """The failure that opened the breaker (the host, else the first route opened)."""
        return self._last

    def answered(self, route: str) -> None:
        """Oracle answered a call on ``route`` about a document (whatever it said)."""
        with self._lock:
            self._host = 0
            self._answered_at = self._clock()
            if route not in self._opened:
                self._routes[route] = 0

    def failed(self, exc: BaseException, route: str) -> bool:
        """Record a failure on ``route``; returns whether it counted as an outage. Not an
        outage (a 400 about the document, a 429) means Oracle answered: the counts restart."""
        if not is_outage(exc):
            self.answered(route)
            return False
        threshold = self.settings.threshold
        with self._lock:
            self.failures += 1
            count = self._routes.get(route, 0) + 1
            self._routes[route] = count
            if _host_wide(exc):
                self._host += 1
                silent = self._clock() - self._answered_at >= self.settings.silence
                at_once = isinstance(exc, AuthError) or is_token_failure(exc) or silent
                if not self._host_open and (at_once or self._host >= threshold):
                    self._host_open = True
                    self._last = exc
            if route not in self._opened and count >= threshold:
                self._opened[route] = exc
                if self._last is None:
                    self._last = exc
        return True

    def cap(self) -> tuple[int, float]:
        """The retry budget for a request made now (see the module doc)."""
        settings = self.settings
        if self._host_open:
            return 1, 0.0
        suspect = self._host or any(n for r, n in self._routes.items() if r not in self._opened)
        if suspect or self._opened:
            return settings.suspect_attempts, min(settings.suspect_budget, settings.request_budget)
        return 1_000_000, settings.request_budget

    def summary_line(self, left: int) -> str:
        """One plain line for the run record and the CLI: why posting stopped, and how many
        documents wait for the next cycle."""
        exc = self._last
        documents = "document" if left == 1 else "documents"
        tail = f" — {left} {documents} left for the next cycle"
        if isinstance(exc, AuthError):
            return f"{describe_failure(exc)}{tail}"  # connection test's words
        words = outage_words(exc, self._origin)
        if not self._host_open and self._opened:
            words += " for " + " and ".join(sorted(self._opened))
        return f"Oracle unreachable: {words}{tail}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _host(origin: str) -> str:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return ""
    return parts.netloc or origin


def outage_words(exc: BaseException | None, origin: str = "") -> str:
    """What went wrong talking to Oracle at ``origin`` (``failures.unreachable_words``)."""
    return unreachable_words(exc, _host(origin) or "Oracle")
