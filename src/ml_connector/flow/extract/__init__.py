"""Extraction planning: watermark windows and backfill plans (pure; the store keeps cursors)."""

from ml_connector.flow.extract.planner import BackfillPlan, PathPlan, plan_backfill
from ml_connector.flow.extract.windows import (
    Clamp,
    GroupState,
    Window,
    clamp_to_retention,
    finances_windows,
    groups_to_read,
    next_watermark,
    orders_window,
    outside_retention,
    split_window,
)

__all__ = [
    "BackfillPlan",
    "Clamp",
    "GroupState",
    "PathPlan",
    "Window",
    "clamp_to_retention",
    "finances_windows",
    "groups_to_read",
    "next_watermark",
    "orders_window",
    "outside_retention",
    "plan_backfill",
    "split_window",
]
