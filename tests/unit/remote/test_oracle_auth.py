"""OAuth tokens are fetched once, reused, renewed ahead of expiry, and never leak."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ml_connector.errors import AuthError, ConfigError
from ml_connector.remote.http.redact import Redactor
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.oracle import BasicAuth, ClientCredentialsAuth, JwtUserAssertionAuth

TOKEN_URL = "http://127.0.0.1:1/oauth2/v1/token"
SECRET = "client-secret-value-xyz"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token_server(calls: list[dict[str, list[str]]], status: int = 200) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        calls.append(form)
        assert request.headers["authorization"].startswith("Basic ")
        if status != 200:
            return httpx.Response(
                status,
                json={
                    "error": "invalid_client",
                    "error_description": "Client authentication failed.",
                },
            )
        return httpx.Response(
            200,
            json={
                "access_token": f"tok-{len(calls)}-abcdef",
                "token_type": "Bearer",
                "expires_in": 3600,
            },
        )

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_client_credentials_token_is_cached_and_renewed_before_expiry() -> None:
    calls: list[dict[str, list[str]]] = []
    clock = Clock()
    auth = ClientCredentialsAuth(
        token_url=TOKEN_URL,
        client_id="cid",
        client_secret=SECRET,
        scope="urn:opc:resource:consumer::all",
        http=_token_server(calls),
        clock=clock,
        redactor=Redactor(),
    )
    assert auth.authorization() == "Bearer tok-1-abcdef"
    clock.now += 3000  # 600 s left: still outside the 300 s margin
    assert auth.authorization() == "Bearer tok-1-abcdef"
    clock.now += 301  # inside the margin
    assert auth.authorization() == "Bearer tok-2-abcdef"
    assert calls[0]["grant_type"] == ["client_credentials"]
    assert calls[0]["scope"] == ["urn:opc:resource:consumer::all"]
    auth.invalidate()
    assert auth.authorization() == "Bearer tok-3-abcdef"


def test_refused_client_is_an_auth_error_without_the_secret() -> None:
    redactor = Redactor()
    auth = ClientCredentialsAuth(
        token_url=TOKEN_URL,
        client_id="cid",
        client_secret=SECRET,
        scope="s",
        http=_token_server([], status=401),
        redactor=redactor,
    )
    with pytest.raises(AuthError, match="Client authentication failed") as caught:
        auth.authorization()
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert SECRET not in repr(auth)
    assert redactor.text(f"oops {SECRET}") == "oops ***"


def test_token_endpoint_5xx_is_retried() -> None:
    answers = iter(
        [
            httpx.Response(503, text="busy"),
            httpx.Response(200, json={"access_token": "t-123456", "expires_in": 3600}),
        ]
    )
    http = httpx.Client(transport=httpx.MockTransport(lambda r: next(answers)))
    auth = ClientCredentialsAuth(
        token_url=TOKEN_URL,
        client_id="cid",
        client_secret=SECRET,
        scope="s",
        http=http,
        retry=RetryPolicy(sleep=lambda s: None),
        redactor=Redactor(),
    )
    assert auth.authorization() == "Bearer t-123456"


def _b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_jwt_user_assertion_is_signed_rs256_with_the_documented_claims() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    calls: list[dict[str, list[str]]] = []
    auth = JwtUserAssertionAuth(
        token_url=TOKEN_URL,
        client_id="cid",
        client_secret=SECRET,
        scope="s",
        username="AMAZON.INTEGRATION",
        private_key_pem=pem,
        key_id="ml-connector",
        http=_token_server(calls),
        wall_clock=lambda: datetime(2026, 4, 1, tzinfo=UTC),
        redactor=Redactor(),
    )
    assert auth.authorization().startswith("Bearer tok-1")
    assert calls[0]["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    header_b64, claims_b64, sig_b64 = calls[0]["assertion"][0].split(".")
    header, claims = json.loads(_b64d(header_b64)), json.loads(_b64d(claims_b64))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "ml-connector"}
    assert claims["iss"] == "cid"
    assert claims["sub"] == "AMAZON.INTEGRATION"
    assert claims["aud"] == "https://identity.oraclecloud.com/"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["iat"] == 1775001600
    key.public_key().verify(
        _b64d(sig_b64), f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert "BEGIN" not in repr(auth)
    assert SECRET not in repr(auth)


def test_bad_configuration_is_refused_up_front() -> None:
    http = httpx.Client()
    with pytest.raises(ConfigError):
        ClientCredentialsAuth(
            token_url=TOKEN_URL, client_id="cid", client_secret="", scope="s", http=http
        )
    with pytest.raises(ConfigError):
        ClientCredentialsAuth(
            token_url=TOKEN_URL, client_id="cid", client_secret=SECRET, scope="", http=http
        )
    with pytest.raises(ConfigError, match="PEM"):
        JwtUserAssertionAuth(
            token_url=TOKEN_URL,
            client_id="cid",
            client_secret=SECRET,
            scope="s",
            username="u",
            private_key_pem=b"not a key",
            key_id="k",
            http=http,
        )


def test_basic_auth_header_and_repr() -> None:
    redactor = Redactor()
    auth = BasicAuth("fin.user", "pa55word!", redactor=redactor)
    assert auth.authorization() == "Basic " + base64.b64encode(b"fin.user:pa55word!").decode()
    assert "pa55word" not in repr(auth)
    assert "pa55word" not in redactor.text("x pa55word! y")
