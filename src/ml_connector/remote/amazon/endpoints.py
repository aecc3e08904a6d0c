"""Amazon's documented hosts: the only places the LWA secrets and SP-API tokens are sent.

SP-API: one host per region, plus Amazon's static sandbox for it (reference/sp-api.md §2).
Login with Amazon: api.amazon.com (the documented URL, valid for every region) and the regional
api.amazon.co.uk (EU) and api.amazon.co.jp (FE); always ``/auth/o2/token``. Any other URL is
refused before a request exists, except loopback for the simulators, which is marked as such.
"""

from __future__ import annotations

from collections.abc import Iterable

from ml_connector.remote.amazon.marketplaces import LWA_TOKEN_URL, Region, region_host
from ml_connector.remote.http.hosts import CheckedUrl, check_url

__all__ = ["LWA_HOSTS", "LWA_PATH", "amazon_base_url", "lwa_token_url", "sp_api_hosts"]

LWA_PATH = "/auth/o2/token"
LWA_HOSTS = {
    Region.NA: "api.amazon.com",
    Region.EU: "api.amazon.co.uk",
    Region.FE: "api.amazon.co.jp",
}


def sp_api_hosts(region: str) -> set[str]:
    host = region_host(Region(region)).removeprefix("https://")
    return {host, f"sandbox.{host}"}


def amazon_base_url(region: str, configured: str | None) -> CheckedUrl:
    """The SP-API origin for ``region``: the configured one if allowed, else Amazon's."""
    url = configured if configured is not None else region_host(Region(region))
    return check_url(
        url,
        what=f"amazon.base_urls.{region}",
        allowed_hosts=sp_api_hosts(region),
        paths=("", "/"),
    )


def lwa_token_url(regions: Iterable[str], configured: str | None) -> CheckedUrl:
    """The LWA token endpoint: api.amazon.com or the regional host of a configured region."""
    allowed = {LWA_HOSTS[Region.NA], *(LWA_HOSTS[Region(r)] for r in regions)}
    return check_url(
        configured if configured is not None else LWA_TOKEN_URL,
        what="amazon.lwa_token_url",
        allowed_hosts=allowed,
        paths=(LWA_PATH,),
    )
