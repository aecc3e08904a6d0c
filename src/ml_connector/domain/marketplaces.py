"""Amazon marketplaces: id → country, region, settlement currency and how long history lasts.

The one table of marketplaces (reference/sp-api.md §2.2 and §3.6). The region chooses the cost
center and the SP-API host; the currency lets normalize catch a mismatched amount; the history
rule clamps backfills (two years; JP, AU and SG from 2016); `prices_include_tax` says whether
the buyer's price includes VAT/GST (docs/accounting-options.md, "Which marketplaces", gives the
source of each).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class Region(StrEnum):
    """An SP-API region: a refresh token belongs to exactly one."""

    NA = "NA"
    EU = "EU"
    FE = "FE"


@dataclass(frozen=True, slots=True)
class Marketplace:
    country: str
    marketplace_id: str
    region: Region
    currency: str
    name: str
    long_history: bool = False
    """JP, AU and SG keep order history from 2016 instead of two years."""
    prices_include_tax: bool = True
    """The price a buyer sees and pays includes VAT/GST (EU, UK, JP, AU, ...): an order that
    carries no tax figure still holds the tax inside its amounts. False where tax is added on
    top at checkout (US and CA sales tax, GST/HST/PST)."""


MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("CA", "A2EUQ1WTGCTBG2", Region.NA, "CAD", "Amazon.ca", prices_include_tax=False),
    Marketplace("US", "ATVPDKIKX0DER", Region.NA, "USD", "Amazon.com", prices_include_tax=False),
    Marketplace("MX", "A1AM78C64UM0Y8", Region.NA, "MXN", "Amazon.com.mx"),
    Marketplace("BR", "A2Q3Y263D00KWC", Region.NA, "BRL", "Amazon.com.br"),
    Marketplace("IE", "A28R8C7NBKEWEA", Region.EU, "EUR", "Amazon.ie"),
    Marketplace("ES", "A1RKKUPIHCS9HS", Region.EU, "EUR", "Amazon.es"),
    Marketplace("UK", "A1F83G8C2ARO7P", Region.EU, "GBP", "Amazon.co.uk"),
    Marketplace("FR", "A13V1IB3VIYZZH", Region.EU, "EUR", "Amazon.fr"),
    Marketplace("BE", "AMEN7PMS3EDWL", Region.EU, "EUR", "Amazon.com.be"),
    Marketplace("NL", "A1805IZSGTT6HS", Region.EU, "EUR", "Amazon.nl"),
    Marketplace("DE", "A1PA6795UKMFR9", Region.EU, "EUR", "Amazon.de"),
    Marketplace("IT", "APJ6JRA9NG5V4", Region.EU, "EUR", "Amazon.it"),
    Marketplace("SE", "A2NODRKZP88ZB9", Region.EU, "SEK", "Amazon.se"),
    Marketplace("ZA", "AE08WJ6YKNBMC", Region.EU, "ZAR", "Amazon.co.za"),
    Marketplace("PL", "A1C3SOZRARQ6R3", Region.EU, "PLN", "Amazon.pl"),
    Marketplace("EG", "ARBP9OOSHTCHU", Region.EU, "EGP", "Amazon.eg"),
    Marketplace("TR", "A33AVAJ2PDY3EV", Region.EU, "TRY", "Amazon.com.tr"),
    Marketplace("SA", "A17E79C6D8DWNP", Region.EU, "SAR", "Amazon.sa"),
    Marketplace("AE", "A2VIGQ35RCS4UG", Region.EU, "AED", "Amazon.ae"),
    Marketplace("IN", "A21TJRUUN4KGV", Region.EU, "INR", "Amazon.in"),
    Marketplace("SG", "A19VAU5U5O7RUS", Region.FE, "SGD", "Amazon.sg", long_history=True),
    Marketplace("AU", "A39IBJ37TRP1C6", Region.FE, "AUD", "Amazon.com.au", long_history=True),
    Marketplace("JP", "A1VC38T7YXB528", Region.FE, "JPY", "Amazon.co.jp", long_history=True),
)

_BY_KEY: dict[str, Marketplace] = {m.marketplace_id: m for m in MARKETPLACES} | {
    m.country: m for m in MARKETPLACES
}
_BY_KEY["GB"] = _BY_KEY["UK"]

LONG_HISTORY_START = datetime(2016, 1, 1, tzinfo=UTC)


def marketplace(key: str) -> Marketplace | None:
    """By id (``ATVPDKIKX0DER``) or country code (``US``, ``UK``/``GB``); None when unknown
    (a new marketplace or a test id)."""
    return _BY_KEY.get(key.strip()) or _BY_KEY.get(key.strip().upper())


def retention_start(market: Marketplace, now: datetime) -> datetime:
    """The oldest order time Amazon still returns for a marketplace, as of ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if market.long_history:
        return LONG_HISTORY_START
    now = now.astimezone(UTC)
    try:
        return now.replace(year=now.year - 2)
    except ValueError:  # 29 February
        return now.replace(year=now.year - 2, day=28)
