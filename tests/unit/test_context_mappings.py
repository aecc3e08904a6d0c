"""The journal names in the charge mapping must agree with the connection's Oracle settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_connector.context import load_mappings
from ml_connector.errors import ConfigError
from ml_connector.run import demo
from ml_connector.store import ConnectionConfig


def _config(tmp_path: Path, charges_text: str) -> ConnectionConfig:
    charges = tmp_path / "charges.toml"
    charges.write_text(charges_text, encoding="utf-8")
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,revenue_account,cost_center\nMUG-01,40100,10\n", encoding="utf-8")
    endpoints = demo.SimEndpoints("http://127.0.0.1:1", "http://127.0.0.1:2")
    return demo.simulator_config(endpoints, catalog=catalog, charges=charges)


def test_matching_journal_names_load(tmp_path: Path) -> None:
    text = demo.example_file("charges.toml").read_text(encoding="utf-8")
    mapping, catalog = load_mappings(_config(tmp_path, text))
    assert mapping.journal.ledger == "US Primary Ledger"
    assert "MUG-01" in catalog


def test_a_different_ledger_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    text = demo.example_file("charges.toml").read_text(encoding="utf-8")
    text = text.replace('ledger = "US Primary Ledger"', 'ledger = "EU Secondary Ledger"')
    with pytest.raises(ConfigError) as refused:
        load_mappings(_config(tmp_path, text))
    message = str(refused.value)
    assert "charges.toml" in message
    assert "[journal] ledger = 'EU Secondary Ledger'" in message
    assert "'US Primary Ledger'" in message


def test_the_connection_settings_reach_the_posting_profile_and_the_accounting_policy(
    tmp_path: Path,
) -> None:
    from ml_connector.context import accounting_policy, posting_profile
    from ml_connector.flow.accounting import ReturnedGoods, VatInclusive

    text = demo.example_file("charges.toml").read_text(encoding="utf-8")
    base = _config(tmp_path, text)
    config = base.model_copy(
        update={
            "oracle": base.oracle.model_copy(update={"credit_method_for_rules": "LIFO"}),
            "accounting": base.accounting.model_copy(
                update={
                    "vat_inclusive": "tax_code",
                    "include_cogs": True,
                    "returned_goods": "write_off",
                    "invoicing_rule": "In Advance",
                    "accounting_rule": "3 Months Fixed",
                }
            ),
        }
    )
    assert posting_profile(config).credit_method_for_rules == "LIFO"
    assert posting_profile(base).credit_method_for_rules == "PRORATE"
    policy = accounting_policy(config)
    assert policy.vat_inclusive is VatInclusive.TAX_CODE
    assert policy.include_cogs
    assert policy.returned_goods is ReturnedGoods.WRITE_OFF
    assert (policy.invoicing_rule, policy.accounting_rule) == ("In Advance", "3 Months Fixed")
    assert not accounting_policy(base).include_cogs
