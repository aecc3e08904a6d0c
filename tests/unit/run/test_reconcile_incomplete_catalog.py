"""Issue 10, Scope 2: a catalog that misses most SKUs can never reconcile as `matched`.

The simulators generate a seller; the catalog mapping keeps only one SKU, so most orders wait
for review. Before the order-level invariant every settlement said `matched`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.store import AuditAction, DocumentKind, DocumentState, ReviewKind
from ml_connector.store.audit import timeline
from ml_connector_sim.amazon import seller_catalog

runner = CliRunner()


def test_catalog_missing_most_skus_shows_no_settlement_matched(
    sim_seller: Callable[..., Any],
) -> None:
    seller = sim_seller(orders=60)
    skus = sorted({entry.sku for entry in seller_catalog(seller.world)})
    seller.write_mapping(leave_out=skus[1:])  # one SKU mapped, every other one left out
    seller.sync()
    held = {i.subject_amazon_id for i in seller.review(ReviewKind.UNMAPPED_SKU)}
    invoiced = {
        d.amazon_source_id
        for d in seller.documents(DocumentKind.INVOICE)
        if d.state is DocumentState.POSTED
    }
    assert len(held) > len(invoiced), "most orders wait for their SKU"

    result = runner.invoke(app, ["reconcile", "-c", "demo", "--json"])
    rows = json.loads(result.stdout)["settlements"]
    closed = [r for r in rows if r["status"] not in ("open", "not_posted")]
    assert closed, "the generated seller has Closed, posted settlements"
    assert "matched" not in {r["status"] for r in closed}, [r["status"] for r in closed]
    assert result.exit_code == 3, "only held orders differ: incomplete, exit 3"
    for row in closed:
        assert row["status"] == "incomplete", row["notes"]
        proceeds = row["invariants"]["proceeds"]
        assert proceeds["holds"] is False
        differing = {o["order_id"] for o in proceeds["orders"]}
        assert differing <= held, "every differing order is one held for its SKU"
        assert row["held_orders"] == len(differing) > 0
        assert all(o["review_items"] for o in proceeds["orders"])

    # The order's review item names the settlement that paid it, and `audit show ORDER` finds
    # the reconciliation of that settlement.
    row = closed[0]
    order_id = row["invariants"]["proceeds"]["orders"][0]["order_id"]
    item = next(
        i for i in seller.review(ReviewKind.UNMAPPED_SKU) if i.subject_amazon_id == order_id
    )
    assert row["settlement_id"] in item.details["settlements"]
    with seller.rt.sessions() as session:
        events = timeline(session, order_id)
        assert any(
            e.action == AuditAction.RECONCILED
            and e.details["settlement_id"] == row["settlement_id"]
            for e in events
        )

    human = runner.invoke(app, ["reconcile", "-c", "demo"]).stdout
    assert "incomplete" in human
    assert "held for review" in human
    assert "proceeds ✗" in human
