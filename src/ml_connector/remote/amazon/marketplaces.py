"""Regions and hosts of the SP-API, and strict marketplace look-ups for configuration.

The marketplace table itself is domain data (``ml_connector.domain.marketplaces``); this module
adds what only a caller of the API needs. Source: reference/sp-api.md §2 and §3.6.
"""

from __future__ import annotations

from datetime import datetime

from ml_connector.domain import marketplaces as table
from ml_connector.domain.marketplaces import MARKETPLACES, Marketplace, Region
from ml_connector.errors import ConfigError

__all__ = [
    "LWA_TOKEN_URL",
    "MARKETPLACES",
    "Marketplace",
    "Region",
    "marketplace",
    "region_host",
    "retention_start",
]

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"


_HOSTS = {
    Region.NA: "sellingpartnerapi-na.amazon.com",
    Region.EU: "sellingpartnerapi-eu.amazon.com",
    Region.FE: "sellingpartnerapi-fe.amazon.com",
}


def region_host(region: Region, *, sandbox: bool = False) -> str:
    """The base URL of a region (production, or Amazon's static sandbox)."""
    host = _HOSTS[Region(region)]
    return f"https://sandbox.{host}" if sandbox else f"https://{host}"


def marketplace(key: str) -> Marketplace:
    """Look a marketplace up by id (``ATVPDKIKX0DER``) or country code (``US``, ``UK``/``GB``)."""
    found = table.marketplace(key)
    if found is None:
        raise ConfigError(f"unknown Amazon marketplace {key!r}")
    return found


def retention_start(key: str, now: datetime) -> datetime:
    """The oldest order time Amazon still returns for a marketplace, as of ``now``."""
    return table.retention_start(marketplace(key), now)
