"""`ml-connector demo`: the whole product on the embedded default (simulators as subprocesses)."""

from __future__ import annotations

import json
from decimal import Decimal

from typer.testing import CliRunner

from ml_connector.run.cli import app

runner = CliRunner()


def test_demo_json_summary_and_human_reconciliation() -> None:
    result = runner.invoke(app, ["demo", "--json", "--orders", "80", "--days", "30"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    summary = json.loads(result.stdout)  # exactly one JSON object on stdout
    for key in (
        "orders",
        "invoices_posted",
        "credit_memos_posted",
        "journals_posted",
        "review_items",
        "rejected",
        "duplicates_in_oracle",
        "settlements",
    ):
        assert key in summary, key
    assert summary["orders"] == 80
    assert summary["invoices_posted"] > 0
    assert summary["journals_posted"] > 0
    assert summary["rejected"] == 0
    assert summary["duplicates_in_oracle"] == 0
    assert summary["review_items"] >= 1  # one SKU is left out of the mapping on purpose
    assert any(item["kind"] == "unmapped_sku" for item in summary["review"])
    settlements = summary["settlements"]
    assert len(settlements) >= 2
    assert summary["journals_posted"] == len(settlements)
    for row in settlements:
        assert {"settlement_id", "amazon_total", "posted_total", "variance"} <= set(row)
        for field in ("amazon_total", "posted_total", "variance"):
            assert isinstance(row[field], str), row
            Decimal(row[field])
        assert row["variance"] in ("0", "0.00"), row
        assert Decimal(row["amazon_total"]) == Decimal(row["posted_total"])

    human = runner.invoke(app, ["demo", "--orders", "40", "--days", "30"])
    assert human.exit_code == 0, human.stderr
    assert "Reconciliation" in human.stdout
    assert "matched" in human.stdout
    assert "left out on purpose" in human.stdout
