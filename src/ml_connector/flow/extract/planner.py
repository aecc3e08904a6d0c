"""Plan a backfill before running it: how many calls and how long each Amazon path would take.

Two ways to read history: page through ``searchOrders`` (100 orders a page, but the bucket
refills at 0.0056 requests/s — one page every three minutes once the burst of 20 is spent), or
ask for the all-orders flat-file report (createReport, poll getReport, getReportDocument, one
download) per marketplace and ≤ 30-day slice. The planner costs both from the published limits
and picks the faster; for anything beyond a few thousand orders that is the report.
Pure arithmetic: the caller passes ``now``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ml_connector.flow.extract.windows import Clamp, Window, clamp_to_retention, latest_end
from ml_connector.remote.amazon.limits import limit_for
from ml_connector.remote.amazon.marketplaces import marketplace

__all__ = ["BackfillPlan", "PathPlan", "bucket_seconds", "plan_backfill"]

REPORT_SLICE = timedelta(days=30)
SEARCH_PAGE_SIZE = 100


def bucket_seconds(calls: int, operation: str) -> float:
    """Seconds a token bucket at the published limit needs to let ``calls`` through."""
    rate, burst = limit_for(operation)
    return max(0.0, calls - burst) / rate


@dataclass(frozen=True)
class PathPlan:
    name: str
    calls: dict[str, int]
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=round(self.seconds))


@dataclass(frozen=True)
class BackfillPlan:
    window: Window
    marketplace_ids: tuple[str, ...]
    expected_orders: int
    search: PathPlan
    report: PathPlan
    chosen: str
    reason: str
    clamps: tuple[Clamp, ...] = field(default=())

    def describe(self) -> str:
        """A few human lines: both paths with call counts and durations, the choice and why."""
        days = self.window.span / timedelta(days=1)
        lines = [
            f"backfill {self.window.start:%Y-%m-%d %H:%M} → {self.window.end:%Y-%m-%d %H:%M} UTC"
            f" ({days:.1f} days, {len(self.marketplace_ids)} marketplace(s),"
            f" ~{self.expected_orders:,} orders)",
        ]
        for clamp in self.clamps:
            lines.append(
                f"  clamped {clamp.marketplace_id}: asked {clamp.requested:%Y-%m-%d},"
                f" history starts {clamp.earliest:%Y-%m-%d}"
            )
        for path in (self.search, self.report):
            mark = "*" if path.name == self.chosen else " "
            calls = ", ".join(f"{op} {n:,}" for op, n in path.calls.items())
            lines.append(
                f" {mark}{path.name:<7} {path.total_calls:>6,} calls in {path.duration}  ({calls})"
            )
            lines.extend(f"           {note}" for note in path.notes)
        lines.append(f"chosen: {self.chosen} — {self.reason}")
        return "\n".join(lines)


def plan_backfill(
    *,
    since: datetime,
    marketplace_ids: Sequence[str],
    orders_per_day: float,
    now: datetime,
    report_processing_s: float = 600.0,
    poll_every_s: float = 30.0,
) -> BackfillPlan:
    """Cost both paths for reading orders from ``since`` to now (clamped to retention)."""
    if orders_per_day < 0:
        raise ValueError("orders_per_day must not be negative")
    ids = tuple(marketplace(m).marketplace_id for m in marketplace_ids)
    if not ids:
        raise ValueError("at least one marketplace is needed")
    end = latest_end(now)
    start, clamps = clamp_to_retention(since, ids, now)
    start = min(start, end)
    window = Window(start, end, clamps)
    days = window.span / timedelta(days=1)
    orders = math.ceil(orders_per_day * days)

    pages = max(1, math.ceil(orders / SEARCH_PAGE_SIZE))
    search = PathPlan(
        "search",
        {"searchOrders": pages},
        bucket_seconds(pages, "searchOrders"),
        (f"{SEARCH_PAGE_SIZE} orders a page, items and proceeds inline",),
    )

    slices = max(1, math.ceil(window.span / REPORT_SLICE))
    reports = slices * len(ids)
    polls_each = math.ceil(report_processing_s / poll_every_s) + 1
    report_calls = {
        "createReport": reports,
        "getReport": reports * polls_each,
        "getReportDocument": reports,
        "download": reports,
    }
    report_seconds = (
        bucket_seconds(reports, "createReport")
        + report_processing_s
        + bucket_seconds(reports * polls_each, "getReport") / reports
        + bucket_seconds(reports, "getReportDocument")
    )
    report = PathPlan(
        "report",
        report_calls,
        report_seconds,
        (
            f"{reports} report(s): {slices} slice(s) of ≤ 30 days × {len(ids)} marketplace(s),"
            f" ~{report_processing_s:.0f}s processing, polled every {poll_every_s:.0f}s",
            "no fees in the report: money comes from Finances as usual",
        ),
    )
    if report.seconds < search.seconds:
        chosen, reason = (
            "report",
            (
                f"{pages:,} searchOrders pages exceed the burst of"
                f" {limit_for('searchOrders')[1]:.0f}; one page every"
                f" {1 / limit_for('searchOrders')[0]:.0f}s would take {search.duration}"
            ),
        )
    else:
        chosen, reason = "search", "small enough to page through within the burst"
    return BackfillPlan(window, ids, orders, search, report, chosen, reason, clamps)
