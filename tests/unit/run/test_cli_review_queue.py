"""`review list` by the thing to fix, `--missing-skus`, `review dismiss`, `review resolve` results.

Issue 11: 30 missing SKUs showed as ~150 causes, 28 identical Oracle rejections were not grouped
(each carries a request id), `--json` had no causes, a change after posting could never be
closed, and `review resolve` reported "not planned yet" for documents it had just posted.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from ml_connector.context import open_runtime
from ml_connector.flow.mapping.catalog import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from ml_connector.run.cli import app
from ml_connector.run.commands.review import strip_volatile
from ml_connector.store import (
    AmazonSettings,
    ConnectionConfig,
    MappingFiles,
    OracleSettings,
    ReviewKind,
    add_connection,
    open_review_item,
    timeline,
)

runner = CliRunner()
SKUS = [f"SKU-{n:02d}" for n in range(30)]


def _config(tmp_path: Path, seller: str) -> ConnectionConfig:
    return ConnectionConfig(
        amazon=AmazonSettings(
            regions=["NA"], marketplace_ids=["ATVPDKIKX0DER"], lwa_client_id="c", seller_id=seller
        ),
        oracle=OracleSettings(
            pod="pod",
            region="us2",
            identity_domain_url="idcs-x",
            client_id="c",
            scope="s",
            business_unit="BU",
            ledger="L",
            legal_entity="LE",
            invoice_source="S",
            invoice_transaction_type="T",
            credit_memo_transaction_type="CM",
            journal_source="JS",
            journal_category="JC",
            ledger_id="1",
        ),
        mappings=MappingFiles(catalog=tmp_path / "c.csv", charges=tmp_path / "c.toml"),
    )


def _orders_of(n: int) -> int:
    return n % 4 + 1  # SKU-00 is sold by 1 order, SKU-01 by 2, ... SKU-03 by 4, SKU-04 by 1...


@pytest.fixture
def queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """A queue as a sync leaves it: 30 unmapped SKUs over many orders, 28 Oracle rejections
    of one cause with different request ids, breakdowns, a transaction type, bad fields."""
    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    ids: dict[str, int] = {}
    rt = open_runtime()
    try:
        with rt.sessions() as session, session.begin():
            acme = add_connection(session, "acme", _config(tmp_path, "A1ACME")).id
            add_connection(session, "other", _config(tmp_path, "A2OTHER"))
            order = 0
            for n, sku in enumerate(SKUS):
                for _ in range(_orders_of(n)):
                    order += 1
                    # Every fifth order also sells SKU-00: one item, two causes.
                    skus = [sku, "SKU-00"] if order % 5 == 0 and sku != "SKU-00" else [sku]
                    open_review_item(
                        session,
                        acme,
                        ReviewKind.UNMAPPED_SKU,
                        f"111-{order:07d}-0000001",
                        f"SKU(s) not in the catalog mapping: {', '.join(skus)}",
                        details={"code": "unmapped_sku", "key": f"inv:{order}", "items": skus},
                    )
            for n in range(28):
                item, _ = open_review_item(
                    session,
                    acme,
                    ReviewKind.ORACLE_REJECTED,
                    f"112-{n:07d}-0000001",
                    "Oracle rejected the invoice: AR-857798 The transaction date is in a "
                    f"closed period. (request id 0051{n:04d}abc, ECID 9f{n}e-77)",
                    details={"idempotency_key": f"inv:112-{n}"},
                )
                ids.setdefault("rejected", item.id)
            for group, paths in (
                ("G1", ["Expenses/AmazonFees/NewFee"]),
                ("G2", ["Expenses/AmazonFees/NewFee", "Expenses/Other/Mystery"]),
            ):
                open_review_item(
                    session,
                    acme,
                    ReviewKind.UNKNOWN_FEE_TYPE,
                    group,
                    f"breakdowns not in the charge mapping: {', '.join(paths)} (transaction T-1)",
                    details={"code": "unmapped_charge", "key": f"jnl:{group}", "items": paths},
                )
            for txn in ("T-10", "T-11"):
                open_review_item(
                    session,
                    acme,
                    ReviewKind.ACCOUNTING_HOLD,
                    txn,
                    f"transaction type 'WeirdRefund' moves money of order 113-{txn} ...",
                    details={"record": "transaction", "field": "transactionType",
                             "transaction_type": "WeirdRefund", "order_id": "113-1"},
                )  # fmt: skip
            for order_id in ("114-0000001-0000001", "114-0000002-0000001"):
                open_review_item(
                    session,
                    acme,
                    ReviewKind.INVALID_DATA,
                    order_id,
                    f"order {order_id}: OrderTotal.Amount is not a number",
                    details={"record": "order", "amazon_id": order_id,
                             "field": "OrderTotal.Amount", "reason": "not a number: 'abc'"},
                )  # fmt: skip
            for n in range(3):
                order_id = f"116-{n:07d}-0000001"
                open_review_item(
                    session,
                    acme,
                    ReviewKind.ACCOUNTING_HOLD,
                    order_id,
                    f"Amazon.de (A1PA6795UKMFR9) prices include VAT and order {order_id} "
                    'carries no tax figure: add [vat.DE] rate = "<percent>" to the charge mapping',
                    details={"code": "missing_vat", "key": f"inv:{order_id}",
                             "items": ["A1PA6795UKMFR9", '[vat.DE] rate = "<percent>"']},
                )  # fmt: skip
            changed, _ = open_review_item(
                session,
                acme,
                ReviewKind.CHANGED_AFTER_POSTING,
                "115-0000001-0000001",
                "Amazon changed order 115-0000001-0000001 after its invoice was posted",
                details={"key": "inv:115", "changes": ["ship date"]},
            )
            ids["changed"] = changed.id
            ids["orders"] = order
    finally:
        rt.close()
    return ids


def _cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def _causes() -> list[dict[str, Any]]:
    result = _cli("review", "list", "--json")
    assert result.exit_code == 0, result.output
    causes: list[dict[str, Any]] = json.loads(result.stdout)["causes"]
    return causes


def test_json_groups_30_missing_skus_into_30_causes_with_their_order_counts(
    queue: dict[str, int],
) -> None:
    skus = {c["value"]: c for c in _causes() if c["what"] == "sku"}
    assert sorted(skus) == SKUS
    extra = sum(1 for order in range(1, queue["orders"] + 1) if order % 5 == 0)
    for n, sku in enumerate(SKUS[1:], start=1):
        assert skus[sku]["records"] == _orders_of(n), sku
    # SKU-00: its own order plus every order that also sells it (less those of SKU-00 itself).
    assert skus["SKU-00"]["records"] == _orders_of(0) + extra
    assert skus["SKU-03"]["cause"] == "SKU SKU-03 is not in the catalog mapping"
    # The held orders themselves, not only their number: a person can look each one up.
    assert len(skus["SKU-03"]["amazon_ids"]) == skus["SKU-03"]["records"]
    assert skus["SKU-03"]["amazon_ids"] == sorted(skus["SKU-03"]["amazon_ids"])
    assert all(c["kind"] == "unmapped_sku" for c in skus.values())


def test_oracle_rejections_group_by_error_code_without_request_ids(queue: dict[str, int]) -> None:
    rejected = [c for c in _causes() if c["kind"] == "oracle_rejected"]
    assert len(rejected) == 1
    assert rejected[0]["what"] == "oracle_error"
    assert rejected[0]["value"] == "AR-857798"
    assert rejected[0]["records"] == 28
    assert "0051" not in rejected[0]["cause"]
    assert "request id …" in rejected[0]["cause"]


def test_breakdowns_transaction_types_and_fields_are_causes(queue: dict[str, int]) -> None:
    by = {(c["what"], c["value"]): c for c in _causes()}
    assert by[("breakdown", "Expenses/AmazonFees/NewFee")]["records"] == 2
    assert by[("breakdown", "Expenses/Other/Mystery")]["records"] == 1
    assert by[("transaction_type", "WeirdRefund")]["records"] == 2
    assert by[("field", "order.OrderTotal.Amount")]["records"] == 2
    assert by[("field", "order.OrderTotal.Amount")]["cause"].startswith("order.OrderTotal.Amount")


def test_vat_holds_group_by_marketplace_not_by_order(queue: dict[str, int]) -> None:
    vat = [c for c in _causes() if c["what"] == "vat"]
    assert [(c["value"], c["records"]) for c in vat] == [("A1PA6795UKMFR9", 3)]
    assert '[vat.DE] rate = "<percent>"' in vat[0]["cause"]


def test_table_shows_the_causes_and_points_to_missing_skus(queue: dict[str, int]) -> None:
    result = _cli("review", "list")
    assert result.exit_code == 0
    assert "By cause" in result.stdout
    assert "sku SKU-03" in result.stdout
    assert "oracle error AR-857798" in result.stdout
    assert "--missing-skus" in result.stdout


def test_missing_skus_prints_catalog_rows_ready_to_fill_in(queue: dict[str, int]) -> None:
    result = _cli("review", "list", "-c", "acme", "--missing-skus")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    assert sorted(row[0] for row in rows[1:]) == SKUS
    assert all(len(row) == len(rows[0]) and not any(row[1:]) for row in rows[1:])
    body = json.loads(_cli("review", "list", "--missing-skus", "--json").stdout)
    assert len(body["missing_skus"]) == 30
    assert _cli("review", "list", "-c", "other", "--missing-skus").stdout.count("\n") == 1


def test_dismiss_closes_a_change_after_posting_with_an_audited_note(
    queue: dict[str, int],
) -> None:
    number = str(queue["changed"])
    result = _cli("review", "dismiss", number, "--note", "finance accepts the new ship date")
    assert result.exit_code == 0, result.output
    assert f"dismissed #{number}" in result.stdout
    kinds = {c["kind"] for c in _causes()}
    assert "changed_after_posting" not in kinds
    rt = open_runtime()
    try:
        with rt.sessions() as session:
            events = timeline(session, "115-0000001-0000001")
            assert [e.action for e in events] == ["dismissed"]
            assert events[0].details["note"] == "finance accepts the new ship date"
    finally:
        rt.close()
    again = _cli("review", "dismiss", number, "--note", "twice")
    assert again.exit_code == 2
    assert "already closed" in again.stderr
    assert "dismissed: finance accepts" in again.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["999999", "--note", "x"], "no review item #999999"),
        (["{changed}", "--note", "   "], "--note"),
        (["{changed}", "--note", "x", "-c", "other"], "belongs to another connection"),
    ],
    ids=["unknown", "blank-note", "other-connection"],
)
def test_dismiss_refusals_exit_2_and_change_nothing(
    queue: dict[str, int], args: list[str], needle: str
) -> None:
    filled = [a.format(changed=queue["changed"]) for a in args]
    result = _cli("review", "dismiss", *filled)
    assert result.exit_code == 2
    assert needle in result.stderr
    assert "Traceback" not in result.output
    assert any(c["kind"] == "changed_after_posting" for c in _causes())


def test_dismiss_needs_a_note(queue: dict[str, int]) -> None:
    result = _cli("review", "dismiss", str(queue["changed"]))
    assert result.exit_code == 2
    assert "--note" in result.output


def test_resolve_refuses_an_unknown_item_number(queue: dict[str, int]) -> None:
    result = _cli("review", "resolve", "-c", "acme", "999999")
    assert result.exit_code == 2
    assert "review item #999999: there is no such item" in result.stderr
    wrong = _cli("review", "resolve", "-c", "other", str(queue["rejected"]))
    assert wrong.exit_code == 2
    assert "belongs to another connection" in wrong.stderr


def test_strip_volatile_keeps_the_words() -> None:
    text = "period closed (request id 12ab-99, ESS request 5566778) for 111-1234567-1234567"
    assert strip_volatile(text) == "period closed (request id …, ESS request …) for …"


Factory = Callable[..., Any]


def test_resolve_reports_each_document_posted_with_its_oracle_id(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.sync()
    held = seller.review(ReviewKind.UNMAPPED_SKU)
    assert held
    seller.write_mapping()
    first = held[0]
    result = _cli("review", "resolve", "-c", "demo", str(first.id), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["closed"] == 1
    assert body["open"] == 0
    docs = [d for d in body["documents"] if d["amazon_id"] == first.subject_amazon_id]
    assert docs
    assert all(d["state"] == "posted" and d["oracle_id"] for d in docs)
    human = _cli("review", "resolve", "-c", "demo", "--all")
    assert human.exit_code == 0, human.output
    assert "0 still open" in human.stdout
    assert "posted" in human.stdout
