"""The generated seller ties out: orders ↔ shipments ↔ groups ↔ settlement reports."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path as FilePath
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


Path = tuple[str, ...]


def leaves(nodes: list[dict[str, Any]], path: Path = ()) -> list[tuple[Path, Decimal]]:
    """Leaves with their breakdown path; every group node must equal the sum of its children."""
    found: list[tuple[Path, Decimal]] = []
    for node in nodes:
        here = (*path, node["breakdownType"])
        if node.get("breakdowns"):
            below = leaves(node["breakdowns"], here)
            assert (
                sum((a for _, a in below), Decimal(0)) == node["breakdownAmount"]["currencyAmount"]
            ), here
            found += below
        else:
            found.append((here, node["breakdownAmount"]["currencyAmount"]))
    return found


def by_path(pairs: list[tuple[Path, Decimal]]) -> dict[Path, Decimal]:
    summed: dict[Path, Decimal] = Counter()  # type: ignore[assignment]
    for path, amount in pairs:
        summed[path] += amount
    return dict(summed)


def related(tx: dict[str, Any], name: str) -> str | None:
    return next((r["relatedIdentifierValue"] for r in tx["relatedIdentifiers"]
                 if r["relatedIdentifierName"] == name), None)  # fmt: skip


GROUPS = {g["FinancialEventGroupId"]: g for g in WORLD.groups}


def group_of(tx: dict[str, Any]) -> dict[str, Any]:
    return GROUPS[related(tx, "FINANCIAL_EVENT_GROUP_ID")]  # type: ignore[index]


def counted(tx: dict[str, Any]) -> bool:
    """The documented rule: RELEASED in any case; no status inside a Closed group."""
    status = tx.get("transactionStatus")
    if status is None:
        return bool(group_of(tx)["ProcessingStatus"] == "Closed")
    return bool(status.upper() == "RELEASED")


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
        top = leaves(tx["breakdowns"])
        if tx["transactionType"] == "Transfer":
            assert tx["breakdowns"] == []
            assert "items" not in tx
        else:
            assert sum((a for _, a in top), Decimal(0)) == tx["totalAmount"]["currencyAmount"]
            # The transaction's tree is its items' trees added up, path by path.
            below = [pair for item in tx["items"] for pair in leaves(item.get("breakdowns", []))]
            itemised = [item for item in tx["items"] if "breakdowns" in item]
            if itemised:
                assert by_path(below) == by_path(top), tx["transactionId"]
        if counted(tx):
            by_group[related(tx, "FINANCIAL_EVENT_GROUP_ID")] += tx["totalAmount"]["currencyAmount"]  # type: ignore[index]
    for group in WORLD.groups:
        assert group["OriginalTotal"]["CurrencyAmount"] == by_group[group["FinancialEventGroupId"]]
        assert group["ProcessingStatus"] in ("Open", "Closed")  # as the v0 model spells them
    closed = [g for g in WORLD.groups if g["ProcessingStatus"] == "Closed"]
    assert len({g["OriginalTotal"]["CurrencyCode"] for g in closed}) >= 2
    assert len(closed) >= 2 * 5 - 1
    reports = {r.financial_event_group_id: r for r in WORLD.settlement_reports}
    for group in closed:
        rows = reports[group["FinancialEventGroupId"]].rows
        total = sum((Decimal(r["amount"]) for r in rows[1:]), Decimal(0))
        assert Decimal(rows[0]["total-amount"]) == total == group["OriginalTotal"]["CurrencyAmount"]
        assert {"Principal", "Commission", "Transfer", "CommissionTax"} & {
            r["amount-description"] for r in rows[1:]
        }
        assert "Base" not in {r["amount-description"] for r in rows[1:]}


INVOICED = {("Sales", "ProductCharges"), ("Sales", "Shipping"), ("Sales", "GiftWrap"),
            ("Sales", "Tax"), ("Promotions", "ProductCharges"),
            ("Promotions", "Shipping")}  # fmt: skip


def test_shipments_match_order_item_proceeds_exactly() -> None:
    orders = {o["orderId"]: o for o in WORLD.orders}
    checked = 0
    for tx in WORLD.transactions:
        if tx["transactionType"] != "Shipment" or not counted(tx):
            continue
        order = orders[related(tx, "ORDER_ID")]  # type: ignore[index]
        assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        for item, order_item in zip(tx["items"], order["orderItems"], strict=True):
            assert item["contexts"][0]["sku"] == order_item["product"]["sellerSku"]
            money = by_path(leaves(item["breakdowns"]))
            subtotal = {b["type"]: Decimal(b["subtotal"]["amount"])
                        for b in order_item["proceeds"]["breakdowns"]}  # fmt: skip
            assert money[("Sales", "ProductCharges")] == subtotal["ITEM"]
            assert money.get(("Sales", "Tax"), Decimal(0)) == subtotal.get("TAX", Decimal(0))
            invoiced = sum((money.get(k, Decimal(0)) for k in INVOICED), Decimal(0))
            assert invoiced == Decimal(order_item["proceeds"]["proceedsTotal"]["amount"])
            checked += 1
    assert checked > 400


RATES = {"A1F83G8C2ARO7P": Decimal("0.20"), "A1PA6795UKMFR9": Decimal("0.19")}


def test_amazon_fees_carry_vat_in_the_eu_and_only_a_base_elsewhere() -> None:
    shapes: Counter[str] = Counter()
    for tx in WORLD.transactions:
        market = tx["marketplaceDetails"]["marketplaceId"]
        trees = [i["breakdowns"] for i in tx.get("items", []) if "breakdowns" in i]
        for tree in trees or [tx["breakdowns"]]:
            money = by_path(leaves(tree))
            for fee in {path[2] for path in money if path[:2] == ("Expenses", "AmazonFees")}:
                node = ("Expenses", "AmazonFees", fee)
                if market in RATES:  # VAT on the fee, rounded per line like the fee itself
                    base, vat = money[(*node, "Base")], money[(*node, "Tax")]
                    assert vat == (base * RATES[market]).quantize(Decimal("0.01"), ROUND_HALF_UP)
                    assert node not in money
                    shapes["eu"] += 1
                else:
                    assert (*node, "Tax") not in money, (tx["transactionId"], fee)
                    shapes["base only" if (*node, "Base") in money else "bare"] += 1
    assert shapes["eu"] >= 50
    assert shapes["base only"] >= 20
    assert shapes["bare"] >= 20


def test_a_whole_refund_mirrors_its_shipment() -> None:
    shipments = {related(t, "ORDER_ID"): t for t in WORLD.transactions
                 if t["transactionType"] == "Shipment" and counted(t)}  # fmt: skip
    mirrored = 0
    for refund in WORLD.transactions:
        if refund["transactionType"] != "Refund":
            continue
        sale = shipments.get(related(refund, "ORDER_ID"))
        back = by_path(leaves(refund["breakdowns"]))
        assert all(a < 0 for p, a in back.items() if p[0] == "Sales")
        assert all(a < 0 for p, a in back.items() if p[2:3] == ("RefundCommission",))
        if sale is None:
            continue
        paid = by_path(leaves(sale["breakdowns"]))
        mirror = {path for path in paid if path[2:3] != ("FBAPerUnitFulfillmentFee",)}
        units = [[c["quantityShipped"] for c in i["contexts"]] for i in refund["items"]]
        if (
            units != [[c["quantityShipped"] for c in i["contexts"]] for i in sale["items"]]
            or {path for path in back if path[2:3] != ("RefundCommission",)} != mirror
        ):
            continue  # one unit refunded: no shipping, a share of tax and commission
        for path in mirror:
            assert back[path] == -paid[path], (refund["transactionId"], path)
        mirrored += 1
    assert mirrored >= 5


def test_the_real_shapes_occur_in_open_and_closed_groups() -> None:
    status = Counter(
        (str(t.get("transactionStatus")), group_of(t)["ProcessingStatus"])
        for t in WORLD.transactions
    )
    assert status[("Released", "Open")] >= 2
    assert status[("Released", "Closed")] >= 5
    assert status[("None", "Closed")] >= 5
    assert status[("None", "Open")] == 0  # null status only where the Closed total decides it
    nulls = [t for t in WORLD.transactions if t.get("transactionStatus") is None]
    assert {t["transactionType"] for t in nulls} == {"Shipment"}
    assert {"transactionStatus" in t for t in nulls} == {True, False}  # JSON null, or left out
    without = [t for t in WORLD.transactions if related(t, "SETTLEMENT_ID") is None]
    assert 0.1 * len(WORLD.transactions) <= len(without) < len(WORLD.transactions)
    by_group: dict[str, set[bool]] = {}
    for tx in WORLD.transactions:
        by_group.setdefault(related(tx, "FINANCIAL_EVENT_GROUP_ID"), set()).add(  # type: ignore[arg-type]
            related(tx, "SETTLEMENT_ID") is not None
        )
    assert {False} in by_group.values()  # a whole group whose transactions carry none
    assert {True, False} in by_group.values()
    transfers = [t for t in WORLD.transactions if t["transactionType"] == "Transfer"]
    assert len(transfers) >= 5
    assert all(t["breakdowns"] == [] and t["totalAmount"]["currencyAmount"] for t in transfers)
    assert {t["totalAmount"]["currencyAmount"] > 0 for t in transfers} == {True, False}
    assert all(related(t, "TRANSFER_ID") for t in transfers)
    reimbursements = [t for t in WORLD.transactions if t["transactionType"] == "Adjustment"]
    assert reimbursements
    assert all("breakdowns" not in i for t in reimbursements for i in t["items"])


def test_the_mix_is_realistic() -> None:
    statuses = Counter(o["fulfillment"]["fulfillmentStatus"] for o in WORLD.orders)
    assert statuses["CANCELLED"] >= 3
    refunds = [t for t in WORLD.transactions if t["transactionType"] == "Refund"]
    assert 0.05 <= len(refunds) / statuses["SHIPPED"] <= 0.10
    kinds = {"/".join(path) for t in WORLD.transactions for path, _ in leaves(t["breakdowns"])}
    assert {"Expenses/AmazonFees/Commission/Base", "Expenses/AmazonFees/Commission/Tax",
            "Expenses/AmazonFees/Commission", "Expenses/AmazonFees/FBAPerUnitFulfillmentFee/Tax",
            "Expenses/AmazonFees/RefundCommission/Base", "Expenses/AmazonFees/Subscription/Tax",
            "Expenses/AmazonFees/FBAStorageFee", "Expenses/AmazonFees/AdvertisingFee/Base",
            "Sales/ProductCharges", "Sales/Tax", "Sales/Shipping", "Promotions/ProductCharges",
            "Promotions/Shipping", "Reimbursements/FBAInventoryReimbursement",
            "Reserve/CurrentReserveAmount", "TaxWithheld/MarketplaceFacilitatorTax-Principal",
            } <= kinds  # fmt: skip
    assert {t.get("transactionStatus") for t in WORLD.transactions} >= {
        "RELEASED",
        "DEFERRED_RELEASED",
    }
    assert any(len(o["orderItems"]) >= 2 for o in WORLD.orders)
    assert {o["fulfillment"]["fulfilledBy"] for o in WORLD.orders} == {"AMAZON", "MERCHANT"}
    assert 20 <= len(seller_catalog(WORLD)) <= 40


def test_orders_leave_out_optional_fields_but_keep_the_required_ones() -> None:
    items = [item for order in WORLD.orders for item in order["orderItems"]]
    assert all({"orderItemId", "quantityOrdered", "product"} <= set(i) for i in items)
    assert all(i["product"]["sellerSku"] for i in items)
    assert any("condition" not in i["product"] for i in items)
    assert any("title" not in i["product"] for i in items)
    assert any("fulfillmentServiceLevel" not in o["fulfillment"] for o in WORLD.orders)
    business = [o for o in WORLD.orders if "programs" in o]
    assert business
    assert all(o["programs"] == ["AMAZON_BUSINESS"] for o in business)
    addresses = [o["recipient"]["deliveryAddress"] for o in WORLD.orders]
    assert all(a.get("stateOrRegion") != "" for a in addresses)
    assert any("stateOrRegion" not in a for a in addresses)
    for order in WORLD.orders:
        assert {"orderId", "createdTime", "lastUpdatedTime", "salesChannel", "orderItems"} <= set(
            order
        )
        assert order["salesChannel"]["marketplaceId"]
        status = order["fulfillment"]["fulfillmentStatus"]
        assert ("proceeds" in order) == (status not in ("PENDING", "CANCELLED")), order["orderId"]


def test_scenario_round_trip_and_catalog_csv(tmp_path: FilePath) -> None:
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


def test_malformed_scenario_names_file_and_field(tmp_path: FilePath) -> None:
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
