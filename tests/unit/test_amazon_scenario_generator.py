"""The generated seller ties out: orders ↔ shipments ↔ groups ↔ settlement reports."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ml_connector_sim.amazon import (
    GeneratorParams,
    ScenarioError,
    generate_world,
    load_scenario,
    save_scenario,
    seller_catalog,
    write_catalog_csv,
)
from ml_connector_sim.amazon.faults import parse_faults

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WORLD = generate_world(GeneratorParams(seed=11, orders=500, days=30, now=NOW))


def leaves(nodes: list[dict[str, Any]]) -> list[tuple[str, Decimal]]:
    found: list[tuple[str, Decimal]] = []
    for node in nodes:
        if node.get("breakdowns"):
            found += leaves(node["breakdowns"])
        else:
            found.append((node["breakdownType"], node["breakdownAmount"]["currencyAmount"]))
    return found


def related(tx: dict[str, Any], name: str) -> str | None:
    return next((r["relatedIdentifierValue"] for r in tx["relatedIdentifiers"]
                 if r["relatedIdentifierName"] == name), None)  # fmt: skip


def test_same_seed_same_world_and_another_seed_differs() -> None:
    again = generate_world(GeneratorParams(seed=11, orders=500, days=30, now=NOW))
    assert again.orders == WORLD.orders
    assert again.transactions == WORLD.transactions
    later = generate_world(
        GeneratorParams(seed=11, orders=500, days=30, now=NOW + timedelta(days=1))
    )
    assert [o["orderId"] for o in later.orders] == [o["orderId"] for o in WORLD.orders]
    other = generate_world(GeneratorParams(seed=12, orders=500, days=30, now=NOW))
    assert other.orders[0]["orderId"] != WORLD.orders[0]["orderId"]


def test_group_totals_equal_their_released_transactions_and_reports() -> None:
    by_group: dict[str, Decimal] = Counter()  # type: ignore[assignment]
    for tx in WORLD.transactions:
        assert related(tx, "FINANCIAL_EVENT_GROUP_ID")
        assert related(tx, "SETTLEMENT_ID")
        assert (
            sum((a for _, a in leaves(tx["breakdowns"])), Decimal(0))
            == tx["totalAmount"]["currencyAmount"]
        )
        if tx["transactionStatus"] == "RELEASED":
            by_group[related(tx, "FINANCIAL_EVENT_GROUP_ID")] += tx["totalAmount"]["currencyAmount"]  # type: ignore[index]
    for group in WORLD.groups:
        assert group["OriginalTotal"]["CurrencyAmount"] == by_group[group["FinancialEventGroupId"]]
    closed = [g for g in WORLD.groups if g["ProcessingStatus"] == "Closed"]
    assert len({g["OriginalTotal"]["CurrencyCode"] for g in closed}) >= 2
    assert len(closed) >= 2 * 5 - 1
    reports = {r.financial_event_group_id: r for r in WORLD.settlement_reports}
    for group in closed:
        rows = reports[group["FinancialEventGroupId"]].rows
        total = sum((Decimal(r["amount"]) for r in rows[1:]), Decimal(0))
        assert Decimal(rows[0]["total-amount"]) == total == group["OriginalTotal"]["CurrencyAmount"]


def test_shipments_match_order_item_proceeds_exactly() -> None:
    orders = {o["orderId"]: o for o in WORLD.orders}
    checked = 0
    for tx in WORLD.transactions:
        if tx["transactionType"] != "Shipment" or tx["transactionStatus"] != "RELEASED":
            continue
        order = orders[related(tx, "ORDER_ID")]  # type: ignore[index]
        assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        for item, order_item in zip(tx["items"], order["orderItems"], strict=True):
            assert item["contexts"][0]["sku"] == order_item["product"]["sellerSku"]
            money = dict(leaves(item["breakdowns"]))
            subtotal = {b["type"]: Decimal(b["subtotal"]["amount"])
                        for b in order_item["proceeds"]["breakdowns"]}  # fmt: skip
            assert money["Principal"] == subtotal["ITEM"]
            invoiced = sum((money.get(k, Decimal(0)) for k in (
                "Principal", "Shipping", "GiftWrap", "Tax", "ShippingTax", "GiftWrapTax",
                "PrincipalPromotion", "ShippingPromotion")), Decimal(0))  # fmt: skip
            assert invoiced == Decimal(order_item["proceeds"]["proceedsTotal"]["amount"])
            checked += 1
    assert checked > 400


def test_the_mix_is_realistic() -> None:
    statuses = Counter(o["fulfillment"]["fulfillmentStatus"] for o in WORLD.orders)
    assert statuses["CANCELLED"] >= 3
    refunds = [t for t in WORLD.transactions if t["transactionType"] == "Refund"]
    assert 0.05 <= len(refunds) / statuses["SHIPPED"] <= 0.10
    kinds = {name for t in WORLD.transactions for name, _ in leaves(t["breakdowns"])}
    assert {"Commission", "FBAPerUnitFulfillmentFee", "Subscription", "FBAStorageFee",
            "AdvertisingFee", "FBAInventoryReimbursement", "CurrentReserveAmount",
            "MarketplaceFacilitatorTax-Principal", "RefundCommission"} <= kinds  # fmt: skip
    assert {t["transactionStatus"] for t in WORLD.transactions} >= {"RELEASED", "DEFERRED_RELEASED"}
    assert any(len(o["orderItems"]) >= 2 for o in WORLD.orders)
    assert {o["fulfillment"]["fulfilledBy"] for o in WORLD.orders} == {"AMAZON", "MERCHANT"}
    assert 20 <= len(seller_catalog(WORLD)) <= 40


def test_scenario_round_trip_and_catalog_csv(tmp_path: Path) -> None:
    path = tmp_path / "seller.json"
    save_scenario(WORLD, path)
    loaded = load_scenario(path)
    assert loaded.orders == WORLD.orders
    assert loaded.groups == WORLD.groups
    assert loaded.transactions == WORLD.transactions
    assert loaded.settlement_reports[0].rows == WORLD.settlement_reports[0].rows
    csv_path = tmp_path / "catalog.csv"
    write_catalog_csv(seller_catalog(loaded), csv_path)
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "sku,asin,title,category,price,currency,unit_cost"
    assert len(lines) == len(WORLD.catalog) + 1


def test_malformed_scenario_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    save_scenario(WORLD, path)
    document = json.loads(path.read_text())
    del document["orders"][3]["createdTime"]
    path.write_text(json.dumps(document))
    with pytest.raises(ScenarioError, match=r"broken\.json: orders\[3\]\.createdTime"):
        load_scenario(path)
    path.write_text("{not json")
    with pytest.raises(ScenarioError, match=r"broken\.json: not JSON"):
        load_scenario(path)


def test_fault_spec_parsing() -> None:
    faults = parse_faults("throttle=0.2,slow=0.1:0.5,expire-tokens=50,late-postings")
    assert faults.throttle_rate == 0.2
    assert faults.slow_seconds == 0.5
    assert faults.expire_tokens_after == 50
    assert faults.late_postings
    with pytest.raises(ValueError, match="throttle=2"):
        parse_faults("throttle=2")
