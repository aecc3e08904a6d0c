"""The COGS invariant of a settlement (pure), when the connection books COGS.

Per SKU, the COGS the posted journal books must be ``(units shipped − units returned) × unit
cost``, with the units Amazon's transactions give (``flow/accounting/cogs.py`` says which), and
the inventory and write-off lines must net to the same amount (the cost lines balance). Each
movement is costed as the journal costs it: ``quantize(units × unit cost)`` once per SKU and
movement.

The unit cost is the one the journal's lines state for the SKU (the catalog's cost on the day
the journal was planned), so a cost changed in the catalog since then is shown, not counted as a
variance; a SKU the journal has no cost line for is costed at the catalog's cost. Sign
convention: COGS is a debit (positive), inventory and write-off are what they take off COGS
(inventory credits minus write-off debits), so a correct SKU has ``cogs == offset``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ml_connector.domain.documents import JournalDoc, JournalLine
from ml_connector.domain.money import ZERO, quantize, total
from ml_connector.domain.settlements import Settlement
from ml_connector.flow.accounting.cogs import (
    BookedLine,
    CogsProblem,
    Movement,
    Role,
    read_description,
    units_moved,
)
from ml_connector.flow.mapping import Catalog

__all__ = ["CogsCheck", "SkuCogs", "check_cogs", "is_cost_line"]

NOTE = "COGS"
"""The first word of every reconciliation note this check writes."""


def is_cost_line(line: JournalLine) -> bool:
    """A COGS line (cost of goods, not Amazon money): left out of the line-type comparison."""
    return read_description(line.description) is not None


@dataclass(frozen=True, slots=True)
class SkuCogs:
    """One SKU: what Amazon's units cost and what the journal booked for them."""

    sku: str
    shipped: int
    returned: int
    unit_cost: Decimal | None
    catalog_unit_cost: Decimal | None
    expected: Decimal | None  # None: no unit cost to compute it with
    booked: Decimal  # COGS debits − credits
    offset: Decimal  # inventory credits − debits, less write-off debits − credits
    booked_shipped: int
    booked_returned: int

    @property
    def cause(self) -> str | None:
        """Why this SKU does not hold, in words; None when it does."""
        causes: list[str] = []
        if (self.booked_shipped, self.booked_returned) != (self.shipped, self.returned) and (
            self.booked_shipped or self.booked_returned
        ):
            causes.append(
                f"the journal books {self.booked_shipped} shipped and {self.booked_returned} "
                f"returned, Amazon's transactions give {self.shipped} and {self.returned}"
            )
        if self.expected is None:
            causes.append("no unit_cost in the catalog, so its COGS cannot be checked")
        elif self.booked != self.expected:
            cost = f"{self.shipped} shipped − {self.returned} returned at {self.unit_cost}"
            causes.append(f"COGS booked {self.booked}, expected {self.expected} ({cost})")
        if self.offset != self.booked:
            causes.append(
                f"inventory and write-off lines take {self.offset} off, COGS is {self.booked} "
                "(the cost lines do not balance)"
            )
        return "; ".join(causes) or None

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "shipped": self.shipped,
            "returned": self.returned,
            "unit_cost": None if self.unit_cost is None else str(self.unit_cost),
            "catalog_unit_cost": None
            if self.catalog_unit_cost is None
            else str(self.catalog_unit_cost),
            "expected": None if self.expected is None else str(self.expected),
            "booked": str(self.booked),
            "inventory_and_write_off": str(self.offset),
            "cause": self.cause,
        }


@dataclass(frozen=True, slots=True)
class CogsCheck:
    """The COGS invariant: every SKU holds, or the settlement's units cannot be told."""

    skus: tuple[SkuCogs, ...] = ()
    problem: str | None = None  # the units cannot be told (the journal waits for the same)
    posted: bool = True

    @property
    def differing(self) -> tuple[SkuCogs, ...]:
        return tuple(s for s in self.skus if s.cause is not None)

    @property
    def holds(self) -> bool | None:
        if not self.posted:
            return None
        return self.problem is None and not self.differing

    @property
    def expected(self) -> Decimal:
        return total(s.expected or ZERO for s in self.skus)

    @property
    def booked(self) -> Decimal:
        return total(s.booked for s in self.skus)

    def causes(self) -> list[str]:
        """The reconciliation notes: one per differing SKU (``COGS <sku>: …``)."""
        if not self.posted:
            return []
        if self.problem is not None:
            return [f"{NOTE}: {self.problem}"]
        return [f"{NOTE} {s.sku}: {s.cause}" for s in self.differing]

    def to_json(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "expected": str(self.expected),
            "booked": str(self.booked),
            "cause": self.problem
            if self.problem is not None
            else (None if self.posted else "the journal is not posted"),
            "skus": [s.to_json() for s in self.skus],
        }


def _booked(journal: JournalDoc | None) -> dict[str, list[tuple[BookedLine, JournalLine]]]:
    found: dict[str, list[tuple[BookedLine, JournalLine]]] = {}
    for line in journal.lines if journal is not None else ():
        booked = read_description(line.description)
        if booked is not None:
            found.setdefault(booked.sku, []).append((booked, line))
    return found


def _units(lines: Iterable[tuple[BookedLine, JournalLine]], movement: Movement) -> int:
    return sum(b.units for b, _ in lines if b.role is Role.COGS and b.movement is movement)


def check_cogs(
    settlement: Settlement, journal: JournalDoc | None, catalog: Catalog | None
) -> CogsCheck:
    """The settlement's COGS against the posted journal (``None``: not posted, not checked)."""
    if journal is None:
        return CogsCheck(posted=False)
    moved = units_moved(settlement)
    if isinstance(moved, CogsProblem):
        return CogsCheck(problem=moved.reason)
    units: dict[str, dict[Movement, int]] = {}
    for m in moved:
        per = units.setdefault(m.sku, dict.fromkeys(Movement, 0))
        per[m.movement] += m.units
    booked = _booked(journal)
    skus: list[SkuCogs] = []
    for sku in sorted({*units, *booked}):
        lines = booked.get(sku, [])
        shipped = units.get(sku, {}).get(Movement.SHIPPED, 0)
        returned = units.get(sku, {}).get(Movement.RETURNED, 0)
        entry = catalog.get(sku) if catalog is not None else None
        catalog_cost = entry.unit_cost if entry is not None else None
        unit_cost = next((b.unit_cost for b, _ in lines), catalog_cost)
        expected = None
        if unit_cost is not None:
            expected = quantize(unit_cost * shipped, settlement.currency) - quantize(
                unit_cost * returned, settlement.currency
            )
        cogs = total(ln.entered_dr - ln.entered_cr for b, ln in lines if b.role is Role.COGS)
        inventory = total(
            ln.entered_cr - ln.entered_dr for b, ln in lines if b.role is Role.INVENTORY
        )
        write_off = total(
            ln.entered_dr - ln.entered_cr for b, ln in lines if b.role is Role.WRITE_OFF
        )
        skus.append(
            SkuCogs(
                sku=sku,
                shipped=shipped,
                returned=returned,
                unit_cost=unit_cost,
                catalog_unit_cost=catalog_cost,
                expected=expected,
                booked=quantize(cogs, settlement.currency),
                offset=quantize(inventory - write_off, settlement.currency),
                booked_shipped=_units(lines, Movement.SHIPPED),
                booked_returned=_units(lines, Movement.RETURNED),
            )
        )
    return CogsCheck(skus=tuple(skus))
