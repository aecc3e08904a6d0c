"""The charge mapping's [vat] and [revenue_rules]: what loads, each refusal with file and key."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ml_connector.flow.mapping import MappingError, parse_mapping

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FR = "A13V1IB3VIYZZH"
DE = "A1PA6795UKMFR9"


def _base() -> dict[str, Any]:
    data = tomllib.loads((EXAMPLES / "charges.toml").read_text(encoding="utf-8"))
    data.pop("vat", None)
    data.pop("revenue_rules", None)
    return data


def _problems(**sections: Any) -> list[str]:
    with pytest.raises(MappingError) as info:
        parse_mapping(_base() | sections, "charges.toml")
    return info.value.problems


def test_rates_and_codes_by_country_code_or_marketplace_id_and_category() -> None:
    vat = {
        "FR": {
            "rate": "20",
            "tax_classification_code": "FR VAT STANDARD",
            "categories": {
                "books": "5.5",
                "Food": {"rate": "5.5", "tax_classification_code": "FR VAT REDUCED"},
            },
        },
        DE: {"rate": "19"},
        "GB": {"rate": "0"},
    }
    mapping = parse_mapping(_base() | {"vat": vat}, "charges.toml")

    def rule(marketplace_id: str, category: str | None = None) -> tuple[object, ...]:
        found = mapping.vat_rule(marketplace_id, category)
        assert found is not None
        return (found.where, found.rate, found.tax_classification_code)

    assert rule(FR) == ("vat.FR", Decimal("20"), "FR VAT STANDARD")
    # A listed category replaces the marketplace's values: no code of its own, none inherited.
    assert rule(FR, " BOOKS ") == ("vat.FR.categories.books", Decimal("5.5"), None)
    assert rule(FR, "food") == ("vat.FR.categories.Food", Decimal("5.5"), "FR VAT REDUCED")
    assert rule(FR, "kitchen") == ("vat.FR", Decimal("20"), "FR VAT STANDARD")
    assert rule(DE, "books") == (f"vat.{DE}", Decimal("19"), None)
    assert rule("A1F83G8C2ARO7P") == ("vat.GB", Decimal("0"), None)
    assert mapping.vat_rule("APJ6JRA9NG5V4") is None  # amazon.it: not configured


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        (
            20,
            "charges.toml: vat.FR.rate: Value error, 20 is not a string: write the rate in "
            'percent in quotes, e.g. "20" or "5.5" (a number may not be read as the decimal '
            "written)",
        ),
        (
            5.5,
            "charges.toml: vat.FR.rate: Value error, 5.5 is not a string: write the rate in "
            'percent in quotes, e.g. "20" or "5.5" (a number may not be read as the decimal '
            "written)",
        ),
        (
            "20%",
            "charges.toml: vat.FR.rate: Value error, '20%': write the rate without a percent "
            'sign, e.g. "20"',
        ),
        (
            "100.5",
            "charges.toml: vat.FR.rate: Value error, '100.5' is not a rate in percent from 0 to "
            '100, e.g. "20"',
        ),
        (
            "-5",
            "charges.toml: vat.FR.rate: Value error, '-5' is not a rate in percent from 0 to "
            '100, e.g. "20"',
        ),
        (
            "0,2",
            "charges.toml: vat.FR.rate: Value error, '0,2' is not a rate in percent from 0 to "
            '100, e.g. "20"',
        ),
    ],
)
def test_a_rate_that_is_not_a_percentage_string_is_refused(rate: object, message: str) -> None:
    assert _problems(vat={"FR": {"rate": rate}}) == [message]


def test_a_category_rate_is_checked_like_the_marketplace_rate() -> None:
    assert _problems(vat={"FR": {"rate": "20", "categories": {"books": "5,5"}}}) == [
        "charges.toml: vat.FR.categories.books.rate: Value error, '5,5' is not a rate in "
        'percent from 0 to 100, e.g. "20"'
    ]


def test_keys_that_name_no_vat_marketplace_or_repeat_one_are_refused_all_at_once() -> None:
    vat = {
        "XX": {"rate": "20"},
        "US": {"rate": "8"},
        "FR": {"rate": "20", "categories": {"books": "5.5", "Books": "5.5"}},
        FR: {"rate": "20"},
    }
    assert _problems(vat=vat) == [
        "charges.toml: vat.XX: 'XX' is not an Amazon marketplace: use its country code (FR) "
        "or marketplace id (A13V1IB3VIYZZH)",
        "charges.toml: vat.US: Amazon.com prices exclude tax (it is added at checkout and "
        "Amazon reports it), so a VAT rate there would never be used",
        "charges.toml: vat.FR.categories.Books: the same category as 'books' (case is ignored)",
        "charges.toml: vat.A13V1IB3VIYZZH: Amazon.fr is already configured as vat.FR",
    ]


def test_a_tax_code_that_starts_like_a_formula_is_refused() -> None:
    assert _problems(vat={"FR": {"tax_classification_code": "=HYPERLINK(1)"}}) == [
        "charges.toml: vat.FR.tax_classification_code: '=HYPERLINK(1)' starts like a "
        "spreadsheet formula; it is written into Oracle's FBDI files, so it is refused "
        "(docs/mapping.md)"
    ]


def test_unknown_vat_settings_are_refused() -> None:
    problems = _problems(vat={"FR": {"rates": "20"}})
    assert len(problems) == 1
    assert problems[0].startswith("charges.toml: vat.FR.rates: Extra inputs are not permitted")


def test_revenue_rules_by_category() -> None:
    rules = {"Subscriptions": {"accounting_rule": "Monthly 12", "accounting_rule_duration": 12}}
    mapping = parse_mapping(_base() | {"revenue_rules": rules}, "charges.toml")
    rule = mapping.revenue_rule("subscriptions")
    assert rule is not None
    assert (rule.accounting_rule, rule.accounting_rule_duration) == ("Monthly 12", 12)
    assert mapping.revenue_rule("books") is None
    assert mapping.revenue_rule(None) is None
    problems = _problems(
        revenue_rules={"x": {"accounting_rule": "", "accounting_rule_duration": 0}}
    )
    assert [p.split(": ")[1] for p in problems] == [
        "revenue_rules.x.accounting_rule",
        "revenue_rules.x.accounting_rule_duration",
    ]
