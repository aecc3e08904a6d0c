"""Which marketplaces price tax-inclusive (docs/accounting-options.md gives the sources)."""

from __future__ import annotations

from ml_connector.domain.marketplaces import MARKETPLACES, marketplace


def test_only_us_and_canada_add_tax_at_checkout() -> None:
    exclusive = {m.country for m in MARKETPLACES if not m.prices_include_tax}
    assert exclusive == {"US", "CA"}


def test_eu_uk_and_far_east_prices_include_tax() -> None:
    for key in ("UK", "GB", "DE", "FR", "IT", "ES", "A13V1IB3VIYZZH", "JP", "AU", "SG", "MX"):
        found = marketplace(key)
        assert found is not None, key
        assert found.prices_include_tax, key
