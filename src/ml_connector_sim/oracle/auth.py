"""The pod's identity domain (``/oauth2/v1/token``) and the bearer/basic check on REST calls.

Client credentials and JWT user assertions are both accepted, as OCI IAM does for Fusion. By
default any non-empty client id and secret get a token (a demo needs no setup); a strict setup
checks them against its registered clients. Tokens live 3600 s on the simulator's clock, so a
test can expire them by moving the clock instead of sleeping.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ml_connector_sim.oracle.tenant import Auth

TOKEN_LIFETIME = timedelta(seconds=3600)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Grant:
    subject: str
    client_id: str
    scope: str
    expires_at: datetime


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_TOKEN_HEADER = _b64url(b'{"alg":"HS256","typ":"JWT"}')


class IdentityDomain:
    """Issues and checks tokens; never logs or echoes a secret."""

    def __init__(self, auth: Auth, clock: Callable[[], datetime], *, strict: bool) -> None:
        self._auth = auth
        self._clock = clock
        self._strict = strict or auth.strict
        self._key = secrets.token_bytes(32)
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self._public_key: rsa.RSAPublicKey | None = None
        if auth.jwt_public_key_pem:
            key = serialization.load_pem_public_key(auth.jwt_public_key_pem.encode("ascii"))
            if not isinstance(key, rsa.RSAPublicKey):
                raise ValueError("auth.jwt_public_key_pem: only RSA keys are supported")
            self._public_key = key

    # -- client authentication ---------------------------------------------------------------

    def client_ok(self, client_id: str, secret: str) -> bool:
        if not client_id or not secret:
            return False
        if not self._strict:
            return True
        for client in self._auth.clients:
            if hmac.compare_digest(client.client_id, client_id) and hmac.compare_digest(
                client.client_secret.get_secret_value(), secret
            ):
                return True
        return False

    def _scope_ok(self, scope: str) -> bool:
        wanted = scope.split()
        return bool(wanted) and all(
            any(item.endswith(allowed) for allowed in self._auth.scopes) for item in wanted
        )

    def _check_assertion(self, assertion: str, client_id: str) -> str:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise _OAuthError(400, "invalid_grant", "The assertion is not a signed JWT.")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            raise _OAuthError(400, "invalid_grant", "The assertion is not a valid JWT.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _OAuthError(400, "invalid_grant", "The assertion is not a valid JWT.")
        if header.get("alg") != "RS256":
            raise _OAuthError(400, "invalid_grant", "The assertion must be signed with RS256.")
        for claim in ("sub", "iss", "exp", "iat"):
            if claim not in claims:
                raise _OAuthError(400, "invalid_grant", f"The assertion has no {claim} claim.")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self._auth.jwt_audience not in audiences:
            raise _OAuthError(400, "invalid_grant", "The assertion audience is not valid.")
        if claims.get("iss") != client_id:
            raise _OAuthError(400, "invalid_grant", "The assertion issuer is not the client.")
        try:
            expires = float(claims["exp"])
        except (TypeError, ValueError):
            raise _OAuthError(400, "invalid_grant", "The assertion exp is not a number.") from None
        if expires <= self._clock().timestamp():
            raise _OAuthError(400, "invalid_grant", "The assertion has expired.")
        if self._public_key is not None:
            signed = f"{parts[0]}.{parts[1]}".encode("ascii")
            try:
                self._public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                raise _OAuthError(
                    400, "invalid_grant", "The assertion signature is invalid."
                ) from None
        return str(claims["sub"])

    def issue(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            client_id, _, secret = decoded.partition(":")
        if not self.client_ok(client_id, secret):
            raise _OAuthError(401, "invalid_client", "Client authentication failed.")
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            subject = client_id
        elif grant_type == JWT_BEARER:
            assertion = form.get("assertion", "")
            if not assertion:
                raise _OAuthError(400, "invalid_request", "The assertion parameter is missing.")
            subject = self._check_assertion(assertion, client_id)
        else:
            raise _OAuthError(400, "unsupported_grant_type", "The grant type is not supported.")
        scope = form.get("scope", "")
        if not self._scope_ok(scope):
            raise _OAuthError(
                400, "invalid_scope", "The requested scope is invalid, unknown, or malformed."
            )
        now = self._clock()
        grant = Grant(subject, client_id, scope, now + TOKEN_LIFETIME)
        payload = {
            "sub": subject,
            "client_id": client_id,
            "scope": scope,
            "iat": int(now.timestamp()),
            "exp": int(grant.expires_at.timestamp()),
            "jti": secrets.token_hex(8),
        }
        body = f"{_TOKEN_HEADER}.{_b64url(json.dumps(payload).encode())}"
        token = f"{body}.{_b64url(hmac.new(self._key, body.encode(), hashlib.sha256).digest())}"
        with self._lock:
            self._grants[token] = grant
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
        }

    def expire_all(self) -> None:
        """Invalidate every issued token, as a pod restart or a revoked app would."""
        with self._lock:
            self._grants.clear()

    def authenticate(self, authorization: str | None) -> str | None:
        """The Fusion user a REST call acts as, or None when it must get a 401."""
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            with self._lock:
                grant = self._grants.get(value.strip())
            if grant is None or grant.expires_at <= self._clock():
                return None
            return grant.subject
        if scheme.lower() == "basic" and self._auth.allow_basic_auth:
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, _, password = decoded.partition(":")
            return user if self.client_ok(user, password) else None
        return None


def token_router(identity: IdentityDomain) -> APIRouter:
    router = APIRouter()

    @router.post("/oauth2/v1/token", include_in_schema=False)
    async def token(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            body = identity.issue(form, request.headers.get("Authorization"))
        except _OAuthError as exc:
            return JSONResponse(
                {"error": exc.error, "error_description": exc.description},
                status_code=exc.status,
                headers={"Cache-Control": "no-store"},
            )
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return router
