"""COGS in the settlement journal: units shipped booked, units returned reversed, holds named.

Figures are worked by hand: WIDGET-1 costs 4.20; 3 shipped → 3 × 4.20 = 12.60; 1 returned →
1 × 4.20 = 4.20. The example mapping books COGS to 50100 and inventory to 14000 (a balance-sheet
account, cost center 00); WIDGET-1's revenue cost center is 15, so its COGS line is 101.15.50100.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sp_api_shapes import Shapes

from ml_connector.domain.documents import Held, HoldCode, JournalDoc
from ml_connector.domain.ids import FinancialEventGroupId, journal_key
from ml_connector.flow.accounting import (
    AccountingPolicy,
    ReturnedGoods,
    plan_settlement_journal,
)
from ml_connector.flow.mapping import Catalog, ChargeMapping, load_mapping
from ml_connector.flow.mapping.catalog import parse_catalog
from ml_connector.flow.normalize import normalize_settlement
from ml_connector.flow.reconcile import (
    ReconcileStatus,
    SettlementReconciliation,
    reconcile_settlement,
    roles_from_mapping,
)

D = Decimal
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CATALOG = """sku,revenue_account,cost_center,cogs_account,inventory_account,unit_cost
WIDGET-1,40100,15,,,4.20
ODD-1,40100,15,,,4.205
NOCOST-1,40100,,,,
"""
COGS_ON = AccountingPolicy(include_cogs=True)
WRITE_OFF = AccountingPolicy(include_cogs=True, returned_goods=ReturnedGoods.WRITE_OFF)


def _mapping(tmp_path: Path, edit: dict[str, str]) -> ChargeMapping:
    text = (EXAMPLES / "charges.toml").read_text(encoding="utf-8")
    for old, new in edit.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "charges.toml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


@pytest.fixture
def write_off_mapping(tmp_path: Path) -> ChargeMapping:
    return _mapping(
        tmp_path, {'inventory = "14000"': 'inventory = "14000"\nreturns_write_off = "59100"'}
    )


@pytest.fixture
def costs(mapping: ChargeMapping) -> Catalog:
    return parse_catalog(CATALOG, "catalog.csv", mapping.chart)


def _settlement(shapes: type[Shapes], *txns: dict[str, Any]) -> Any:
    total = sum((D(t["totalAmount"]["currencyAmount"]) for t in txns), D(0))
    return normalize_settlement(shapes.group(total), list(txns))


def _shipment(
    shapes: type[Shapes], sku: str = "WIDGET-1", quantity: int | None = 3
) -> dict[str, Any]:
    return shapes.transaction(
        "T1", "Shipment", [("Principal", "30.00")], order_id="O-1", sku=sku, quantity=quantity
    )


def _refund(
    shapes: type[Shapes], kind: str = "Refund", quantity: int | None = 1, sku: str = "WIDGET-1"
) -> dict[str, Any]:
    return shapes.transaction(
        "T2", kind, [("Principal", "-10.00")], order_id="O-1", refund_id="R-1", sku=sku,
        quantity=quantity,
    )  # fmt: skip


def _cost_lines(journal: JournalDoc | Held) -> list[tuple[str, Decimal, Decimal, str]]:
    assert isinstance(journal, JournalDoc), journal
    assert journal.total_dr == journal.total_cr
    return [
        (str(ln.account), ln.entered_dr, ln.entered_cr, ln.description)
        for ln in journal.lines
        if ln.account.value("account") in ("50100", "14000", "59100")
    ]


def _cash(journal: JournalDoc | Held) -> tuple[Decimal, Decimal]:
    assert isinstance(journal, JournalDoc)
    (line,) = [ln for ln in journal.lines if str(ln.account) == "101.00.10500"]
    return line.entered_dr, line.entered_cr


def test_shipped_and_restocked_units(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes), _refund(shapes))
    journal = plan_settlement_journal(settlement, mapping, catalog=costs, policy=COGS_ON)
    assert _cost_lines(journal) == [
        ("101.15.50100", D("12.60"), D("0"), "COGS WIDGET-1: 3 shipped at 4.20"),
        ("101.00.14000", D("0"), D("12.60"), "Inventory WIDGET-1: 3 shipped at 4.20"),
        ("101.00.14000", D("4.20"), D("0"), "Inventory WIDGET-1: 1 returned at 4.20"),
        ("101.15.50100", D("0"), D("4.20"), "COGS WIDGET-1: 1 returned at 4.20"),
    ]
    # The payout is untouched: 30.00 − 10.00 = 20.00 debited to cash in transit.
    assert _cash(journal) == (D("20.00"), D("0"))


def test_returned_units_written_off(
    shapes: type[Shapes], write_off_mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes), _refund(shapes))
    journal = plan_settlement_journal(
        settlement, write_off_mapping, catalog=costs, policy=WRITE_OFF
    )
    assert _cost_lines(journal) == [
        ("101.15.50100", D("12.60"), D("0"), "COGS WIDGET-1: 3 shipped at 4.20"),
        ("101.00.14000", D("0"), D("12.60"), "Inventory WIDGET-1: 3 shipped at 4.20"),
        ("101.15.59100", D("4.20"), D("0"), "Returns write-off WIDGET-1: 1 returned at 4.20"),
        ("101.15.50100", D("0"), D("4.20"), "COGS WIDGET-1: 1 returned at 4.20"),
    ]
    assert _cash(journal) == (D("20.00"), D("0"))


def test_write_off_without_its_account_holds(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes), _refund(shapes))
    held = plan_settlement_journal(settlement, mapping, catalog=costs, policy=WRITE_OFF)
    assert isinstance(held, Held)
    assert held.code is HoldCode.UNMAPPED_SKU
    assert held.reason == (
        "COGS: SKU WIDGET-1 needs returns_write_off ([accounts] returns_write_off)"
    )


def test_cost_is_rounded_once_per_movement(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    # 3 × 4.205 = 12.615 → 12.62 (half up, to the cent of USD).
    settlement = _settlement(shapes, _shipment(shapes, sku="ODD-1"))
    journal = plan_settlement_journal(settlement, mapping, catalog=costs, policy=COGS_ON)
    assert [line[1:3] for line in _cost_lines(journal)] == [
        (D("12.62"), D("0")),
        (D("0"), D("12.62")),
    ]


def test_cogs_off_books_no_cost(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes), _refund(shapes))
    journal = plan_settlement_journal(settlement, mapping, catalog=costs)
    assert _cost_lines(journal) == []
    assert _cash(journal) == (D("20.00"), D("0"))


def test_a_guarantee_claim_returns_no_goods(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes), _refund(shapes, kind="GuaranteeClaim"))
    journal = plan_settlement_journal(settlement, mapping, catalog=costs, policy=COGS_ON)
    assert [line[3] for line in _cost_lines(journal)] == [
        "COGS WIDGET-1: 3 shipped at 4.20",
        "Inventory WIDGET-1: 3 shipped at 4.20",
    ]


def test_a_refund_of_no_units_returns_no_goods(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    """quantityShipped 0 (as in the v0 model's own example): money back, no unit came back."""
    settlement = _settlement(shapes, _shipment(shapes), _refund(shapes, quantity=0))
    journal = plan_settlement_journal(settlement, mapping, catalog=costs, policy=COGS_ON)
    assert [line[3] for line in _cost_lines(journal)] == [
        "COGS WIDGET-1: 3 shipped at 4.20",
        "Inventory WIDGET-1: 3 shipped at 4.20",
    ]
    assert _cash(journal) == (D("20.00"), D("0"))


def test_a_sku_without_unit_cost_holds(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes, sku="NOCOST-1"))
    held = plan_settlement_journal(settlement, mapping, catalog=costs, policy=COGS_ON)
    assert held == Held(
        journal_key(FinancialEventGroupId("G1")),
        HoldCode.UNMAPPED_SKU,
        "COGS: SKU(s) with no unit_cost in the catalog mapping: NOCOST-1 (fill the unit_cost "
        "column of their rows)",
    )


def test_a_sku_not_in_the_catalog_holds(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes, sku="GHOST-1"))
    held = plan_settlement_journal(settlement, mapping, catalog=costs, policy=COGS_ON)
    assert isinstance(held, Held)
    assert (held.code, held.details) == (HoldCode.UNMAPPED_SKU, ("GHOST-1",))
    assert held.reason.startswith("COGS: SKU(s) not in the catalog mapping: GHOST-1")


def test_missing_accounts_hold_naming_what_to_add(
    shapes: type[Shapes], tmp_path: Path, costs: Catalog
) -> None:
    bare = _mapping(tmp_path, {'cogs = "50100"\n': "", 'inventory = "14000"\n': ""})
    settlement = _settlement(shapes, _shipment(shapes))
    held = plan_settlement_journal(settlement, bare, catalog=costs, policy=COGS_ON)
    assert isinstance(held, Held)
    assert held.reason == (
        "COGS: SKU WIDGET-1 needs cogs (catalog column cogs_account, or [accounts] cogs) and "
        "inventory (catalog column inventory_account, or [accounts] inventory)"
    )


@pytest.mark.parametrize("absent", ["null", "no key"])
def test_an_absent_quantity_holds_naming_the_transaction(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog, absent: str
) -> None:
    refund = _refund(shapes, quantity=None)
    if absent == "no key":
        del refund["items"][0]["contexts"][0]["quantityShipped"]
    settlement = _settlement(shapes, _shipment(shapes), refund)
    held = plan_settlement_journal(settlement, mapping, catalog=costs, policy=COGS_ON)
    assert held == Held(
        journal_key(FinancialEventGroupId("G1")),
        HoldCode.AMBIGUOUS,
        "COGS of settlement G1 cannot be computed, Amazon does not say how many units moved: "
        "transaction T2 (Refund) gives no quantity for SKU WIDGET-1 (quantityShipped)",
        ("T2",),
    )


def test_a_shipment_without_items_holds(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    shipment = _shipment(shapes)
    del shipment["items"]
    held = plan_settlement_journal(
        _settlement(shapes, shipment), mapping, catalog=costs, policy=COGS_ON
    )
    assert isinstance(held, Held)
    assert held.reason.endswith("transaction T1 (Shipment) lists no items")
    assert held.details == ("T1",)


def test_a_settlement_in_another_currency_than_the_costs_holds(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes))
    held = plan_settlement_journal(
        settlement, mapping, catalog=costs, policy=COGS_ON, cost_currency="EUR"
    )
    assert isinstance(held, Held)
    assert "the catalog's unit_cost is in EUR and the settlement is in USD" in held.reason
    same = plan_settlement_journal(
        settlement, mapping, catalog=costs, policy=COGS_ON, cost_currency="USD"
    )
    assert isinstance(same, JournalDoc)
    # The connection's [accounting] cost_currency says the same through the policy.
    eur_costs = dataclasses.replace(COGS_ON, cost_currency="EUR")
    by_policy = plan_settlement_journal(settlement, mapping, catalog=costs, policy=eur_costs)
    assert isinstance(by_policy, Held)
    assert "unit_cost is in EUR" in by_policy.reason


# --- reconciliation -------------------------------------------------------------------------


def _reconcile(
    mapping: ChargeMapping, costs: Catalog, settlement: Any, journal: JournalDoc
) -> SettlementReconciliation:
    return reconcile_settlement(
        settlement,
        journal,
        roles=roles_from_mapping(mapping),
        posted=True,
        catalog=costs,
        policy=COGS_ON,
    )


def _doctor(journal: JournalDoc, description: str, amount: str) -> JournalDoc:
    """The journal with the line of that description moved to `amount` (same side)."""
    lines = []
    for line in journal.lines:
        if line.description == description:
            side = "entered_dr" if line.entered_dr else "entered_cr"
            line = replace(line, **{side: D(amount)})
        lines.append(line)
    return replace(journal, lines=tuple(lines))


@pytest.fixture
def shipped_and_returned(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> tuple[Any, JournalDoc]:
    settlement = _settlement(shapes, _shipment(shapes), _refund(shapes))
    journal = plan_settlement_journal(settlement, mapping, catalog=costs, policy=COGS_ON)
    assert isinstance(journal, JournalDoc)
    return settlement, journal


def test_reconcile_cogs_that_ties_is_matched(
    mapping: ChargeMapping, costs: Catalog, shipped_and_returned: tuple[Any, JournalDoc]
) -> None:
    result = _reconcile(mapping, costs, *shipped_and_returned)
    assert result.status is ReconcileStatus.MATCHED, result.notes
    cogs = result.to_json()["invariants"]["cogs"]
    # (3 − 1) × 4.20 = 8.40 of COGS; inventory −12.60 + 4.20 = −8.40: the same 8.40.
    assert cogs == {
        "holds": True,
        "expected": "8.40",
        "booked": "8.40",
        "cause": None,
        "skus": [
            {
                "sku": "WIDGET-1",
                "shipped": 3,
                "returned": 1,
                "unit_cost": "4.20",
                "catalog_unit_cost": "4.20",
                "expected": "8.40",
                "booked": "8.40",
                "inventory_and_write_off": "8.40",
                "cause": None,
            }
        ],
    }


def test_reconcile_a_doctored_cogs_line_is_a_variance_naming_the_sku(
    mapping: ChargeMapping, costs: Catalog, shipped_and_returned: tuple[Any, JournalDoc]
) -> None:
    settlement, journal = shipped_and_returned
    # Both sides of the shipped pair cut to 12.00: the journal still balances and still ties
    # to Amazon's total, only the cost is wrong (12.00 − 4.20 = 7.80 instead of 8.40).
    doctored = _doctor(journal, "COGS WIDGET-1: 3 shipped at 4.20", "12.00")
    doctored = _doctor(doctored, "Inventory WIDGET-1: 3 shipped at 4.20", "12.00")
    assert doctored.total_dr == doctored.total_cr
    result = _reconcile(mapping, costs, settlement, doctored)
    assert result.status is ReconcileStatus.VARIANCE
    assert result.notes == (
        "COGS WIDGET-1: COGS booked 7.80, expected 8.40 (3 shipped − 1 returned at 4.20)",
    )
    data = result.to_json()["invariants"]
    assert data["cogs"]["holds"] is False
    assert data["journal_total"]["holds"] is True  # the payout still ties: only COGS is off


def test_reconcile_cost_lines_that_do_not_balance_are_named(
    mapping: ChargeMapping, costs: Catalog, shipped_and_returned: tuple[Any, JournalDoc]
) -> None:
    settlement, journal = shipped_and_returned
    doctored = _doctor(journal, "Inventory WIDGET-1: 1 returned at 4.20", "4.00")
    result = _reconcile(mapping, costs, settlement, doctored)
    assert result.status is ReconcileStatus.VARIANCE
    # Inventory: −12.60 + 4.00 = −8.60 taken off, COGS still 8.40.
    assert result.notes == (
        "COGS WIDGET-1: inventory and write-off lines take 8.60 off, COGS is 8.40 (the cost "
        "lines do not balance)",
    )


def test_reconcile_a_journal_without_cogs_is_a_variance(
    shapes: type[Shapes], mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes), _refund(shapes))
    journal = plan_settlement_journal(settlement, mapping, catalog=costs)  # COGS was off
    assert isinstance(journal, JournalDoc)
    result = _reconcile(mapping, costs, settlement, journal)
    assert result.status is ReconcileStatus.VARIANCE
    assert result.notes == (
        "COGS WIDGET-1: COGS booked 0.00, expected 8.40 (3 shipped − 1 returned at 4.20)",
    )


def test_reconcile_written_off_returns_tie(
    shapes: type[Shapes], write_off_mapping: ChargeMapping, costs: Catalog
) -> None:
    settlement = _settlement(shapes, _shipment(shapes), _refund(shapes))
    journal = plan_settlement_journal(
        settlement, write_off_mapping, catalog=costs, policy=WRITE_OFF
    )
    assert isinstance(journal, JournalDoc)
    result = _reconcile(write_off_mapping, costs, settlement, journal)
    assert result.status is ReconcileStatus.MATCHED, result.notes
    # Inventory credit 12.60 less the write-off debit 4.20 = 8.40 = COGS.
    (sku,) = result.to_json()["invariants"]["cogs"]["skus"]
    assert (sku["booked"], sku["inventory_and_write_off"]) == ("8.40", "8.40")


def test_reconcile_without_cogs_shows_no_cogs_check(
    mapping: ChargeMapping, shipped_and_returned: tuple[Any, JournalDoc]
) -> None:
    settlement, journal = shipped_and_returned
    result = reconcile_settlement(
        settlement, journal, roles=roles_from_mapping(mapping), posted=True
    )
    assert result.status is ReconcileStatus.MATCHED, result.notes
    assert "cogs" not in result.to_json()["invariants"]


def test_reconcile_a_journal_booking_other_units_names_them(
    mapping: ChargeMapping, costs: Catalog, shipped_and_returned: tuple[Any, JournalDoc]
) -> None:
    settlement, journal = shipped_and_returned
    # The returned pair rewritten as 2 units at 2.10: same 4.20, but not Amazon's 1 unit.
    lines = tuple(
        replace(ln, description=ln.description.replace("1 returned at 4.20", "2 returned at 2.10"))
        for ln in journal.lines
    )
    result = _reconcile(mapping, costs, settlement, replace(journal, lines=lines))
    assert result.status is ReconcileStatus.VARIANCE
    assert result.notes == (
        "COGS WIDGET-1: the journal books 3 shipped and 2 returned, Amazon's transactions give "
        "3 and 1",
    )
