"""The marketplaces the simulator knows: ids, regions, currencies and how tax is collected.

Ids and region membership are Amazon's (sp-api.md §2.2). The tax figures are simulator choices:
they only need to be plausible and to exercise both tax models (Amazon-collected marketplace
facilitator tax and seller-collected tax).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

REGIONS = ("na", "eu", "fe")


@dataclass(frozen=True)
class Marketplace:
    """One Amazon store and the facts the generator and the routes need about it."""

    code: str
    marketplace_id: str
    region: str
    currency: str
    name: str
    #: Multiplier from the catalog's USD list price to a local shelf price.
    fx: Decimal
    #: Decimal places of the currency (JPY has none).
    exponent: int
    tax_rate: Decimal
    #: Amazon collects and remits the tax (MARKETPLACE_FACILITATOR) instead of the seller.
    facilitator: bool
    #: Orders are served from 2016 onward instead of only the last two years.
    long_history: bool = False

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.exponent)


_ALL = (
    Marketplace("US", "ATVPDKIKX0DER", "na", "USD", "Amazon.com", Decimal(1), 2,
                Decimal("0.0825"), True),
    Marketplace("CA", "A2EUQ1WTGCTBG2", "na", "CAD", "Amazon.ca", Decimal("1.35"), 2,
                Decimal("0.13"), True),
    Marketplace("MX", "A1AM78C64UM0Y8", "na", "MXN", "Amazon.com.mx", Decimal("17"), 2,
                Decimal("0.16"), False),
    Marketplace("UK", "A1F83G8C2ARO7P", "eu", "GBP", "Amazon.co.uk", Decimal("0.79"), 2,
                Decimal("0.20"), True),
    Marketplace("DE", "A1PA6795UKMFR9", "eu", "EUR", "Amazon.de", Decimal("0.92"), 2,
                Decimal("0.19"), False),
    Marketplace("FR", "A13V1IB3VIYZZH", "eu", "EUR", "Amazon.fr", Decimal("0.92"), 2,
                Decimal("0.20"), False),
    Marketplace("IT", "APJ6JRA9NG5V4", "eu", "EUR", "Amazon.it", Decimal("0.92"), 2,
                Decimal("0.22"), False),
    Marketplace("ES", "A1RKKUPIHCS9HS", "eu", "EUR", "Amazon.es", Decimal("0.92"), 2,
                Decimal("0.21"), False),
    Marketplace("JP", "A1VC38T7YXB528", "fe", "JPY", "Amazon.co.jp", Decimal("150"), 0,
                Decimal("0.10"), True, long_history=True),
    Marketplace("AU", "A39IBJ37TRP1C6", "fe", "AUD", "Amazon.com.au", Decimal("1.5"), 2,
                Decimal("0.10"), True, long_history=True),
    Marketplace("SG", "A19VAU5U5O7RUS", "fe", "SGD", "Amazon.sg", Decimal("1.35"), 2,
                Decimal("0.09"), True, long_history=True),
)  # fmt: skip

BY_ID: dict[str, Marketplace] = {m.marketplace_id: m for m in _ALL}
BY_CODE: dict[str, Marketplace] = {m.code: m for m in _ALL} | {"GB": BY_ID["A1F83G8C2ARO7P"]}
_CURRENCY_REGION: dict[str, str] = {m.currency: m.region for m in _ALL}

DEFAULT_CODES = ("US", "CA", "UK", "DE", "JP")


def marketplace(marketplace_id: str) -> Marketplace:
    """The marketplace with this id; KeyError names the unknown id."""
    try:
        return BY_ID[marketplace_id]
    except KeyError:
        raise KeyError(f"unknown marketplace id {marketplace_id!r}") from None


def by_code(code: str) -> Marketplace:
    """Look up by country code (UK and GB both work), case-insensitive."""
    try:
        return BY_CODE[code.upper()]
    except KeyError:
        known = ", ".join(sorted(BY_CODE))
        raise KeyError(f"unknown marketplace code {code!r} (known: {known})") from None


def region_of(marketplace_id: str) -> str | None:
    """The region serving a marketplace id, or None for ids the simulator does not know."""
    found = BY_ID.get(marketplace_id)
    return found.region if found else None


def region_of_currency(currency: str) -> str | None:
    """Fallback for records (settlement groups) that carry a currency but no marketplace."""
    return _CURRENCY_REGION.get(currency)
