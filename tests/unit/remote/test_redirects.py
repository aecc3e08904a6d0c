"""A 3xx from Oracle or Amazon is an error naming its Location: never an empty answer, never
followed."""

from __future__ import annotations

import httpx
import pytest

from ml_connector.errors import TransientError, ValidationError
from ml_connector.remote.http.outcome import RedirectedError, error_from_response
from ml_connector.remote.http.redact import Redactor
from ml_connector.remote.http.retry import RetryPolicy
from ml_connector.remote.http.session import build_client
from ml_connector.remote.oracle import BasicAuth, FusionClient, FusionEndpoint, Receivables

from .amazon.fakes import BASE, FakeAmazon, make_client
from .conftest import FakeClock

SSO = "https://login.example.com/oam/server/obrareq.cgi?encquery=SECRET-STATE"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_a_redirect_error_naming_the_location(status: int) -> None:
    response = httpx.Response(status, headers={"Location": SSO})
    error = error_from_response(response, operation="x")
    assert isinstance(error, RedirectedError)
    assert not isinstance(error, ValidationError | TransientError)  # neither reject nor retry
    assert error.location == "https://login.example.com/oam/server/obrareq.cgi?…"
    assert "login.example.com/oam/server/obrareq.cgi" in str(error)
    assert "SECRET-STATE" not in str(error)
    assert error.status == status


def test_a_redirect_without_location_says_so() -> None:
    error = error_from_response(httpx.Response(302))
    assert isinstance(error, RedirectedError)
    assert error.location is None
    assert "without a Location" in str(error)


def test_the_shared_client_never_follows_redirects() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/"})

    with build_client(transport=httpx.MockTransport(handler)) as http:
        response = http.get("https://pod.example/fscmRestApi/resources/latest/x")
    assert response.status_code == 302
    assert seen == ["pod.example"]


def _oracle(handler: httpx.MockTransport) -> FusionClient:
    return FusionClient(
        FusionEndpoint.from_base_url("http://127.0.0.1:8000"),
        BasicAuth("u", "pw-123456", redactor=Redactor()),
        http=build_client(transport=handler),
        retry=RetryPolicy(sleep=lambda s: None),
    )


def test_an_oracle_lookup_answered_by_a_redirect_fails_and_nothing_is_created() -> None:
    posts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posts.append(request)
            return httpx.Response(201, json={"CustomerTransactionId": 1})
        return httpx.Response(302, headers={"Location": SSO})  # empty body: was read as "none"

    receivables = Receivables(_oracle(httpx.MockTransport(handler)))
    with pytest.raises(RedirectedError) as caught:
        receivables.find_invoices(transaction_number="111-1234567-1234567")
    assert caught.value.location == "https://login.example.com/oam/server/obrareq.cgi?…"
    assert posts == []


def test_an_amazon_call_answered_by_a_redirect_fails_naming_the_location(
    clock: FakeClock,
) -> None:
    fake = FakeAmazon(clock)
    path = "/orders/2026-01-01/orders"
    fake.routes[("GET", BASE.removeprefix("http://127.0.0.1:9") + path)] = lambda r: httpx.Response(
        302, headers={"Location": "https://sellercentral.amazon.com/ap/signin?x=1"}
    )
    client = make_client(fake, clock)
    with pytest.raises(RedirectedError) as caught:
        client.call("searchOrders", "GET", path)
    assert caught.value.location == "https://sellercentral.amazon.com/ap/signin?…"
    assert len(fake.requests) == 1  # neither retried nor followed
