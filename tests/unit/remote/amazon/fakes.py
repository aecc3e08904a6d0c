"""A scripted SP-API + LWA on ``httpx.MockTransport`` and a client wired to a fake clock."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import httpx

from ml_connector.remote.amazon.auth import LwaCredentials, LwaTokenProvider
from ml_connector.remote.amazon.client import SpApiClient, default_limiter
from ml_connector.remote.http.retry import RetryPolicy

from ..conftest import FakeClock

LWA_URL = "http://lwa.test/auth/o2/token"
BASE = "http://127.0.0.1:9/eu"
CREDS = LwaCredentials("amzn1.application-oa2-client.x", "cs-SECRET-123", "Atzr|REFRESH-456")

Handler = Callable[[httpx.Request], httpx.Response]


class FakeAmazon:
    """Counts calls; ``routes`` maps ``(method, path)`` to a handler or a JSON body."""

    def __init__(self, clock: FakeClock, expires_in: int = 3600) -> None:
        self.clock = clock
        self.expires_in = expires_in
        self.routes: dict[tuple[str, str], Handler | Any] = {}
        self.requests: list[httpx.Request] = []
        self.token_requests: list[httpx.Request] = []
        self.issued = 0
        self.tokens_seen: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == LWA_URL:
            self.token_requests.append(request)
            self.issued += 1
            body = {
                "access_token": f"Atza|token-{self.issued}",
                "token_type": "bearer",
                "expires_in": self.expires_in,
            }
            return httpx.Response(200, json=body)
        self.requests.append(request)
        self.tokens_seen.append(request.headers.get("x-amz-access-token"))
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"errors": [{"code": "NotFound", "message": "no"}]})
        if callable(route):
            response: httpx.Response = route(request)
            return response
        return httpx.Response(200, content=json.dumps(route).encode())


def make_client(fake: FakeAmazon, clock: FakeClock, **kw: Any) -> SpApiClient:
    http = httpx.Client(transport=httpx.MockTransport(fake))
    provider = LwaTokenProvider(CREDS, http=http, token_url=LWA_URL, clock=clock)
    return SpApiClient(
        seller_id="A1SELLER",
        region="EU",
        credentials=CREDS,
        base_url=BASE,
        http=http,
        token_provider=provider,
        limiter=kw.pop("limiter", default_limiter(clock=clock, sleep=clock.sleep)),
        retry=kw.pop("retry", RetryPolicy(sleep=clock.sleep, clock=clock, rng=random.Random(3))),
        **kw,
    )
