"""`sync`, `reconcile`, `replay`, `review resolve` and `backfill` as an operator runs them: the
in-process simulators, a store made with `init` in a tmp ML_CONNECTOR_HOME, the demo connection."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.store import DocumentKind, DocumentState, ReviewKind

Seller = Any
Factory = Callable[..., Seller]
runner = CliRunner()


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def cli_json(*args: str, code: int = 0) -> dict[str, Any]:
    body = json.loads(cli(*args, "--json", code=code).stdout)
    assert isinstance(body, dict)
    return body


def snapshot(seller: Seller) -> tuple[Any, ...]:
    docs = sorted((d.idempotency_key, d.state.value, repr(d.payload)) for d in seller.documents())
    review = sorted((i.kind.value, i.subject_amazon_id) for i in seller.review())
    return tuple(docs), tuple(review), seller.oracle_numbers()


def test_sync_posts_once_and_reconcile_matches(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    # The seller's catalog leaves one SKU out: its orders wait for review, so exit code 3.
    first = cli_json("sync", "demo", code=3)
    assert first["waiting_for_review"] > 0
    assert first["counts"]["posted"] > 0
    assert first["rejected"] == 0
    assert first["retry"] == 0
    assert first["posted"]["invoice"] >= 20
    assert first["settlements"], "closed settlements are reconciled in the same cycle"
    # Issue 10: a settlement paying an order held for its unmapped SKU is `incomplete` (it was
    # `matched` before the order-level invariant ran); every other one is `matched`.
    assert {row["status"] for row in first["settlements"]} <= {"matched", "incomplete"}
    assert "matched" in {row["status"] for row in first["settlements"]}
    again = cli_json("sync", "demo", code=3)
    assert again["counts"]["posted"] == 0
    assert all(count == 1 for count in seller.oracle_numbers().values())

    # Exit 3: settlements are `incomplete` (orders held for review), none has a variance.
    report = cli_json("reconcile", "-c", "demo", code=3)
    rows = report["settlements"]
    assert len(rows) == len(first["settlements"])
    for row in rows:
        assert row["variance"] in ("0", "0.00", "0.0"), row
        assert row["amazon_total"] == row["posted_total"]
        invariants = row["invariants"]
        assert invariants["journal_total"]["holds"] is True, row
        assert invariants["report_total"]["holds"] is True, row
        orders = invariants["proceeds"]["orders"]
        if row["status"] == "incomplete":
            # Only orders held for the SKU the seller's catalog leaves out, each with its item.
            assert orders, row
            assert row["held_orders"] == len(orders), row
            assert {o["cause"] for o in orders} == {"held for review"}, row
            assert all(
                ref["kind"] == "unmapped_sku" for o in orders for ref in o["review_items"]
            ), row
            assert row["review_items"], row
        else:
            assert row["status"] == "matched", row
            assert orders == [], row
            assert invariants["proceeds"]["holds"] is True, row
            assert invariants["clearing"]["holds"] is True, row
    assert "incomplete" in {row["status"] for row in rows}, "the left-out SKU's orders show"
    one = next(r["settlement_id"] for r in rows if r["status"] == "matched")
    assert [
        r["settlement_id"]
        for r in cli_json("reconcile", "-c", "demo", "--settlement", one)["settlements"]
    ] == [one]
    human = cli("reconcile", "-c", "demo", code=3).stdout
    assert "Reconciliation" in human
    assert "matched" in human


def test_sync_exits_3_while_a_record_waits_and_0_once_amazon_fixes_it(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=25)
    seller.write_mapping()  # every SKU mapped: only the broken record can hold anything
    closed = {
        str(g["FinancialEventGroupId"])
        for g in seller.world.groups
        if str(g.get("ProcessingStatus")).lower() == "closed"
    }
    victim = next(
        t
        for t in seller.world.transactions
        if any(r.get("relatedIdentifierValue") in closed for r in t["relatedIdentifiers"])
    )
    kept = victim["totalAmount"]
    victim["totalAmount"] = None  # Amazon lists one broken record
    held = cli_json("sync", "demo", code=3)
    assert held["waiting_for_review"] >= 1
    assert held["unreadable_records"] >= 1
    victim["totalAmount"] = kept  # fixed at Amazon: the next cycle reads it and posts
    done = cli_json("sync", "demo", code=0)
    assert done["waiting_for_review"] == 0
    assert done["posted"].get("journal", 0) == 1


def test_replay_dry_run_shows_differences_and_changes_nothing(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.sync()
    posted = next(
        d for d in seller.documents(DocumentKind.INVOICE) if d.state is DocumentState.POSTED
    )
    held = seller.review(ReviewKind.UNMAPPED_SKU)[0].subject_amazon_id
    # The finance team moves every SKU to one revenue account and maps the forgotten SKU.
    seller.write_mapping(account="40100")
    before = snapshot(seller)

    dry = cli_json("replay", "-c", "demo", posted.amazon_source_id, held)
    assert dry["dry_run"] is True
    assert dry["posted"] == 0
    items = {item["amazon_id"]: item for item in dry["items"]}
    assert items[posted.amazon_source_id]["action"] == "needs_correction"
    assert any("40100" in change for change in items[posted.amazon_source_id]["changes"])
    assert items[held]["action"] == "plan"
    human = cli("replay", "-c", "demo", posted.amazon_source_id).stdout
    assert "dry run" in human
    assert "needs_correction" in human
    assert snapshot(seller) == before, "a dry run changes nothing"

    applied = cli_json("replay", "-c", "demo", posted.amazon_source_id, held, "--apply")
    assert applied["dry_run"] is False
    assert applied["posted"] == 1  # the held order; the posted invoice is never re-sent
    after = {d.amazon_source_id: d for d in seller.documents(DocumentKind.INVOICE)}
    assert after[held].state is DocumentState.POSTED
    assert after[posted.amazon_source_id].payload == posted.payload
    assert after[posted.amazon_source_id].oracle_id == posted.oracle_id
    corrections = seller.review(ReviewKind.CHANGED_AFTER_POSTING)
    assert [i.subject_amazon_id for i in corrections] == [posted.amazon_source_id]
    assert all(count == 1 for count in seller.oracle_numbers().values())


def test_replay_needs_something_to_replay(sim_seller: Factory) -> None:
    sim_seller(orders=40)
    result = cli("replay", "-c", "demo", code=2)
    assert "order id" in result.stderr


def test_review_resolve_all_posts_held_orders_after_the_mapping_is_fixed(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    seller.sync()
    held = {i.subject_amazon_id for i in seller.review(ReviewKind.UNMAPPED_SKU)}
    assert held
    seller.write_mapping()  # the left-out SKU is now mapped
    body = cli_json("review", "resolve", "-c", "demo", "--all")
    assert body["posted"] >= len(held)
    assert {i["amazon_id"] for i in body["items"] if i["action"] == "plan"} >= held
    assert not any(line.split()[1].rstrip(":") in held for line in body["still_open"])
    assert not seller.review(ReviewKind.UNMAPPED_SKU)
    invoices = {d.amazon_source_id: d for d in seller.documents(DocumentKind.INVOICE)}
    assert all(invoices[order].state is DocumentState.POSTED for order in held)
    assert all(count == 1 for count in seller.oracle_numbers().values())


def test_backfill_beyond_two_years_reports_the_history_clamp(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    # The clamp itself waits for review (and a SKU is left out): exit code 3.
    body = cli_json("backfill", "demo", "--since", "2020-01-01", code=3)
    assert body["clamped"], body
    assert all("keeps order history" in line for line in body["clamped"])
    assert body["counts"]["posted"] > 0
    outside = seller.review(ReviewKind.OUTSIDE_RETENTION)
    assert outside
    assert all("2020-01-01" in item.reason for item in outside)
    human = cli("backfill", "demo", "--since", "2020-01-01", code=3).stdout
    assert "history limit" in human


def test_the_reconciliation_table_counts_orders_not_their_lines() -> None:
    from ml_connector.run.commands.sync import _order_lines

    orders = [
        {"order_id": f"O{n // 2}", "cause": "held for review", "amazon": "1", "books": "0"}
        for n in range(14)
    ]  # 7 orders, each differing on two lines (a sale and its refund)
    lines = _order_lines({"invariants": {"proceeds": {"orders": orders}}}, limit=5)
    assert lines[-1] == "  … and 4 more orders (--json lists them all)"
