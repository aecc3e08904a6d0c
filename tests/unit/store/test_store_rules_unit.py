"""Pure rules of the store: the outbox graph, the audit secret guard, connection config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ml_connector.store import TRANSITIONS, ConnectionConfig, DocumentState, refuse_secrets
from ml_connector.store.errors import AuditRefusedError

S = DocumentState


def test_the_outbox_graph_is_the_agreed_one() -> None:
    edges = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert edges == {
        (S.PLANNED, S.SENDING),
        (S.PLANNED, S.WAITING),
        (S.SENDING, S.POSTED),
        (S.SENDING, S.RETRY),
        (S.SENDING, S.REJECTED),
        (S.RETRY, S.SENDING),
        (S.WAITING, S.PLANNED),
        (S.REJECTED, S.PLANNED),
    }
    assert TRANSITIONS[S.POSTED] == frozenset()


def test_every_state_can_still_end_up_posted() -> None:
    reaches_posted = {S.POSTED}
    while True:
        more = {s for s, targets in TRANSITIONS.items() if targets & reaches_posted}
        if more <= reaches_posted:
            break
        reaches_posted |= more
    assert reaches_posted == set(DocumentState)


@pytest.mark.parametrize(
    "details",
    [
        {"amount": "30.23", "order": "111-1", "lines": [{"sku": "MUG-01"}]},
        {"reason": "AR-855 invalid account", "status": 400},
    ],
)
def test_ordinary_details_pass_the_guard(details: dict[str, Any]) -> None:
    refuse_secrets(details)


@pytest.mark.parametrize(
    "key", ["password", "ClientSecret", "x-amz-access-token", "private_key", "api-key", "Cookie"]
)
def test_secret_named_keys_are_refused_at_any_depth(key: str) -> None:
    with pytest.raises(AuditRefusedError, match="named like secrets"):
        refuse_secrets({"outer": [{"inner": {key: "value"}}]})


def _config(**oracle_changes: object) -> dict[str, Any]:
    oracle: dict[str, Any] = {
        "pod": "acme-test",
        "region": "us2",
        "identity_domain_url": "https://idcs.example",
        "client_id": "c",
        "scope": "s",
        "business_unit": "BU",
        "ledger": "L",
        "legal_entity": "LE",
        "invoice_source": "AMAZON",
        "invoice_transaction_type": "Inv",
        "credit_memo_transaction_type": "CM",
        "journal_source": "Amazon",
        "journal_category": "Settlement",
        "ledger_id": "300000046975971",
    }
    oracle.update(oracle_changes)
    return {
        "amazon": {"regions": ["NA"], "marketplace_ids": ["ATVPDKIKX0DER"], "lwa_client_id": "a"},
        "oracle": oracle,
        "mappings": {"catalog": "catalog.yaml", "charges": "charges.yaml"},
    }


def test_a_complete_config_validates_with_defaults() -> None:
    config = ConnectionConfig.model_validate(_config())
    assert config.cadences.orders_minutes == 10
    assert config.cadences.finances_minutes == 15
    assert config.mappings.catalog == Path("catalog.yaml")
    assert config.oracle.auth == "client_credentials"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pod": "acme.evil.com"}, "DNS label"),
        ({"region": "US2"}, "DNS label"),
        ({"client_secret": "s3cr3t"}, "Extra inputs are not permitted"),
        ({"ledger": ""}, "at least 1 character"),
    ],
)
def test_bad_configs_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        ConnectionConfig.model_validate(_config(**changes))
    assert "s3cr3t" not in str(caught.value)
