"""Issue 9, scope 2: no Amazon or Oracle URL setting can send credentials anywhere but the
documented hosts (or loopback for the simulators, or, for Oracle, a host listed explicitly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ml_connector.context import (
    amazon_endpoints,
    describe_endpoints,
    fusion_endpoint,
    oracle_token_url,
)
from ml_connector.remote.http.hosts import EndpointError, check_url, is_loopback_host
from ml_connector.store import ConnectionConfig

# Hosts the Oracle override lists on purpose; every probe must still be refused.
LISTED = ["fusion.corp.example", "idcs-acme.identity.oraclecloud.com"]

PROBES = [
    # metadata services
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://169.254.169.254/",
    "http://[fd00:ec2::254]/",
    "https://[fd00:ec2::254]/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://metadata.google.internal/",
    # other hosts
    "https://evil.example/",
    "https://example.com/auth/o2/token",
    "https://10.0.0.1/",
    "https://192.168.1.1/",
    # lookalike suffixes and prefixes
    "https://sellingpartnerapi-na.amazon.com.evil.com/",
    "https://api.amazon.com.evil.com/auth/o2/token",
    "https://fusion.corp.example.evil.com/",
    "https://evilsellingpartnerapi-na.amazon.com/",
    "https://sellingpartnerapi-na.amazon.com./",
    "https://api.amazon.com./auth/o2/token",
    # userinfo and parser tricks
    "https://sellingpartnerapi-na.amazon.com@evil.com/",
    "https://api.amazon.com@evil.com/auth/o2/token",
    "https://fusion.corp.example@evil.com/",
    "https://user:pw@sellingpartnerapi-na.amazon.com/",
    "https://evil.com#@sellingpartnerapi-na.amazon.com/",
    "https://evil.com?@sellingpartnerapi-na.amazon.com/",
    "https://evil.com\\@sellingpartnerapi-na.amazon.com/",
    "https://evil.com\\@api.amazon.com/auth/o2/token",
    " https://sellingpartnerapi-na.amazon.com/",
    "https://sellingpartnerapi-na.amazon.com%2eevil.com/",
    "https://sellingpartnerapi-na.amazon.com\t.evil.com/",
    # IP encodings of 169.254.169.254
    "http://2852039166/",
    "https://2852039166/",
    "http://0xA9FEA9FE/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://[::ffff:169.254.169.254]/",
    "https://[::ffff:a9fe:a9fe]/",
    "http://[0:0:0:0:0:ffff:169.254.169.254]/",
    # loopback spelt so that only a resolver would find it (not the plain forms we accept)
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://[::ffff:127.0.0.1]/",
    "http://0/",
    # IDN / punycode lookalikes (Cyrillic а, fullwidth dots)
    "https://sellingpartnerapi-n\u0430.amazon.com/",
    "https://api.\u0430mazon.com/auth/o2/token",
    "https://xn--sellingpartnerapi-n-7sk.amazon.com/",
    "https://xn--pi-amazon-5rh.com/auth/o2/token",
    "https://sellingpartnerapi-na\u3002amazon\u3002com/",
    "https://fusion.corp.exampl\u0435/",
    # clear text to a real host, odd ports, wrong schemes
    "http://sellingpartnerapi-na.amazon.com/",
    "http://api.amazon.com/auth/o2/token",
    "http://fusion.corp.example/",
    "http://idcs-acme.identity.oraclecloud.com/",
    "https://sellingpartnerapi-na.amazon.com:8443/",
    "https://api.amazon.com:444/auth/o2/token",
    "ftp://sellingpartnerapi-na.amazon.com/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:25/",
    "//sellingpartnerapi-na.amazon.com/",
    "sellingpartnerapi-na.amazon.com",
]

SETTINGS = [
    "amazon.base_urls.NA",
    "amazon.base_urls.EU",
    "amazon.base_urls.FE",
    "amazon.lwa_token_url",
    "oracle.base_url",
    "oracle.base_url+allow_remote",
    "oracle.identity_domain_url",
    "oracle.identity_domain_url+allow_remote",
]


def _config(**changes: Any) -> ConnectionConfig:
    data: dict[str, Any] = {
        "amazon": {
            "regions": ["NA", "EU", "FE"],
            "marketplace_ids": ["ATVPDKIKX0DER"],
            "lwa_client_id": "amzn1.application-oa2-client.test",
        },
        "oracle": {
            "pod": "acme", "region": "us2", "client_id": "ml-connector",
            "identity_domain_url": "idcs-acme.identity.oraclecloud.com",
            "scope": "urn:opc:resource:consumer::all", "business_unit": "US1 BU",
            "ledger": "US Primary Ledger", "ledger_id": "300000046975971",
            "legal_entity": "US1 LE", "invoice_source": "Amazon Orders",
            "invoice_transaction_type": "Amazon Invoice",
            "credit_memo_transaction_type": "Amazon Credit Memo",
            "journal_source": "Amazon Settlements", "journal_category": "Amazon Settlement",
        },
        "mappings": {"catalog": str(Path("c.csv")), "charges": str(Path("m.toml"))},
    }  # fmt: skip
    for side, values in changes.items():
        data[side].update(values)
    return ConnectionConfig.model_validate(data)


def _apply(setting: str, url: str) -> None:
    """Build what the connection would contact with ``url`` in ``setting``; raise if refused."""
    name, _, mode = setting.partition("+")
    remote = {"allow_remote_base_url": True, "allowed_remote_hosts": LISTED} if mode else {}
    if name.startswith("amazon.base_urls."):
        amazon_endpoints(_config(amazon={"base_urls": {name.rsplit(".", 1)[1]: url}}))
    elif name == "amazon.lwa_token_url":
        amazon_endpoints(_config(amazon={"lwa_token_url": url}))
    elif name == "oracle.base_url":
        fusion_endpoint(_config(oracle={"base_url": url, **remote}))
    else:
        oracle_token_url(_config(oracle={"identity_domain_url": url, **remote}))


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("probe", PROBES)
def test_every_probe_is_refused_for_every_url_setting(setting: str, probe: str) -> None:
    with pytest.raises(EndpointError):
        _apply(setting, probe)


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        ("amazon.base_urls.NA", "https://sellingpartnerapi-na.amazon.com"),
        ("amazon.base_urls.EU", "https://sellingpartnerapi-eu.amazon.com/"),
        ("amazon.base_urls.FE", "https://sandbox.sellingpartnerapi-fe.amazon.com"),
        ("amazon.base_urls.NA", "http://127.0.0.1:8123/na"),
        ("amazon.lwa_token_url", "https://api.amazon.com/auth/o2/token"),
        ("amazon.lwa_token_url", "https://api.amazon.co.uk/auth/o2/token"),
        ("amazon.lwa_token_url", "https://api.amazon.co.jp/auth/o2/token"),
        ("amazon.lwa_token_url", "http://localhost:9000/auth/o2/token"),
        ("oracle.base_url", "http://127.0.0.1:9001"),
        ("oracle.base_url+allow_remote", "https://fusion.corp.example"),
        ("oracle.identity_domain_url", "http://[::1]:9001"),
        ("oracle.identity_domain_url+allow_remote", "https://idcs-acme.identity.oraclecloud.com"),
    ],
)
def test_the_documented_hosts_and_loopback_are_accepted(setting: str, url: str) -> None:
    _apply(setting, url)


def test_a_region_host_is_not_accepted_for_another_region() -> None:
    with pytest.raises(EndpointError, match="not an allowed host"):
        amazon_endpoints(
            _config(amazon={"base_urls": {"EU": "https://sellingpartnerapi-na.amazon.com"}})
        )
    with pytest.raises(EndpointError):  # JP's LWA host for a connection without FE
        amazon_endpoints(
            _config(
                amazon={
                    "regions": ["NA"],
                    "lwa_token_url": "https://api.amazon.co.jp/auth/o2/token",
                }
            )
        )


def test_lwa_needs_its_token_path() -> None:
    with pytest.raises(EndpointError, match="path"):
        amazon_endpoints(_config(amazon={"lwa_token_url": "https://api.amazon.com/other"}))


def test_oracle_allow_remote_alone_is_not_enough() -> None:
    with pytest.raises(EndpointError, match="allowed_remote_hosts"):
        fusion_endpoint(
            _config(
                oracle={"base_url": "https://fusion.corp.example", "allow_remote_base_url": True}
            )
        )


def test_show_marks_loopback_as_simulator_and_names_refusals() -> None:
    shown = describe_endpoints(
        _config(
            amazon={
                "regions": ["NA"],
                "base_urls": {"NA": "http://127.0.0.1:8123/na"},
                "lwa_token_url": "http://127.0.0.1:8123/auth/o2/token",
            },
            oracle={"base_url": "https://evil.example"},
        )
    )
    assert shown["amazon.base_urls.NA"] == "http://127.0.0.1:8123/na (loopback: simulator)"
    assert shown["amazon.lwa_token_url"].endswith("(loopback: simulator)")
    assert shown["oracle.base_url"].startswith("refused: ")
    assert shown["oracle.token_url"] == (
        "https://idcs-acme.identity.oraclecloud.com/oauth2/v1/token"
    )
    default = describe_endpoints(_config())
    assert default["amazon.base_urls.FE"] == "https://sellingpartnerapi-fe.amazon.com"
    assert default["amazon.lwa_token_url"] == "https://api.amazon.com/auth/o2/token"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("LOCALHOST", True), ("127.1", False), ("2130706433", False),
     ("::ffff:127.0.0.1", False), ("localhost.evil.com", False), ("0.0.0.0", False)],
)  # fmt: skip
def test_loopback_is_only_the_plain_spellings(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_check_url_is_strict_about_ports_and_paths() -> None:
    ok = check_url("https://a.example/x", what="u", allowed_hosts={"a.example"}, paths={"/x"})
    assert not ok.loopback
    with pytest.raises(EndpointError):
        check_url("https://a.example/y", what="u", allowed_hosts={"a.example"}, paths={"/x"})
