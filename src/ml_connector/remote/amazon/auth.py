"""Login with Amazon: trade a seller's refresh token for short-lived access tokens.

One ``LwaTokenProvider`` per (seller, region) keeps the current access token and refreshes it
when less than five minutes of its life remain, so a long report download never starts with a
token that dies halfway. ``LwaAuth`` plugs it into httpx and, when Amazon still answers 403
"access token ... expired" (clock skew, revoked early), refreshes once and resends.

Secrets are registered with the redactor as soon as they are seen and never appear in a repr.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import httpx
import structlog

from ml_connector.errors import AuthError, RemoteError, TransientError
from ml_connector.remote.http.outcome import (
    error_from_response,
    error_from_transport,
    generic_message,
    parse_json,
)
from ml_connector.remote.http.redact import Redactor, default_redactor

__all__ = [
    "REFRESH_MARGIN_S",
    "LwaAuth",
    "LwaCredentials",
    "LwaTokenProvider",
    "is_expired_token_response",
]

REFRESH_MARGIN_S = 300.0
DEFAULT_EXPIRES_IN_S = 3600.0
_ACCESS_HEADER = "x-amz-access-token"

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LwaCredentials:
    """An LWA application's client id/secret plus one seller's refresh token for one region."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)


class LwaTokenProvider:
    """Caches one access token and refreshes it ahead of expiry; safe to share between threads."""

    def __init__(
        self,
        credentials: LwaCredentials,
        *,
        http: httpx.Client,
        token_url: str,
        clock: Callable[[], float] = time.monotonic,
        margin_s: float = REFRESH_MARGIN_S,
        redactor: Redactor = default_redactor,
    ) -> None:
        self._credentials = credentials
        self._http = http
        self._token_url = token_url
        self._clock = clock
        self._margin = margin_s
        self._redactor = redactor
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.refresh_count = 0
        redactor.add_secret(credentials.client_secret)
        redactor.add_secret(credentials.refresh_token)

    def __repr__(self) -> str:
        return f"LwaTokenProvider(client_id={self._credentials.client_id!r})"

    def token(self) -> str:
        """A valid access token, refreshed first if it expires within the margin."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - self._margin:
                self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Amazon refused it); a newer token fetched meanwhile is kept."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._credentials.refresh_token,
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret,
        }
        try:
            response = self._http.post(
                self._token_url,
                data=form,
                headers={"content-type": "application/x-www-form-urlencoded;charset=UTF-8"},
            )
        except httpx.TransportError as exc:
            raise error_from_transport(exc, operation="lwa.token") from None
        if not response.is_success:
            raise self._error(response)
        try:
            body = parse_json(response.content)
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in") or DEFAULT_EXPIRES_IN_S)
        except (ValueError, KeyError, TypeError):
            raise AuthError(
                "LWA answered without an access token",
                status=response.status_code,
                operation="lwa.token",
            ) from None
        self._redactor.add_secret(token)
        self._token = token
        self._expires_at = self._clock() + expires_in
        self.refresh_count += 1
        _log.info(
            "lwa.token.refreshed", client_id=self._credentials.client_id, expires_in=expires_in
        )

    def _error(self, response: httpx.Response) -> RemoteError:
        err = error_from_response(
            response, operation="lwa.token", parse_message=generic_message, redactor=self._redactor
        )
        if isinstance(err, TransientError):
            return err
        # invalid_grant, invalid_client...: only new credentials help, whatever the status.
        return AuthError(
            err.message,
            status=err.status,
            request_id=err.request_id,
            operation=err.operation,
            code=err.code,
        )


def is_expired_token_response(response: httpx.Response) -> bool:
    """Amazon's 403 for a stale token says "The access token you provided has expired."."""
    if response.status_code != 403:
        return False
    return "expired" in response.text.lower()


class LwaAuth(httpx.Auth):
    """Sets the access token; on an expired-token 403, refreshes once and resends."""

    requires_response_body = True

    def __init__(self, provider: LwaTokenProvider) -> None:
        self._provider = provider

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._provider.token()
        request.headers[_ACCESS_HEADER] = token
        response = yield request
        if is_expired_token_response(response):
            _log.info("lwa.token.expired_on_call", path=request.url.path)
            self._provider.invalidate(token)
            request.headers[_ACCESS_HEADER] = self._provider.token()
            yield request
