"""What a finances cycle reads (simulators on loopback): a backfill reads every settlement that
overlaps its window, groups and settlement reports are listed on the settlements cadence, and
the Open groups are re-read by their ids in between."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from ml_connector.flow.extract.pull import pull_finances
from ml_connector.flow.extract.windows import listing_due
from ml_connector.run.cli import app
from ml_connector.store import RawKind, list_raw_records
from ml_connector_sim.amazon.context import SimContext

Seller = Any
Factory = Callable[..., Seller]
SIX_HOURS = timedelta(minutes=360)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _group_of(transaction: dict[str, Any]) -> str | None:
    for related in transaction.get("relatedIdentifiers") or ():
        if related.get("relatedIdentifierName") == "FINANCIAL_EVENT_GROUP_ID":
            return str(related.get("relatedIdentifierValue"))
    return None


def _read(seller: Seller) -> dict[str, set[str]]:
    """Group id → the ids of its transactions the store holds."""
    out: dict[str, set[str]] = {}
    with seller.rt.sessions() as session:
        for row in list_raw_records(session, seller.connection_id, RawKind.TRANSACTION):
            out.setdefault(row.parent_amazon_id or "", set()).add(row.amazon_id)
    return out


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Operations the Amazon simulator authorized (each one a call it served)."""
    calls: Counter[str] = Counter()
    original = SimContext.authorize

    def counting(self: SimContext, request: Any, operation: str) -> Any:
        calls[operation] += 1
        return original(self, request, operation)

    monkeypatch.setattr(SimContext, "authorize", counting)
    return calls


def test_backfill_since_d_reads_the_settlement_group_open_at_d(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    groups = seller.world.groups
    closed = [g for g in groups if g["ProcessingStatus"] == "Closed"]
    posted: dict[str, list[datetime]] = {}
    for t in seller.world.transactions:
        posted.setdefault(_group_of(t) or "", []).append(_when(t["postedDate"]))
    # The Closed settlement with the most postings; D falls just after its first one, so it
    # started before D and ended after it.
    straddling = max(closed, key=lambda g: len(posted.get(g["FinancialEventGroupId"], [])))
    gid = straddling["FinancialEventGroupId"]
    since = min(posted[gid]) + timedelta(seconds=1)
    assert _when(straddling["FinancialEventGroupStart"]) < since
    assert _when(straddling["FinancialEventGroupEnd"]) > since
    before_d = {
        t["transactionId"]
        for t in seller.world.transactions
        if _group_of(t) == gid and _when(t["postedDate"]) < since
    }
    assert before_d
    ended_before = {
        g["FinancialEventGroupId"] for g in closed if _when(g["FinancialEventGroupEnd"]) < since
    }
    assert ended_before

    result = CliRunner().invoke(
        app, ["backfill", "demo", "--since", since.strftime("%Y-%m-%dT%H:%M:%S"), "--json"]
    )
    assert result.exit_code in (0, 3), (result.stdout, result.stderr)

    read = _read(seller)
    assert before_d <= read.get(gid, set()), "the group open at D is read whole"
    still_open = [g["FinancialEventGroupId"] for g in groups if g["ProcessingStatus"] == "Open"]
    assert all(read.get(g) for g in still_open), "the Open groups (started before D) are read"
    with seller.rt.sessions() as session:
        stored = {
            r.amazon_id for r in list_raw_records(session, seller.connection_id, RawKind.GROUP)
        }
    assert not ended_before & stored, "settlements that ended before D stay out"


def test_a_one_day_backfill_reads_the_open_settlements(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    now = seller.rt.clock()
    since = now - timedelta(days=1)
    open_groups = {
        g["FinancialEventGroupId"] for g in seller.world.groups if g["ProcessingStatus"] == "Open"
    }
    assert all(_when(g["FinancialEventGroupStart"]) < since for g in seller.world.groups)
    with seller.connect() as ctx:
        pull_finances(
            seller.rt.sessions, ctx.id, ctx.amazon, now=now, initial_start=since, since=since
        )
    read = _read(seller)
    assert {g for g in open_groups if read.get(g)} == open_groups


def test_groups_are_listed_on_the_settlements_cadence_and_open_ones_read_each_cycle(
    sim_seller: Factory, served: Counter[str]
) -> None:
    seller = sim_seller(orders=40)
    sim: SimContext = seller.amazon.app.state.sim
    open_ids = {
        g["FinancialEventGroupId"] for g in seller.world.groups if g["ProcessingStatus"] == "Open"
    }
    # One transaction of an Open group is posted only after the first cycle.
    late = next(t for t in sim.transactions if _group_of(t.transaction) in open_ids)
    late_group = _group_of(late.transaction)
    sim.transactions.remove(late)
    t0 = datetime.now(UTC) - timedelta(hours=7)
    with seller.connect() as ctx:
        regions = len(ctx.amazon)

    def cycle(at: datetime) -> Counter[str]:
        before = Counter(served)
        with seller.connect() as ctx:
            pull_finances(
                seller.rt.sessions,
                ctx.id,
                ctx.amazon,
                now=at,
                initial_start=at - timedelta(days=30),
                list_every=SIX_HOURS,
            )
        return served - before

    first = cycle(t0)
    # 30 days of history + 35 days before it: one window under 180 days, each region's groups
    # on one page.
    assert first["listFinancialEventGroups"] == regions
    assert first["getReports"] >= 1
    assert late.transaction["transactionId"] not in _read(seller).get(late_group or "", set())

    sim.transactions.append(late)
    second = cycle(t0 + timedelta(minutes=15))
    assert second["listFinancialEventGroups"] == 0
    assert second["getReports"] == 0
    assert second["listTransactions"] >= len(open_ids), "every Open group is re-read by its id"
    assert late.transaction["transactionId"] in _read(seller)[late_group or ""]

    third = cycle(t0 + SIX_HOURS)
    assert third["listFinancialEventGroups"] == regions
    assert third["getReports"] >= 1


def test_listing_is_due_first_then_once_a_cadence_has_passed() -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert listing_due(None, at, SIX_HOURS)
    assert not listing_due(at, at + timedelta(minutes=15), SIX_HOURS)
    assert not listing_due(at, at + timedelta(minutes=359), SIX_HOURS)
    assert listing_due(at, at + timedelta(minutes=360), SIX_HOURS)
    assert listing_due(at, at + timedelta(minutes=15), None), "no cadence: every cycle"


def test_the_poller_lists_on_the_cadence_and_a_sync_by_hand_lists_every_time(
    sim_seller: Factory, served: Counter[str]
) -> None:
    from ml_connector.pipeline import run_cycle

    seller = sim_seller(orders=20)
    with seller.connect() as ctx:
        run_cycle(seller.rt, ctx, scheduled=True)
        listed = served["listFinancialEventGroups"]
        assert listed >= len(ctx.amazon), "the first cycle lists, every region"
        reports = served["getReports"]
        run_cycle(seller.rt, ctx, scheduled=True)
        assert served["listFinancialEventGroups"] == listed, "not again within 360 minutes"
        assert served["getReports"] == reports
        run_cycle(seller.rt, ctx)
        # A later listing reaches 60 + 35 days back: one window per region.
        again = served["listFinancialEventGroups"] - listed
        assert again == len(ctx.amazon), "`sync` by hand lists"


def test_groups_are_listed_every_cycle_while_a_group_record_waits_for_repair(
    sim_seller: Factory, served: Counter[str]
) -> None:
    from ml_connector.store import ReviewKind, open_review_item, resolve_subject

    seller = sim_seller(orders=20)
    t0 = datetime.now(UTC) - timedelta(hours=7)

    def listed(at: datetime) -> int:
        before = served["listFinancialEventGroups"]
        with seller.connect() as ctx:
            pull_finances(
                seller.rt.sessions,
                ctx.id,
                ctx.amazon,
                now=at,
                initial_start=at - timedelta(days=30),
                list_every=SIX_HOURS,
            )
        return served["listFinancialEventGroups"] - before

    assert listed(t0) > 0
    with seller.rt.sessions() as session, session.begin():
        open_review_item(
            session,
            seller.connection_id,
            ReviewKind.INVALID_DATA,
            "G-BROKEN",
            "settlement group G-BROKEN: ProcessingStatus is missing",
            details={"record": "settlement_group", "field": "ProcessingStatus"},
        )
    assert listed(t0 + timedelta(minutes=15)) > 0, "only a listing can show the repaired record"
    with seller.rt.sessions() as session, session.begin():
        resolve_subject(
            session, seller.connection_id, "G-BROKEN", kind=ReviewKind.INVALID_DATA, resolution="x"
        )
    assert listed(t0 + timedelta(minutes=30)) == 0, "repaired: back to the cadence"
