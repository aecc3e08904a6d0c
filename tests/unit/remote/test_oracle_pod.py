"""Pod names and URL overrides are checked before any request can leave the process."""

from __future__ import annotations

import httpx
import pytest

from ml_connector.remote.oracle import (
    EndpointError,
    FusionClient,
    FusionEndpoint,
    token_url_for_identity_domain,
    token_url_override,
)
from ml_connector.remote.oracle.auth import BasicAuth


def test_pod_and_region_make_the_documented_host() -> None:
    assert (
        FusionEndpoint.for_pod("ecga-Test", "us2").origin
        == "https://ecga-test.fa.us2.oraclecloud.com"
    )
    assert FusionEndpoint.for_pod("ewnp-dev2", "ocs").url("receivablesInvoices") == (
        "https://ewnp-dev2.fa.ocs.oraclecloud.com/fscmRestApi/resources/11.13.18.05/receivablesInvoices"
    )


@pytest.mark.parametrize(
    ("pod", "region"),
    [
        ("evil.com/x", "us2"),
        ("169.254.169.254", "us2"),
        ("pod", "us2.evil.com"),
        ("pod@evil.com", "us2"),
        ("-pod", "us2"),
        ("", "us2"),
        ("pod", "a" * 64),
        ("pod:8443", "us2"),
    ],
)
def test_hostile_pod_or_region_is_refused(pod: str, region: str) -> None:
    with pytest.raises(EndpointError):
        FusionEndpoint.for_pod(pod, region)


def test_refused_pod_never_reaches_the_network() -> None:
    def must_not_be_called(request: httpx.Request) -> httpx.Response:
        pytest.fail(f"a request was sent to {request.url.host}")

    http = httpx.Client(transport=httpx.MockTransport(must_not_be_called))
    with pytest.raises(EndpointError):
        FusionClient(FusionEndpoint.for_pod("evil.com/x", "us2"), BasicAuth("u", "p"), http=http)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8123", "http://localhost:9000/", "http://[::1]:8000"]
)
def test_loopback_override_is_accepted(url: str) -> None:
    endpoint = FusionEndpoint.from_base_url(url)
    assert endpoint.url("x").endswith("/fscmRestApi/resources/11.13.18.05/x")


@pytest.mark.parametrize(
    "url",
    [
        "https://pod.fa.us2.oraclecloud.com",
        "http://169.254.169.254",
        "http://10.0.0.5:8000",
        "http://user:pw@127.0.0.1:80",
        "ftp://127.0.0.1",
        "http://127.0.0.1:8000/some/path",
    ],
)
def test_other_overrides_are_refused_by_default(url: str) -> None:
    with pytest.raises(EndpointError):
        FusionEndpoint.from_base_url(url)


def test_remote_override_needs_explicit_opt_in_an_allowed_host_and_https() -> None:
    hosts = ["pod.fa.us2.oraclecloud.com", "pod.example.com"]
    assert FusionEndpoint.from_base_url(
        "https://pod.fa.us2.oraclecloud.com", allow_remote=True, allowed_hosts=hosts
    ).origin == ("https://pod.fa.us2.oraclecloud.com")
    with pytest.raises(EndpointError, match="allowed_remote_hosts"):  # "any https" is not enough
        FusionEndpoint.from_base_url("https://pod.fa.us2.oraclecloud.com", allow_remote=True)
    with pytest.raises(EndpointError):
        FusionEndpoint.from_base_url(
            "http://pod.example.com", allow_remote=True, allowed_hosts=hosts
        )


def test_token_url_for_identity_domain() -> None:
    assert token_url_for_identity_domain("idcs-abc123.identity.oraclecloud.com") == (
        "https://idcs-abc123.identity.oraclecloud.com/oauth2/v1/token"
    )
    for bad in (
        "evil.com",
        "idcs-x.identity.oraclecloud.com.evil.com",
        "a/b.identity.oraclecloud.com",
    ):
        with pytest.raises(EndpointError):
            token_url_for_identity_domain(bad)
    assert token_url_override("http://127.0.0.1:9/oauth2/v1/token").endswith("/oauth2/v1/token")
    with pytest.raises(EndpointError):
        token_url_override("http://example.com/oauth2/v1/token")
