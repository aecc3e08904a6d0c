"""The SP-API requestor: one place where a call is paced, authenticated, retried and judged.

Every operation module (orders, finances, reports) goes through ``SpApiClient.call``. URLs are
built by appending the operation path to the region's base URL *as text*, so a base URL with a
path (the simulator serves ``http://127.0.0.1:P/eu``) works exactly like Amazon's bare host.

Rate limits and retries are separate pieces: each *attempt* first takes a token from the bucket
of (seller, region, operation), so a 429 storm cannot make us send faster than the bucket allows;
the retry policy decides whether and when to attempt again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import structlog

from ml_connector.errors import ConfigError
from ml_connector.remote.amazon.auth import LwaAuth, LwaCredentials, LwaTokenProvider
from ml_connector.remote.amazon.finances import FinancesApi
from ml_connector.remote.amazon.flatfile import DownloadedDocument
from ml_connector.remote.amazon.limits import limit_for
from ml_connector.remote.amazon.marketplaces import LWA_TOKEN_URL, Region, region_host
from ml_connector.remote.amazon.orders import OrdersApi
from ml_connector.remote.amazon.params import QueryValue, query_params
from ml_connector.remote.amazon.reports import ReportsApi
from ml_connector.remote.http.outcome import (
    error_from_response,
    error_from_transport,
    parse_json,
    request_id_of,
)
from ml_connector.remote.http.ratelimit import RateLimiter
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.http.session import build_client

__all__ = ["BucketKey", "SpApiClient", "default_limiter"]

BucketKey = tuple[str, str, str]
"""(seller id, region, operation): Amazon meters each operation per selling partner."""

_log = structlog.get_logger(__name__)


def default_limiter(
    clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
) -> RateLimiter[BucketKey]:
    return RateLimiter(lambda key: limit_for(key[2]), clock=clock, sleep=sleep)


class SpApiClient:
    """Calls SP-API for one seller in one region (a refresh token belongs to one region)."""

    def __init__(
        self,
        *,
        seller_id: str,
        region: Region | str,
        credentials: LwaCredentials,
        base_url: str | None = None,
        lwa_url: str = LWA_TOKEN_URL,
        http: httpx.Client | None = None,
        limiter: RateLimiter[BucketKey] | None = None,
        retry: RetryPolicy | None = None,
        token_provider: LwaTokenProvider | None = None,
    ) -> None:
        try:
            self.region = Region(region)
        except ValueError:
            raise ConfigError(f"unknown SP-API region {region!r}") from None
        self.seller_id = seller_id
        self.base_url = (base_url or region_host(self.region)).rstrip("/")
        if not self.base_url.startswith(("https://", "http://")):
            raise ConfigError("SP-API base URL must be http(s)")
        self._owns_http = http is None
        self.http = http or build_client()
        self.limiter = limiter or default_limiter()
        self.retry = retry or RetryPolicy()
        self.tokens = token_provider or LwaTokenProvider(
            credentials, http=self.http, token_url=lwa_url
        )
        self._auth = LwaAuth(self.tokens)
        self._last = threading.local()

    @property
    def last_request_id(self) -> str | None:
        """Amazon's x-amzn-RequestId of the last response this thread received (audit trail)."""
        return getattr(self._last, "request_id", None)

    def __repr__(self) -> str:
        return f"SpApiClient(seller_id={self.seller_id!r}, region={self.region.value!r})"

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> SpApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def orders(self) -> OrdersApi:
        return OrdersApi(self)

    @property
    def finances(self) -> FinancesApi:
        return FinancesApi(self)

    @property
    def reports(self) -> ReportsApi:
        return ReportsApi(self, sleep=self.retry.sleep, clock=self.retry.clock)

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> Any:
        """One operation: paced, authenticated, retried; returns the parsed JSON body."""
        url = self.url(path)
        query = query_params(params or {})
        bucket = self.limiter.bucket((self.seller_id, self.region.value, operation))

        def attempt() -> Any:
            bucket.acquire()
            started = time.monotonic()
            try:
                response = self.http.request(
                    method, url, params=query, json=json_body, auth=self._auth
                )
            except httpx.TransportError as exc:
                raise error_from_transport(exc, operation=operation) from None
            bucket.update_rate_from_header(response.headers.get("x-amzn-RateLimit-Limit"))
            self._last.request_id = request_id_of(response)
            _log.debug(
                "spapi.call",
                operation=operation,
                status=response.status_code,
                request_id=request_id_of(response),
                ms=round((time.monotonic() - started) * 1000),
            )
            if response.status_code == 429:
                bucket.drain()
            if not response.is_success:
                raise error_from_response(response, operation=operation)
            return parse_json(response.content) if response.content else {}

        return self.retry.call(attempt, operation=operation)

    def download(
        self, url: str, *, operation: str = "downloadReportDocument"
    ) -> DownloadedDocument:
        """Fetch a presigned document URL: no access token (it is another host), same retries.

        The ``Content-Type`` comes back with the bytes: its charset says how to decode them."""

        def attempt() -> DownloadedDocument:
            try:
                response = self.http.get(url)
            except httpx.TransportError as exc:
                raise error_from_transport(exc, operation=operation) from None
            if not response.is_success:
                raise error_from_response(response, operation=operation)
            return DownloadedDocument(response.content, response.headers.get("Content-Type"))

        return self.retry.call(attempt, operation=operation)
