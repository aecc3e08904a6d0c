"""Mapping files: errors name the file, line and column; the shipped examples load."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_connector.flow.mapping import (
    ChargeMapping,
    MappingError,
    load_catalog,
    load_mapping,
    parse_catalog,
    parse_mapping,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
HEADER = "sku,revenue_account,cost_center,unit_cost\n"


def _errors(text: str, mapping: ChargeMapping) -> list[str]:
    with pytest.raises(MappingError) as info:
        parse_catalog(text, "catalog.csv", mapping.chart)
    return info.value.problems


def test_example_catalog_loads(mapping: ChargeMapping) -> None:
    catalog = load_catalog(EXAMPLES / "catalog.csv", mapping.chart)
    assert catalog["MUG-01"].revenue_account == "40100"
    assert catalog["KETTLE-01"].cost_center is None


def test_bad_account_names_file_line_and_column(mapping: ChargeMapping) -> None:
    text = HEADER + "A,40100,10,1.00\n" + "\n" * 11 + "B,4O100,10,\n"
    assert _errors(text, mapping) == [
        "catalog.csv:14: column 'revenue_account': '4O100' is not a valid Account value "
        "(expected 5 digits)"
    ]


def test_all_problems_are_reported_at_once(mapping: ChargeMapping) -> None:
    text = HEADER + "A,40100,1,x\nA,40100,10,\nA,40100,10,\n"
    problems = _errors(text, mapping)
    assert problems == [
        "catalog.csv:2: column 'cost_center': '1' is not a valid Cost center value "
        "(expected 2 digits)",
        "catalog.csv:2: column 'unit_cost': 'x' is not a number",
        "catalog.csv:4: SKU 'A' already defined on line 3",
    ]


def test_bom_whitespace_comments_and_blank_lines_are_tolerated(mapping: ChargeMapping) -> None:
    text = "\ufeff sku , Revenue_Account ,cost_center\n# a comment\n\n MUG-01 , 40100 , \n"
    catalog = parse_catalog(text, "c.csv", mapping.chart)
    assert catalog["MUG-01"].revenue_account == "40100"
    assert catalog["MUG-01"].cost_center is None


def test_header_problems(mapping: ChargeMapping) -> None:
    assert _errors("sku,revenue_acount,cost_center\n", mapping) == [
        "catalog.csv:1: missing column(s): revenue_account",
        "catalog.csv:1: unknown column(s): revenue_acount (known: sku, revenue_account, "
        "cost_center, category, cogs_account, inventory_account, unit_cost, oracle_item)",
    ]
    assert _errors("", mapping) == [
        "catalog.csv: empty file (expected header sku,revenue_account,cost_center)"
    ]


def _example() -> dict[str, Any]:
    return tomllib.loads((EXAMPLES / "charges.toml").read_text(encoding="utf-8"))


def test_example_charges_resolve_to_combinations(mapping: ChargeMapping) -> None:
    assert str(mapping.named("receivable", "ATVPDKIKX0DER")) == "101.00.12100"
    assert str(mapping.named("shipping_revenue", "A1PA6795UKMFR9")) == "101.20.40200"
    assert str(mapping.named("promotions", "A1VC38T7YXB528")) == "101.30.40900"
    target = mapping.target("MarketplaceFacilitatorTax-Shipping")
    assert target is not None
    assert target.natural_account == "21500"
    assert mapping.target("SomethingNew") is None


def test_yaml_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "charges.yaml"
    path.write_text(yaml.safe_dump(_example()), encoding="utf-8")
    assert load_mapping(path).named("cash_in_transit").values == ("101", "00", "10500")


def test_mapping_errors_name_the_key(tmp_path: Path) -> None:
    data = _example()
    data["accounts"]["receivable"] = "1210"
    data["charges"]["Commission"]["account"] = "nowhere"
    data["invoiced"]["Commission"] = "item"
    with pytest.raises(MappingError) as info:
        parse_mapping(data, "charges.toml")
    assert info.value.problems == [
        "charges.toml: accounts.receivable: '1210' is not a valid Account value "
        "(expected 5 digits)",
        "charges.toml: charges.Commission: 'Commission' is also listed under [invoiced]",
    ]


def test_schema_errors_and_unknown_keys(tmp_path: Path) -> None:
    data = _example()
    del data["accounts"]["tax_clearing"]
    data["journal"]["category"] = "A category name longer than 25"
    data["journal"]["typo"] = 1
    with pytest.raises(MappingError) as info:
        parse_mapping(data, "charges.toml")
    text = str(info.value)
    assert "charges.toml: accounts.tax_clearing: Field required" in text
    assert "charges.toml: journal.category: String should have at most 25 characters" in text
    assert "charges.toml: journal.typo: Extra inputs are not permitted" in text


def test_bad_pattern_and_unreadable_files(tmp_path: Path) -> None:
    data = _example()
    data["chart"]["pattern"] = "{company}-{account}"
    with pytest.raises(MappingError, match="lacks segment"):
        parse_mapping(data, "charges.toml")
    bad = tmp_path / "charges.toml"
    bad.write_text("[chart\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"charges\.toml: invalid TOML"):
        load_mapping(bad)
    with pytest.raises(MappingError, match="cannot read"):
        load_mapping(tmp_path / "missing.toml")


def test_transaction_types_to_book_by_breakdowns(tmp_path: Path) -> None:
    data = _example()
    assert not parse_mapping(data, "charges.toml").books_by_breakdowns("MysteryCharge")
    data["transaction_types"] = {"book_by_breakdowns": ["Mystery Charge"]}
    listed = parse_mapping(data, "charges.toml")
    # Compared the way Amazon's type names are: no case, spaces, hyphens or underscores.
    assert listed.books_by_breakdowns("MysteryCharge")
    assert listed.books_by_breakdowns("mystery_charge")
    assert not listed.books_by_breakdowns("ServiceFee")
    data["transaction_types"] = {"book_by_breakdowns": ["ServiceFee", "A-to-z Guarantee Claim"]}
    with pytest.raises(MappingError) as info:
        parse_mapping(data, "charges.toml")
    assert info.value.problems == [
        "charges.toml: transaction_types.book_by_breakdowns.1: 'A-to-z Guarantee Claim' gives "
        "order money back to the buyer: it always gets a credit memo, never only a journal line"
    ]
    data["transaction_types"] = {"book_by_breakdowns": [" - "]}
    with pytest.raises(MappingError, match="names no transaction type"):
        parse_mapping(data, "charges.toml")
