"""The backfill planner: costs both Amazon paths and picks the report for a large backfill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ml_connector.flow.extract.planner import bucket_seconds, plan_backfill

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_ninety_days_at_a_thousand_a_day_goes_the_report_way() -> None:
    plan = plan_backfill(
        since=NOW - timedelta(days=90), marketplace_ids=["US"], orders_per_day=1000, now=NOW
    )
    assert plan.chosen == "report"
    assert plan.search.calls == {"searchOrders": 900}
    # 880 pages beyond the burst of 20 at one every ~179 s: more than 40 hours.
    assert plan.search.duration > timedelta(hours=40)
    assert plan.report.calls["createReport"] == 3  # three ≤ 30-day slices
    assert plan.report.calls["getReportDocument"] == 3
    assert plan.report.calls["getReport"] >= 3
    assert plan.report.duration < timedelta(hours=1)
    text = plan.describe()
    assert "searchOrders 900" in text
    assert "createReport 3" in text
    assert "chosen: report" in text


def test_a_small_backfill_pages_through_search() -> None:
    plan = plan_backfill(
        since=NOW - timedelta(days=2), marketplace_ids=["DE"], orders_per_day=50, now=NOW
    )
    assert plan.chosen == "search"
    assert plan.search.calls == {"searchOrders": 1}
    assert plan.search.seconds == 0


def test_backfill_beyond_history_is_clamped_and_said() -> None:
    plan = plan_backfill(
        since=datetime(2019, 1, 1, tzinfo=UTC), marketplace_ids=["UK"], orders_per_day=10, now=NOW
    )
    assert plan.window.start == datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
    assert plan.clamps
    assert "clamped A1F83G8C2ARO7P" in plan.describe()


def test_bucket_seconds_uses_published_limits() -> None:
    assert bucket_seconds(20, "searchOrders") == 0
    assert bucket_seconds(21, "searchOrders") == pytest.approx(1 / 0.0056)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="negative"):
        plan_backfill(since=NOW, marketplace_ids=["US"], orders_per_day=-1, now=NOW)
    with pytest.raises(ValueError, match="marketplace"):
        plan_backfill(since=NOW, marketplace_ids=[], orders_per_day=1, now=NOW)
