"""Cost of goods sold for a settlement: units shipped and returned, costed at the catalog's price.

Which Amazon transactions move goods (docs/accounting-options.md, "COGS"): a ``Shipment``
transaction's items are units shipped and a ``Refund`` transaction's items are units returned,
each item counted by its ``ProductContext.quantityShipped`` (finances_2024-06-19.json; v0 has the
same ``QuantityShipped`` on the ShipmentItem of both ShipmentEventList and RefundEventList). A-to-z
guarantee claims and chargebacks give money back without the goods coming back, so their cost
stays in COGS. Amazon's Finances data does not say whether a refunded unit really came back
(a "returnless refund" looks the same): every refunded unit is treated as returned, and the
connection's ``returned_goods`` says where its cost goes.

Each movement of a SKU is costed once per settlement: ``quantize(units × unit_cost)`` in the
settlement's currency. The lines a movement gives always balance among themselves (Dr COGS /
Cr inventory for units shipped; Dr inventory or the write-off account / Cr COGS for units
returned), so adding them never changes what the journal says Amazon paid. The line
descriptions carry the SKU, the units and the unit cost (`describe`), so a reconciliation can
read back what was booked per SKU (`read_description`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ml_connector.domain.accounts import AccountCombination
from ml_connector.domain.documents import HoldCode, JournalLine
from ml_connector.domain.money import ZERO, quantize
from ml_connector.domain.settlements import Settlement, SettlementTransaction
from ml_connector.flow.accounting.policy import AccountingPolicy, ReturnedGoods
from ml_connector.flow.mapping import Catalog, ChargeMapping

#: Transaction types (folded: lower case, letters and digits only) whose items are units shipped.
SHIPPED_TYPES = frozenset({"shipment"})
#: Transaction types whose items are units returned (the buyer's refund for goods sent back).
RETURNED_TYPES = frozenset({"refund"})
_SHOWN = 5


class Movement(StrEnum):
    SHIPPED = "shipped"
    RETURNED = "returned"


class Role(StrEnum):
    """Which side of a COGS entry a journal line is (the first words of its description)."""

    COGS = "COGS"
    INVENTORY = "Inventory"
    WRITE_OFF = "Returns write-off"


@dataclass(frozen=True, slots=True)
class UnitsMoved:
    """Units of one SKU shipped or returned in one marketplace in the settlement."""

    sku: str
    marketplace_id: str | None
    movement: Movement
    units: int
    transactions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CogsProblem:
    """Why a settlement's COGS cannot be booked: its journal waits with this reason."""

    code: HoldCode
    reason: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CostedUnits:
    """A movement costed: ``amount = quantize(units × unit_cost)``, in the settlement currency."""

    moved: UnitsMoved
    unit_cost: Decimal
    amount: Decimal
    cogs_account: str
    other_account: str  # inventory (shipped, restocked) or the write-off account
    cost_center: str | None  # the SKU's revenue cost center; None: the marketplace's


@dataclass(frozen=True, slots=True)
class BookedLine:
    """What a COGS journal line says it is (read back from its description)."""

    role: Role
    sku: str
    units: int
    movement: Movement
    unit_cost: Decimal


def folded(transaction_type: str) -> str:
    """`Refund`, `REFUND`, `re-fund` → `refund` (Amazon's type strings are not enumerated)."""
    return "".join(ch for ch in transaction_type.casefold() if ch.isalnum())


def movement_of(txn: SettlementTransaction) -> Movement | None:
    kind = folded(txn.transaction_type)
    if kind in SHIPPED_TYPES:
        return Movement.SHIPPED
    if kind in RETURNED_TYPES:
        return Movement.RETURNED
    return None


def _listed(parts: Sequence[str]) -> str:
    more = len(parts) - _SHOWN
    return "; ".join(parts[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")


def units_moved(
    settlement: Settlement,
    market_of: Callable[[SettlementTransaction], str | None] | None = None,
) -> list[UnitsMoved] | CogsProblem:
    """Units shipped and returned per (SKU, marketplace), from the settlement's released money.

    A Shipment or Refund that lists no items, an item with no SKU, or an item whose quantity
    Amazon does not give (absent or null) makes the settlement's COGS unknown: the problem names
    every such transaction, and nothing is guessed.
    """
    place = market_of or (lambda txn: txn.marketplace_id)
    found: dict[tuple[str, str | None, Movement], tuple[int, list[str]]] = {}
    missing: list[str] = []
    unknown_in: list[str] = []
    for txn in settlement.released:
        movement = movement_of(txn)
        if movement is None:
            continue
        what = f"transaction {txn.transaction_id} ({txn.transaction_type})"
        before = len(missing)
        if not txn.items:
            missing.append(f"{what} lists no items")
        for item in txn.items:
            if not item.sku:
                missing.append(f"{what} has an item with no SKU (contexts[].sku)")
                continue
            if item.quantity is None:
                missing.append(f"{what} gives no quantity for SKU {item.sku} (quantityShipped)")
                continue
            key = (str(item.sku), place(txn), movement)
            units, ids = found.get(key, (0, []))
            if txn.transaction_id not in ids:
                ids.append(txn.transaction_id)
            found[key] = (units + item.quantity, ids)
        if len(missing) > before:
            unknown_in.append(txn.transaction_id)
    if missing:
        reason = (
            f"COGS of settlement {settlement.settlement_id} cannot be computed, Amazon does not "
            f"say how many units moved: {_listed(missing)}"
        )
        return CogsProblem(HoldCode.AMBIGUOUS, reason, tuple(unknown_in))
    return [
        UnitsMoved(sku, market, movement, units, tuple(ids))
        for (sku, market, movement), (units, ids) in sorted(
            found.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), list(Movement).index(kv[0][2]))
        )
        if units  # quantityShipped 0: money on an item, no unit moved, no cost
    ]


def cost_settlement(
    settlement: Settlement,
    catalog: Catalog,
    mapping: ChargeMapping,
    policy: AccountingPolicy,
    *,
    market_of: Callable[[SettlementTransaction], str | None] | None = None,
    cost_currency: str | None = None,
) -> list[CostedUnits] | CogsProblem:
    """Every movement of the settlement costed, or the one problem that stops it.

    ``cost_currency`` is the currency the catalog's unit costs are in (the ledger's, when the
    caller knows it); a settlement in another currency cannot be costed without a rate, so it
    is a problem, never a conversion.
    """
    moved = units_moved(settlement, market_of)
    if isinstance(moved, CogsProblem):
        return moved
    if not moved:
        return []
    if cost_currency is not None and cost_currency != settlement.currency:
        reason = (
            f"COGS of settlement {settlement.settlement_id}: the catalog's unit_cost is in "
            f"{cost_currency} and the settlement is in {settlement.currency}; costs are never "
            "converted, so the journal waits (book this currency's COGS by hand, or turn "
            "include_cogs off for the connection)"
        )
        return CogsProblem(HoldCode.AMBIGUOUS, reason, (settlement.group_id,))
    accounts = mapping.file.accounts
    unmapped = sorted({m.sku for m in moved if m.sku not in catalog})
    if unmapped:
        reason = (
            f"COGS: SKU(s) not in the catalog mapping: {', '.join(unmapped)} (add their rows "
            "with unit_cost)"
        )
        return CogsProblem(HoldCode.UNMAPPED_SKU, reason, tuple(unmapped))
    no_cost = sorted({m.sku for m in moved if catalog[m.sku].unit_cost is None})
    if no_cost:
        reason = (
            f"COGS: SKU(s) with no unit_cost in the catalog mapping: {', '.join(no_cost)} "
            "(fill the unit_cost column of their rows)"
        )
        return CogsProblem(HoldCode.UNMAPPED_SKU, reason)
    lacking: dict[str, list[str]] = {}
    costed: list[CostedUnits] = []
    write_off = policy.returned_goods is ReturnedGoods.WRITE_OFF
    for m in moved:
        entry = catalog[m.sku]
        cogs = entry.cogs_account or accounts.cogs
        inventory = entry.inventory_account or accounts.inventory
        writes_off = m.movement is Movement.RETURNED and write_off
        other = accounts.returns_write_off if writes_off else inventory
        missing = lacking.setdefault(m.sku, [])
        needs = [("cogs", cogs, "catalog column cogs_account, or [accounts] cogs")]
        if writes_off:
            needs.append(("returns_write_off", other, "[accounts] returns_write_off"))
        else:
            needs.append(
                (
                    "inventory",
                    inventory,
                    "catalog column inventory_account, or [accounts] inventory",
                )
            )
        for needed, value, where in needs:
            text = f"{needed} ({where})"
            if value is None and text not in missing:
                missing.append(text)
        if cogs is None or other is None:
            continue
        assert entry.unit_cost is not None  # SKUs without one were refused above
        amount = quantize(entry.unit_cost * m.units, settlement.currency)
        costed.append(CostedUnits(m, entry.unit_cost, amount, cogs, other, entry.cost_center))
    parts = [f"SKU {sku} needs {' and '.join(what)}" for sku, what in lacking.items() if what]
    if parts:
        return CogsProblem(HoldCode.UNMAPPED_SKU, f"COGS: {_listed(parts)}")
    return costed


def describe(role: Role, sku: str, units: int, movement: Movement, unit_cost: Decimal) -> str:
    """A COGS line's description: ``COGS MUG-01: 3 shipped at 4.20``."""
    return f"{role.value} {sku}: {units} {movement.value} at {unit_cost}"


_DESCRIPTION = re.compile(
    r"^(?P<role>COGS|Inventory|Returns write-off) (?P<sku>.+): (?P<units>\d+) "
    r"(?P<movement>shipped|returned) at (?P<cost>\d+(?:\.\d+)?)$"
)


def read_description(text: str) -> BookedLine | None:
    """What `describe` wrote, or None for a line that is not a COGS line."""
    match = _DESCRIPTION.match(text)
    if match is None:
        return None
    return BookedLine(
        role=Role(match["role"]),
        sku=match["sku"],
        units=int(match["units"]),
        movement=Movement(match["movement"]),
        unit_cost=Decimal(match["cost"]),
    )


def _combination(
    mapping: ChargeMapping, natural: str, market: str | None, cost_center: str | None
) -> AccountCombination:
    center = None if mapping.chart.is_balance_sheet(natural) else cost_center
    return mapping.combination(natural, market, center)


def cogs_lines(
    costed: Sequence[CostedUnits],
    mapping: ChargeMapping,
    policy: AccountingPolicy,
    reference: str,
) -> list[JournalLine]:
    """Two lines per costed movement that balance each other (none for a zero cost).

    Shipped: Dr COGS, Cr inventory. Returned: Dr inventory (restock) or the write-off account
    (write_off), Cr COGS. COGS and the write-off take the SKU's revenue cost center; a
    balance-sheet account takes the balance-sheet cost center.
    """
    out: list[JournalLine] = []
    for c in costed:
        if c.amount == ZERO:
            continue
        m = c.moved

        cogs = _combination(mapping, c.cogs_account, m.marketplace_id, c.cost_center)
        other = _combination(mapping, c.other_account, m.marketplace_id, c.cost_center)
        if m.movement is Movement.SHIPPED:
            other_role = Role.INVENTORY
        elif policy.returned_goods is ReturnedGoods.WRITE_OFF:
            other_role = Role.WRITE_OFF
        else:
            other_role = Role.INVENTORY
        cogs_text = describe(Role.COGS, m.sku, m.units, m.movement, c.unit_cost)
        other_text = describe(other_role, m.sku, m.units, m.movement, c.unit_cost)
        if m.movement is Movement.SHIPPED:
            pair = ((cogs, c.amount, ZERO, cogs_text), (other, ZERO, c.amount, other_text))
        else:
            pair = ((other, c.amount, ZERO, other_text), (cogs, ZERO, c.amount, cogs_text))
        for combination, dr, cr, text in pair:
            out.append(
                JournalLine(
                    account=combination,
                    entered_dr=dr,
                    entered_cr=cr,
                    description=text,
                    reference=reference,
                )
            )
    return out
