"""Shared bits for CLI tests that add a connection from the shipped example mapping files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "src/ml_connector/examples"
SECRET_ENV = {
    "T_LWA": "lwa-secret-VALUE-1",
    "T_NA": "Atzr|na-token-VALUE-2",
    "T_ORA": "ora-VALUE-3",
}
SECRET_OPTIONS = [
    "--lwa-client-secret-env", "T_LWA", "--refresh-token-env", "NA=T_NA",
    "--oracle-secret-env", "T_ORA",
]  # fmt: skip


def config_toml_for_examples(extra_amazon: str = "", extra_oracle: str = "") -> str:
    return f"""
[amazon]
regions = ["NA"]
marketplace_ids = ["ATVPDKIKX0DER"]
lwa_client_id = "amzn1.application-oa2-client.test"
{extra_amazon}

[oracle]
pod = "acme"
region = "us2"
identity_domain_url = "idcs-123"
client_id = "ml-connector"
scope = "urn:opc:resource:consumer::all"
business_unit = "US1 Business Unit"
ledger = "US Primary Ledger"
ledger_id = "300000046975971"
legal_entity = "ML Seller US LLC"
invoice_source = "Amazon Orders"
invoice_transaction_type = "Amazon Invoice"
credit_memo_transaction_type = "Amazon Credit Memo"
journal_source = "Amazon Settlements"
journal_category = "Amazon Settlement"
{extra_oracle}

[mappings]
charges = "{EXAMPLES / "charges.toml"}"
catalog = "{EXAMPLES / "catalog.csv"}"
"""
