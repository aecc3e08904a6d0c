"""One mutation anywhere in a shipped order: it is read with the clean invoice's numbers, or held
by accounting, or refused with a `NormalizeError` naming a field: never anything else.

The in-process counterpart, for orders alone, of the end-to-end mutation test: fast enough to
try every place of the record with every mutation that applies there (over 400 cases in under a
second), so nothing is left to sampling.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.domain.documents import Held, InvoiceDoc, LineKind
from ml_connector.flow.accounting.invoices import plan_invoice
from ml_connector.flow.mapping import Catalog, ChargeMapping
from ml_connector.flow.normalize import NormalizeError, normalize_order

Path_ = tuple[str | int, ...]
ODD = ("\u0301", "\u200f", "\u202e", "\u200b", "\U0001f600")  # combining, RTL, override, ZWSP
OPS = ("drop", "null", "case", "unknown_enum", "wrong_type", "extra_field", "empty_list", "odd")
# Who remits an item's tax is only ever *stated* by a MARKETPLACE_FACILITATOR collection; with
# the statement gone the item reads as seller-collected (docs/amazon-vocabulary.md): the invoice
# keeps its amounts but books that tax on the other tax account.
TAX_STATEMENT = ("tax", "taxCollections")


def _order(shapes: Any) -> dict[str, Any]:
    first = shapes.item("MUG-01", 2, "20.00", shipping="4.00", tax="1.60", promotion="-1.00")
    second = shapes.item("KETTLE-01", 1, "35.00", tax="2.80", item_id="10000000000002")
    order: dict[str, Any] = shapes.order("111-0000000-0000042", [first, second])
    order["proceeds"]["breakdowns"] = [{"type": "ITEM", "subtotal": shapes.money("75.00")}]
    order["orderItems"][0]["promotion"] = {"breakdowns": [{"promotionId": "PROMO-1"}]}
    return order


def _places(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if path:
        yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _places(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _places(child, (*path, index))


def _applies(op: str, path: Path_, value: Any) -> bool:
    if path == ("orderId",):
        return op in ("drop", "null")  # any other id is simply another order
    if op in ("drop", "null"):
        return isinstance(path[-1], str)
    if op in ("case", "unknown_enum", "odd"):
        return isinstance(value, str) and (op != "case" or value.lower() != value.upper())
    if op == "wrong_type":
        return value is not None
    if op == "extra_field":
        return isinstance(value, dict)
    return op == "empty_list" and isinstance(value, list) and bool(value)


def _mutated(order: dict[str, Any], path: Path_, op: str) -> dict[str, Any]:
    changed = copy.deepcopy(order)
    parent: Any = changed
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    value = parent[last]
    if op == "drop":
        del parent[last]
    elif op == "null":
        parent[last] = None
    elif op == "case":
        parent[last] = value.swapcase()
    elif op == "unknown_enum":
        parent[last] = "ZZ_UNKNOWN_VALUE"
    elif op == "odd":
        parent[last] = value + ODD[len(value) % len(ODD)]
    elif op == "wrong_type":
        if isinstance(value, dict):
            parent[last] = [value]
        elif isinstance(value, list):
            parent[last] = {"items": value}
        elif isinstance(value, str):
            parent[last] = 7
        else:
            parent[last] = str(value) + "x"
    elif op == "extra_field":
        value["unexpectedField"] = {"nested": [1, "two"]}
    elif op == "empty_list":
        parent[last] = []
    return changed


def _numbers(invoice: InvoiceDoc, *, who_remits: bool = True) -> Any:
    """What the invoice says in figures; `who_remits=False` leaves out which tax line (and
    account) the tax is on, keeping its amount."""
    taxes = {LineKind.TAX, LineKind.FACILITATOR_TAX}
    lines = sorted(
        (
            line.kind.value if who_remits or line.kind not in taxes else "tax",
            line.sku,
            line.amount,
            str(line.account) if who_remits or line.kind not in taxes else "",
        )
        for line in invoice.lines
    )
    return (invoice.currency, invoice.transaction_date, invoice.total, lines)


def _read(order: dict[str, Any]) -> Any:
    try:
        return normalize_order(order, path="order")
    except NormalizeError as exc:
        return exc


@pytest.fixture(scope="module")
def clean(shapes: Any, catalog: Catalog, mapping: ChargeMapping) -> InvoiceDoc:
    invoice = plan_invoice(normalize_order(_order(shapes)), catalog, mapping)
    assert isinstance(invoice, InvoiceDoc), invoice
    return invoice


def _cases(order: dict[str, Any]) -> list[tuple[Path_, str]]:
    return [(path, op) for path, value in _places(order) for op in OPS if _applies(op, path, value)]


def test_every_operation_is_tried_in_many_places(shapes: Any) -> None:
    cases = _cases(_order(shapes))
    assert {op for _, op in cases} == set(OPS)
    assert len(cases) > 400


def test_one_mutation_anywhere_reads_the_same_is_held_or_names_its_field(
    shapes: Any, catalog: Catalog, mapping: ChargeMapping, clean: InvoiceDoc
) -> None:
    order = _order(shapes)
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    for path, op in _cases(order):
        where = f"{op} at {'.'.join(map(str, path))}"
        normalized = _read(_mutated(order, path, op))
        if isinstance(normalized, NormalizeError):
            outcomes["refused"] += 1
            if not (normalized.path.startswith("order") and normalized.message):
                problems.append(f"{where}: error without a field or reason: {normalized}")
            continue
        planned = plan_invoice(normalized, catalog, mapping)
        if isinstance(planned, Held):
            outcomes["held"] += 1
            continue
        statement_lost = any(step in TAX_STATEMENT for step in path) and op in (
            "drop", "null", "empty_list",
        )  # fmt: skip
        outcomes["read"] += 1
        if _numbers(planned, who_remits=not statement_lost) != _numbers(
            clean, who_remits=not statement_lost
        ):
            problems.append(f"{where}: invoiced with other numbers")
    assert not problems, "\n".join(problems)
    assert min(outcomes.values()) >= 5, outcomes  # each outcome is exercised


def test_losing_the_facilitator_statement_moves_only_the_tax_account(
    shapes: Any, catalog: Catalog, mapping: ChargeMapping, clean: InvoiceDoc
) -> None:
    changed = _mutated(_order(shapes), ("orderItems", 0, "tax"), "drop")
    planned = plan_invoice(normalize_order(changed), catalog, mapping)
    assert isinstance(planned, InvoiceDoc)
    moved = {(line.kind, line.sku, line.amount) for line in planned.lines} ^ {
        (line.kind, line.sku, line.amount) for line in clean.lines
    }
    assert moved == {
        (LineKind.FACILITATOR_TAX, "MUG-01", Decimal("1.60")),  # the clean invoice's line
        (LineKind.TAX, "MUG-01", Decimal("1.60")),  # seller-collected instead
    }
