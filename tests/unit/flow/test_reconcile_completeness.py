"""Shipped orders vs invoices: what month-end close needs to chase."""

from __future__ import annotations

from ml_connector.flow.reconcile import completeness


def test_every_shipped_order_invoiced() -> None:
    result = completeness(["A", "B"], ["B", "A"], [])
    assert result.complete
    assert (result.shipped, result.invoiced) == (2, 2)
    assert (result.missing, result.held, result.extra) == ((), (), ())


def test_missing_held_and_extra_are_told_apart() -> None:
    result = completeness(
        shipped_order_ids=["A", "B", "C", "D"],
        invoiced_order_ids=["A", "X"],
        held_order_ids=["C"],
    )
    assert result.missing == ("B", "D")
    assert result.held == ("C",)
    assert result.extra == ("X",)
    assert not result.complete


def test_held_but_already_invoiced_is_not_held() -> None:
    # A stale review item must not hide the fact that the invoice exists.
    result = completeness(["A"], ["A"], ["A"])
    assert result.held == ()
    assert result.complete


def test_only_held_orders_left_counts_as_complete() -> None:
    result = completeness(["A", "B"], ["A"], ["B"])
    assert result.complete
    assert result.to_json() == {
        "shipped": 2,
        "invoiced": 1,
        "complete": True,
        "missing": [],
        "held": ["B"],
        "extra": [],
    }


def test_duplicates_in_inputs_count_once() -> None:
    result = completeness(["A", "A", "B"], ["A", "A"], [])
    assert (result.shipped, result.invoiced, result.missing) == (2, 1, ("B",))
