"""Credentials for Fusion REST: OAuth from the pod's identity domain, or Basic when configured.

Tokens are cached and renewed a few minutes before `expires_in` runs out so no request goes out
with a token about to die mid-flight. Every secret (client secret, password, private key,
assertion, access token) is registered with the shared redactor and kept out of reprs, so an
exception or a log line can never carry one.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import structlog
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ml_connector.errors import AuthError, ConfigError, RemoteError
from ml_connector.remote.http.outcome import error_from_response, error_from_transport, parse_json
from ml_connector.remote.http.redact import Redactor, default_redactor
from ml_connector.remote.http.retry import RetryPolicy

__all__ = [
    "DEFAULT_AUDIENCE",
    "Authenticator",
    "BasicAuth",
    "ClientCredentialsAuth",
    "JwtUserAssertionAuth",
]

DEFAULT_AUDIENCE = "https://identity.oraclecloud.com/"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_log = structlog.get_logger(__name__)


class Authenticator(Protocol):
    """What the Fusion client needs from a credential: a header value, and a way to drop it."""

    def authorization(self) -> str: ...

    def invalidate(self) -> None: ...


class BasicAuth:
    """HTTP Basic with a Fusion user; only used when configured explicitly (Oracle discourages
    it and some pods block it)."""

    def __init__(self, username: str, password: str, *, redactor: Redactor = default_redactor):
        if not username or not password:
            raise ConfigError("Basic auth needs a user name and a password")
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        redactor.add_secret(password)
        redactor.add_secret(token)
        self._header = f"Basic {token}"
        self._username = username

    def authorization(self) -> str:
        return self._header

    def invalidate(self) -> None:
        """Nothing cached to drop: a refused Basic credential stays refused."""

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username!r})"


class _OAuthTokenSource:
    """Token caching and the token call shared by the two OAuth grants."""

    operation = "oauth.token"

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        http: httpx.Client,
        retry: RetryPolicy | None = None,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        redactor: Redactor = default_redactor,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigError("OAuth needs a client id and a client secret")
        if not scope:
            raise ConfigError("OAuth scope is configuration: set it for this pod")
        self._token_url = token_url
        self._client_id = client_id
        self._scope = scope
        self._http = http
        self._retry = retry or RetryPolicy(max_attempts=3, max_elapsed=30.0)
        self._margin = refresh_margin
        self._clock = clock
        self._redactor = redactor
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        redactor.add_secret(client_secret)
        redactor.add_secret(basic)
        self._client_auth = f"Basic {basic}"
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def _grant(self) -> dict[str, str]:
        raise NotImplementedError

    def authorization(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - self._margin:
                self._token, lifetime = self._retry.call(self._fetch, operation=self.operation)
                self._expires_at = self._clock() + lifetime
            return f"Bearer {self._token}"

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        form = {**self._grant(), "scope": self._scope}
        try:
            response = self._http.post(
                self._token_url,
                data=form,
                headers={"Authorization": self._client_auth, "Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise error_from_transport(exc, operation=self.operation) from None
        if response.status_code != 200:
            error = error_from_response(response, operation=self.operation, redactor=self._redactor)
            if response.status_code in (400, 401, 403):
                # The identity domain answers a bad client, grant or scope with 400/401: that is
                # a credentials problem for the operator, not a payload problem.
                raise AuthError(
                    error.message, status=error.status, operation=self.operation, code=error.code
                ) from None
            raise error from None
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> tuple[str, float]:
        try:
            body: Any = parse_json(response.content)
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise RemoteError(
                "token endpoint answered without an access_token", operation=self.operation
            ) from None
        self._redactor.add_secret(token)
        _log.info("oracle.token", grant=self._grant_name(), expires_in=lifetime)
        return token, lifetime

    def _grant_name(self) -> str:
        return "unknown"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(client_id={self._client_id!r}, token_url={self._token_url!r})"
        )


class ClientCredentialsAuth(_OAuthTokenSource):
    """Two-legged OAuth: the client id itself must exist as a Fusion user with roles."""

    def _grant(self) -> dict[str, str]:
        return {"grant_type": "client_credentials"}

    def _grant_name(self) -> str:
        return "client_credentials"


class JwtUserAssertionAuth(_OAuthTokenSource):
    """JWT user assertion: acts as the named Fusion user (`sub`), signed RS256 with our key."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        username: str,
        private_key_pem: bytes,
        key_id: str,
        http: httpx.Client,
        audience: str = DEFAULT_AUDIENCE,
        assertion_lifetime: int = 300,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy | None = None,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        redactor: Redactor = default_redactor,
    ) -> None:
        super().__init__(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            http=http,
            retry=retry,
            refresh_margin=refresh_margin,
            clock=clock,
            redactor=redactor,
        )
        if not username or not key_id:
            raise ConfigError("JWT user assertion needs the Fusion user name and the key alias")
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        except (ValueError, TypeError):
            raise ConfigError("the JWT signing key is not an unencrypted PEM private key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("the JWT signing key must be an RSA key (RS256)")
        self._key = key
        self._username = username
        self._key_id = key_id
        self._audience = audience
        self._lifetime = assertion_lifetime
        self._wall_clock = wall_clock

    def assertion(self) -> str:
        """A freshly signed user assertion (`iss` = client id, `sub` = Fusion user)."""
        now = self._wall_clock()
        if now.tzinfo is None:
            raise ValueError("wall clock must return timezone-aware UTC datetimes")
        issued = int(now.timestamp())
        header = {"alg": "RS256", "typ": "JWT", "kid": self._key_id}
        claims = {
            "iss": self._client_id,
            "sub": self._username,
            "aud": self._audience,
            "iat": issued,
            "exp": issued + self._lifetime,
            "jti": str(uuid.uuid4()),
        }
        signing_input = f"{_b64url_json(header)}.{_b64url_json(claims)}"
        signature = self._key.sign(
            signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
        token = f"{signing_input}.{_b64url(signature)}"
        self._redactor.add_secret(token)
        return token

    def _grant(self) -> dict[str, str]:
        return {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion()}

    def _grant_name(self) -> str:
        return "jwt_user_assertion"

    def __repr__(self) -> str:
        return (
            f"JwtUserAssertionAuth(client_id={self._client_id!r}, username={self._username!r}, "
            f"token_url={self._token_url!r})"
        )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_json(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())
