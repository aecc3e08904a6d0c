"""The reconciliation table shows the COGS check only for a connection that books COGS."""

from __future__ import annotations

from typing import Any

import pytest

from ml_connector.run.commands.sync import print_reconciliation


def _row(invariants: dict[str, Any], status: str, notes: list[str]) -> dict[str, Any]:
    return {
        "settlement_id": "S-1",
        "currency": "USD",
        "status": status,
        "amazon_total": "20.00",
        "report_total": "20.00",
        "posted_total": "20.00",
        "variance": "0.00",
        "notes": notes,
        "invariants": invariants,
        "held_orders": 0,
    }


FOUR = {name: {"holds": True} for name in ("journal_total", "report_total", "proceeds", "clearing")}
NOTE = "COGS WIDGET-1: COGS booked 7.80, expected 8.40 (3 shipped − 1 returned at 4.20)"


def test_a_cogs_variance_is_marked_and_names_the_sku(capsys: pytest.CaptureFixture[str]) -> None:
    print_reconciliation([_row({**FOUR, "cogs": {"holds": False}}, "variance", [NOTE])])
    shown = capsys.readouterr().out
    assert "journal ✓ report ✓ proceeds ✓ clearing ✓ COGS ✗" in shown
    assert NOTE in shown


def test_without_cogs_the_table_has_no_cogs_mark(capsys: pytest.CaptureFixture[str]) -> None:
    print_reconciliation([_row(FOUR, "matched", [])])
    shown = capsys.readouterr().out
    assert "journal ✓ report ✓ proceeds ✓ clearing ✓" in shown
    assert "COGS" not in shown
