"""Settlement reconciliation: DESIGN.md §4's worked example, and journals that do not match."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import JournalDoc
from ml_connector.domain.settlements import Settlement
from ml_connector.flow.accounting import plan_settlement_journal
from ml_connector.flow.mapping import ChargeMapping
from ml_connector.flow.normalize import normalize_settlement
from ml_connector.flow.reconcile import (
    AccountRoles,
    LineType,
    ReconcileStatus,
    reconcile_settlement,
    roles_from_mapping,
)

ORDER = "111-0000001-0000001"
D = Decimal


def _transactions(shapes: Any) -> list[dict[str, Any]]:
    shipment = shapes.transaction(
        "T-SHIP", "Shipment",
        [("Principal", "25.00"), ("Shipping", "4.99"), ("PrincipalPromotion", "-2.00"),
         ("Tax", "2.24"), ("MarketplaceFacilitatorTax-Principal", "-2.24"),
         ("Commission", "-3.75"), ("FBAPerUnitFulfillmentFee", "-3.22")],
        order_id=ORDER, sku="MUG-01", quantity=2,
    )  # fmt: skip
    refund = shapes.transaction(
        "T-REF", "Refund",
        [("Principal", "-12.50"), ("Tax", "-1.12"),
         ("MarketplaceFacilitatorTax-Principal", "1.12"), ("Commission", "1.50")],
        order_id=ORDER, refund_id="R-1", sku="MUG-01", quantity=1,
    )  # fmt: skip
    return [shipment, refund]


@pytest.fixture
def settlement(shapes: Any) -> Settlement:
    return normalize_settlement(shapes.group("10.02"), _transactions(shapes))


@pytest.fixture
def journal(settlement: Settlement, mapping: ChargeMapping) -> JournalDoc:
    planned = plan_settlement_journal(settlement, mapping)
    assert isinstance(planned, JournalDoc)
    return planned


@pytest.fixture
def roles(mapping: ChargeMapping) -> AccountRoles:
    return roles_from_mapping(mapping)


def _by_type(result: Any) -> dict[str, tuple[Decimal, Decimal | None, Decimal | None]]:
    return {
        line.line_type.value: (line.amazon, line.posted, line.variance) for line in result.lines
    }


def test_worked_example_matches(
    settlement: Settlement, journal: JournalDoc, roles: AccountRoles
) -> None:
    result = reconcile_settlement(
        settlement, journal, roles=roles, posted=True, report_total=D("10.02")
    )
    assert result.status is ReconcileStatus.MATCHED
    assert (result.amazon_total, result.posted_total, result.variance) == (
        D("10.02"), D("10.02"), D("0.00")
    )  # fmt: skip
    assert result.report_variance == D("0.00")
    assert result.notes == ()
    assert _by_type(result) == {
        "proceeds": (D("16.61"), D("16.61"), D("0.00")),
        "fees": (D("-5.47"), D("-5.47"), D("0.00")),
        "tax_withheld": (D("-1.12"), D("-1.12"), D("0.00")),
        "reserves": (D("0"), D("0"), D("0")),
        "other": (D("0"), D("0"), D("0")),
    }


def test_json_gives_decimal_strings(
    settlement: Settlement, journal: JournalDoc, roles: AccountRoles
) -> None:
    data = reconcile_settlement(settlement, journal, roles=roles, posted=True).to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["status"] == "matched"
    assert data["amazon_total"] == "10.02"
    assert data["posted_total"] == "10.02"
    assert data["variance"] == "0.00"
    assert data["report_total"] is None
    fees = next(line for line in data["lines"] if line["line_type"] == "fees")
    assert fees == {"line_type": "fees", "amazon": "-5.47", "posted": "-5.47", "variance": "0.00"}


def _rebook(
    journal: JournalDoc, account: str, dr: Decimal, cr: Decimal, new: tuple[str, str]
) -> JournalDoc:
    """Replace the line on `account` with amounts (dr, cr) = new, as a careless clerk might."""
    lines = []
    for line in journal.lines:
        if str(line.account) == account and (line.entered_dr, line.entered_cr) == (dr, cr):
            line = dataclasses.replace(line, entered_dr=D(new[0]), entered_cr=D(new[1]))
        lines.append(line)
    return dataclasses.replace(journal, lines=tuple(lines))


def test_wrong_journal_shows_variance_by_line_type(
    settlement: Settlement, journal: JournalDoc, roles: AccountRoles
) -> None:
    # Commission keyed as 3.57 instead of 3.75, and cash raised to keep the journal balanced.
    wrong = _rebook(journal, "101.10.61000", D("3.75"), D("0"), ("3.57", "0"))
    wrong = _rebook(wrong, "101.00.10500", D("10.02"), D("0"), ("10.20", "0"))
    assert wrong.total_dr == wrong.total_cr
    result = reconcile_settlement(settlement, wrong, roles=roles, posted=True)
    assert result.status is ReconcileStatus.VARIANCE
    assert result.posted_total == D("10.20")
    assert result.variance == D("0.18")
    variances = {k: v[2] for k, v in _by_type(result).items()}
    assert variances == {
        "proceeds": D("0.00"),
        "fees": D("0.18"),
        "tax_withheld": D("0.00"),
        "reserves": D("0"),
        "other": D("0"),
    }
    assert any("fees: posted -5.29, Amazon -5.47" in note for note in result.notes)
    assert any("differs from Amazon's total 10.02 by 0.18" in note for note in result.notes)


def test_proceeds_missing_from_journal(
    settlement: Settlement, journal: JournalDoc, roles: AccountRoles
) -> None:
    # Proceeds booked to an account nobody mapped: they show up as `other`, not as proceeds.
    unmapped = AccountCombination((("company", "101"), ("cost_center", "00"), ("account", "99999")))
    moved = tuple(
        dataclasses.replace(line, account=unmapped) if str(line.account) == "101.00.12500" else line
        for line in journal.lines
    )
    result = reconcile_settlement(
        settlement, dataclasses.replace(journal, lines=moved), roles=roles, posted=True
    )
    assert result.status is ReconcileStatus.VARIANCE
    assert result.variance == D("0.00")  # the payout is right, the classification is not
    by_type = _by_type(result)
    assert by_type["proceeds"][2] == D("-16.61")
    assert by_type["other"][2] == D("16.61")


def test_not_posted_when_journal_planned_only(
    settlement: Settlement, journal: JournalDoc, roles: AccountRoles
) -> None:
    result = reconcile_settlement(settlement, journal, roles=roles, posted=False)
    assert result.status is ReconcileStatus.NOT_POSTED
    assert result.posted_total is None
    assert result.variance is None
    assert all(line.posted is None for line in result.lines)
    assert result.to_json()["variance"] is None


def test_not_posted_without_journal(settlement: Settlement, roles: AccountRoles) -> None:
    result = reconcile_settlement(settlement, None, roles=roles, posted=True)
    assert result.status is ReconcileStatus.NOT_POSTED
    assert _by_type(result)["proceeds"][0] == D("16.61")


def test_open_group(shapes: Any, roles: AccountRoles) -> None:
    group = shapes.group("10.02", status="Open")
    settlement = normalize_settlement(group, _transactions(shapes))
    result = reconcile_settlement(settlement, None, roles=roles, posted=False)
    assert result.status is ReconcileStatus.OPEN


def test_report_total_disagreeing_is_a_variance(
    settlement: Settlement, journal: JournalDoc, roles: AccountRoles
) -> None:
    result = reconcile_settlement(
        settlement, journal, roles=roles, posted=True, report_total=D("9.99")
    )
    assert result.status is ReconcileStatus.VARIANCE
    assert result.variance == D("0.00")
    assert result.report_variance == D("0.03")
    assert result.to_json()["report_variance"] == "0.03"


def test_amazon_total_not_tied_to_its_transactions(shapes: Any, roles: AccountRoles) -> None:
    settlement = normalize_settlement(shapes.group("10.00"), _transactions(shapes))
    result = reconcile_settlement(settlement, None, roles=roles, posted=False)
    assert result.released_total == D("10.02")
    assert any("released transactions sum to 10.02" in note for note in result.notes)


def test_deferred_money_is_listed_but_not_counted(shapes: Any, roles: AccountRoles) -> None:
    deferred = shapes.transaction(
        "T-DEF", "Shipment", [("Principal", "5.00")], order_id="111-0000002-0000002",
        status="DEFERRED",
    )  # fmt: skip
    settlement = normalize_settlement(shapes.group("10.02"), [*_transactions(shapes), deferred])
    result = reconcile_settlement(settlement, None, roles=roles, posted=False)
    assert result.deferred_total == D("5.00")
    assert _by_type(result)["proceeds"][0] == D("16.61")


def test_journal_for_another_settlement_is_refused(
    settlement: Settlement, journal: JournalDoc, roles: AccountRoles
) -> None:
    other = dataclasses.replace(journal, settlement_id="G2")
    with pytest.raises(ValueError, match="not G1"):
        reconcile_settlement(settlement, other, roles=roles, posted=True)


def test_roles_from_the_example_mapping(roles: AccountRoles) -> None:
    assert str(roles.cash_in_transit) == "101.00.10500"
    assert roles.for_leaf("Principal") is LineType.PROCEEDS
    assert roles.for_leaf("Commission") is LineType.FEES
    assert roles.for_leaf("RefundCommission") is LineType.FEES
    assert roles.for_leaf("MarketplaceFacilitatorTax-Shipping") is LineType.TAX_WITHHELD
    assert roles.for_leaf("CurrentReserveAmount") is LineType.RESERVES
    assert roles.for_leaf("FBAInventoryReimbursement") is LineType.OTHER
    assert roles.for_leaf("SomethingNew") is LineType.OTHER


def test_reserve_lines_reconcile_as_reserves(
    shapes: Any, mapping: ChargeMapping, roles: AccountRoles
) -> None:
    held = shapes.transaction("T-RES", "Reserve", [("CurrentReserveAmount", "-4.00")])
    settlement = normalize_settlement(shapes.group("6.02"), [*_transactions(shapes), held])
    journal = plan_settlement_journal(settlement, mapping)
    assert isinstance(journal, JournalDoc)
    result = reconcile_settlement(settlement, journal, roles=roles, posted=True)
    assert result.status is ReconcileStatus.MATCHED
    assert _by_type(result)["reserves"] == (D("-4.00"), D("-4.00"), D("0.00"))
