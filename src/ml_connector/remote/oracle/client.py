"""The one requestor every Fusion call goes through: headers, pacing, errors, retries, paging.

Rules it enforces for all resources:
- `REST-Framework-Version: 4` on every call. Version 4 is the first that answers errors as JSON
  with `o:errorDetails` (each failed validation with Oracle's message name), and it uses the
  row-match `q` syntax with quoted literals, so an Amazon order id can be matched exactly. Later
  versions add nothing we use and v9 changes id types. Plain-text errors are still parsed, for
  proxies and pods that ignore the header (reference/oracle-fusion.md §1.3, §3.3).
- GETs are retried with the shared policy (full-jitter backoff, Retry-After honoured); POSTs are
  sent exactly once: deciding whether to send again is the caller's job, after a look-up.
  `answer_lost` and `may_have_landed` say what a failed POST leaves open: a connection that never
  opened (`RequestNotSent`) or a 429 carried nothing out; a broken connection, a timeout or a
  gateway's 502/504 leave the outcome unknown; a 5xx from Oracle itself ends a synchronous
  create, but not the import an `importBulkData` POST may have started.
- Every operation has its own token bucket; a 429 drains it so the next callers slow down too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import structlog

from ml_connector.errors import (
    ConnectionFailedError,
    RateLimitedError,
    RemoteError,
    ServerError,
    TransientError,
)
from ml_connector.remote.http.outcome import (
    error_from_response,
    error_from_transport,
    parse_json,
    request_id_of,
)
from ml_connector.remote.http.ratelimit import RateLimiter
from ml_connector.remote.http.redact import Redactor, default_redactor
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.http.session import build_client
from ml_connector.remote.oracle.auth import Authenticator
from ml_connector.remote.oracle.pod import FusionEndpoint
from ml_connector.remote.oracle.wire import encode

__all__ = [
    "REST_FRAMEWORK_VERSION",
    "FusionClient",
    "RequestNotSent",
    "answer_lost",
    "may_have_landed",
    "oracle_message",
]

REST_FRAMEWORK_VERSION = "4"
ITEM_MEDIA_TYPE = "application/vnd.oracle.adf.resourceitem+json"
DEFAULT_RATE = (5.0, 10.0)  # Oracle publishes no REST numbers; configurable per operation
MAX_PAGE_SIZE = 500
_log = structlog.get_logger(__name__)


class RequestNotSent(ConnectionFailedError):
    """No connection could be opened, so the request never left this machine."""


_GATEWAY_STATUSES = frozenset({502, 504})


def answer_lost(error: BaseException) -> bool:
    """True when a POST got no usable answer although Oracle may have received it: the
    connection broke or timed out after sending, or a gateway (502/504) says the server behind it
    did not answer in time. Oracle may have carried it out, or may still be doing so."""
    if isinstance(error, RequestNotSent):
        return False
    if isinstance(error, ConnectionFailedError):
        return True
    return isinstance(error, ServerError) and error.status in _GATEWAY_STATUSES


def may_have_landed(error: BaseException, *, starts_a_job: bool) -> bool:
    """Whether Oracle may hold what a failed POST asked for, so only a look-up may decide.

    A throttled (429) or never-sent request carried nothing out. Any other transient failure of
    a POST that starts a job (``importBulkData``) may have started it: even a 5xx can come after
    the job was submitted, and the job runs on. A synchronous create that answered 5xx has
    finished; the caller's own look-up after that answer decides it.
    """
    if not isinstance(error, TransientError) or isinstance(error, RateLimitedError):
        return False
    if isinstance(error, RequestNotSent):
        return False
    return starts_a_job or answer_lost(error)


def oracle_message(body: Any) -> tuple[str | None, str | None]:
    """`(code, message)` from an ADF error payload, keeping *every* `o:errorDetails` text:
    Oracle reports each failed validation separately and the operator needs all of them."""
    if not isinstance(body, dict):
        return None, None
    details = body.get("o:errorDetails")
    if isinstance(details, list) and details:
        texts = [str(d.get("detail")) for d in details if isinstance(d, dict) and d.get("detail")]
        codes = [d.get("o:errorCode") for d in details if isinstance(d, dict)]
        code = body.get("o:errorCode") or next((c for c in codes if c), None)
        if texts:
            return (str(code) if code else None), "; ".join(texts)
    detail = body.get("detail") or body.get("title")
    code = body.get("o:errorCode")
    return (str(code) if code else None), (str(detail) if detail else None)


class FusionClient:
    """A Fusion REST session for one pod; thread-safe as long as the httpx client is."""

    def __init__(
        self,
        endpoint: FusionEndpoint,
        auth: Authenticator,
        *,
        http: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter[str] | None = None,
        rates: Mapping[str, tuple[float, float]] | None = None,
        redactor: Redactor = default_redactor,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self._auth = auth
        self._own_http = http is None
        self._http = http or build_client()
        self._retry = retry or RetryPolicy()
        configured = dict(rates or {})
        self._limiter = limiter or RateLimiter[str](lambda op: configured.get(op, DEFAULT_RATE))
        self._redactor = redactor
        self._monotonic = monotonic
        self._last = threading.local()

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> FusionClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FusionClient(origin={self.endpoint.origin!r})"

    # -- single calls -----------------------------------------------------------------------

    def authorize(self) -> None:
        """Get the bearer token now (or keep the cached one), so a caller learns that Oracle's
        identity domain does not answer or refuses the credentials before it starts a document.
        Raises what the token request raises (``AuthError``, ``ConnectionFailedError``…, with
        operation ``oauth.token``); nothing for basic auth."""
        self._auth.authorization()

    @property
    def last_request_id(self) -> str | None:
        """Oracle's ECID of the last response this thread received, for the audit trail."""
        return getattr(self._last, "request_id", None)

    def get(self, path: str, params: Mapping[str, str] | None = None, *, operation: str) -> Any:
        """GET a resource (retried on 429, 5xx and transport failures)."""
        return self._retry.call(
            lambda: self._send("GET", path, params=params, operation=operation),
            operation=operation,
        )

    def post(self, path: str, body: Mapping[str, Any], *, operation: str) -> Any:
        """POST once. A `TransientError` means the outcome is unknown: look the key up."""
        return self._send("POST", path, body=body, operation=operation)

    def iter_items(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        operation: str,
        page_size: int = 100,
        max_pages: int = 10_000,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page by page with limit/offset, until `hasMore` is false."""
        size = max(1, min(page_size, MAX_PAGE_SIZE))
        offset = 0
        for _ in range(max_pages):
            page_params = {**(params or {}), "limit": str(size), "offset": str(offset)}
            page = self.get(path, page_params, operation=operation)
            items = page.get("items", []) if isinstance(page, dict) else []
            yield from (item for item in items if isinstance(item, dict))
            if not (isinstance(page, dict) and page.get("hasMore") is True):
                return
            if not items:
                raise RemoteError(
                    "Oracle said hasMore but sent an empty page; stopping", operation=operation
                )
            offset += len(items)
        raise RemoteError(f"more than {max_pages} pages; stopping", operation=operation)

    # -- plumbing -----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        response = self._exchange(method, path, operation=operation, params=params, body=body)
        if response.status_code == 401:
            # An expired or revoked token is refused before Oracle does anything, so one fresh
            # token and one more try is safe even for a POST.
            self._auth.invalidate()
            response = self._exchange(method, path, operation=operation, params=params, body=body)
        if not response.is_success:  # a 3xx is an error naming its Location, never "empty"
            error = error_from_response(
                response, operation=operation, parse_message=oracle_message, redactor=self._redactor
            )
            if isinstance(error, RateLimitedError) or response.status_code == 503:
                self._limiter.bucket(operation).drain()
            raise error
        if response.status_code == 204 or not response.content:
            return None
        try:
            return parse_json(response.content)
        except ValueError:
            raise RemoteError(
                "Oracle answered with a body that is not JSON",
                status=response.status_code,
                request_id=request_id_of(response),
                operation=operation,
            ) from None

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> httpx.Response:
        self._limiter.acquire(operation)
        authorization = self._auth.authorization()
        headers = {
            "Authorization": authorization,
            "REST-Framework-Version": REST_FRAMEWORK_VERSION,
            "Accept": "application/json",
        }
        content: bytes | None = None
        if body is not None:
            content = encode(body).encode("utf-8")
            headers["Content-Type"] = (
                "application/json" if path.startswith("erpintegrations") else ITEM_MEDIA_TYPE
            )
        started = self._monotonic()
        try:
            response = self._http.request(
                method,
                self.endpoint.url(path),
                params=dict(params) if params else None,
                content=content,
                headers=headers,
            )
        except httpx.TransportError as exc:
            _log.warning(
                "oracle.call", operation=operation, method=method, error=type(exc).__name__
            )
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                raise error_from_transport(exc, operation=operation, cls=RequestNotSent) from None
            raise error_from_transport(exc, operation=operation) from None
        self._last.request_id = request_id_of(response)
        _log.info(
            "oracle.call",
            operation=operation,
            method=method,
            status=response.status_code,
            ecid=self._last.request_id,
            ms=round((self._monotonic() - started) * 1000),
        )
        return response
