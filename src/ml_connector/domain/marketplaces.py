"""Amazon marketplaces: id → country, region and settlement currency.

The region chooses the cost center and the SP-API host; the currency lets normalize catch a
record whose money is not in its marketplace's currency (a sign of mixed-up data).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Region(StrEnum):
    NA = "NA"
    EU = "EU"
    FE = "FE"


@dataclass(frozen=True, slots=True)
class Marketplace:
    marketplace_id: str
    country: str
    region: Region
    currency: str


_TABLE = (
    ("A2EUQ1WTGCTBG2", "CA", Region.NA, "CAD"),
    ("ATVPDKIKX0DER", "US", Region.NA, "USD"),
    ("A1AM78C64UM0Y8", "MX", Region.NA, "MXN"),
    ("A2Q3Y263D00KWC", "BR", Region.NA, "BRL"),
    ("A28R8C7NBKEWEA", "IE", Region.EU, "EUR"),
    ("A1RKKUPIHCS9HS", "ES", Region.EU, "EUR"),
    ("A1F83G8C2ARO7P", "GB", Region.EU, "GBP"),
    ("A13V1IB3VIYZZH", "FR", Region.EU, "EUR"),
    ("AMEN7PMS3EDWL", "BE", Region.EU, "EUR"),
    ("A1805IZSGTT6HS", "NL", Region.EU, "EUR"),
    ("A1PA6795UKMFR9", "DE", Region.EU, "EUR"),
    ("APJ6JRA9NG5V4", "IT", Region.EU, "EUR"),
    ("A2NODRKZP88ZB9", "SE", Region.EU, "SEK"),
    ("AE08WJ6YKNBMC", "ZA", Region.EU, "ZAR"),
    ("A1C3SOZRARQ6R3", "PL", Region.EU, "PLN"),
    ("ARBP9OOSHTCHU", "EG", Region.EU, "EGP"),
    ("A33AVAJ2PDY3EV", "TR", Region.EU, "TRY"),
    ("A17E79C6D8DWNP", "SA", Region.EU, "SAR"),
    ("A2VIGQ35RCS4UG", "AE", Region.EU, "AED"),
    ("A21TJRUUN4KGV", "IN", Region.EU, "INR"),
    ("A19VAU5U5O7RUS", "SG", Region.FE, "SGD"),
    ("A39IBJ37TRP1C6", "AU", Region.FE, "AUD"),
    ("A1VC38T7YXB528", "JP", Region.FE, "JPY"),
)

MARKETPLACES: dict[str, Marketplace] = {row[0]: Marketplace(*row) for row in _TABLE}


def marketplace(marketplace_id: str) -> Marketplace | None:
    """The marketplace with this id, or None for one we do not know (new or test ids)."""
    return MARKETPLACES.get(marketplace_id)
