"""Print the backfill plan for 90 days at 1,000 orders a day: both paths, calls and durations.

Run: .venv/bin/python bench/bench_amazon_backfill_plan.py [days] [orders_per_day] [marketplace...]
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from ml_connector.flow.extract.planner import plan_backfill


def main(argv: list[str]) -> None:
    days = int(argv[0]) if argv else 90
    per_day = float(argv[1]) if len(argv) > 1 else 1000.0
    marketplaces = argv[2:] or ["US"]
    now = datetime.now(UTC)
    plan = plan_backfill(
        since=now - timedelta(days=days),
        marketplace_ids=marketplaces,
        orders_per_day=per_day,
        now=now,
    )
    print(plan.describe())
    ratio = plan.search.seconds / max(plan.report.seconds, 1.0)
    print(f"search/report time ratio: {ratio:,.1f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
