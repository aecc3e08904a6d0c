"""Published default usage plans (rate per second, burst) for the operations we call.

These seed the client's token buckets; the ``x-amzn-RateLimit-Limit`` header corrects the rate
at run time. Source: the operation descriptions in the official models (reference/sp-api.md §3-§6).
"""

from __future__ import annotations

__all__ = ["DEFAULT_LIMIT", "OPERATION_LIMITS", "limit_for"]

OPERATION_LIMITS: dict[str, tuple[float, float]] = {
    # Orders 2026-01-01
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    # Finances v0
    "listFinancialEventGroups": (0.5, 30),
    "listFinancialEventsByGroupId": (0.5, 30),
    "listFinancialEventsByOrderId": (0.5, 30),
    "listFinancialEvents": (0.5, 30),
    # Finances 2024-06-19
    "listTransactions": (0.5, 10),
    "listBalances": (0.5, 10),
    "listSummary": (0.5, 10),
    # Reports 2021-06-30
    "getReports": (0.0222, 10),
    "createReport": (0.0167, 15),
    "cancelReport": (0.0222, 10),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
}

DEFAULT_LIMIT: tuple[float, float] = (0.5, 10)
"""For an operation missing from the table: conservative rather than fast."""


def limit_for(operation: str) -> tuple[float, float]:
    return OPERATION_LIMITS.get(operation, DEFAULT_LIMIT)
