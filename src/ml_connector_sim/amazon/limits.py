"""Published usage plans and the token buckets that enforce them.

Buckets run on an injectable monotonic clock multiplied by a time-scale factor, so a test can run
an operation whose published rate is one request every three minutes in milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class UsagePlan:
    rate: float
    burst: int


#: Default rate (requests per second) and burst from each operation's model description.
PUBLISHED: dict[str, UsagePlan] = {
    "searchOrders": UsagePlan(0.0056, 20),
    "getOrder": UsagePlan(0.5, 30),
    "listFinancialEventGroups": UsagePlan(0.5, 30),
    "listFinancialEventsByGroupId": UsagePlan(0.5, 30),
    "listTransactions": UsagePlan(0.5, 10),
    "getReports": UsagePlan(0.0222, 10),
    "createReport": UsagePlan(0.0167, 15),
    "getReport": UsagePlan(2.0, 15),
    "cancelReport": UsagePlan(0.0222, 10),
    "getReportDocument": UsagePlan(0.0167, 15),
}


class TokenBuckets:
    """One bucket per key (client, region, operation); a call takes one token or is refused."""

    def __init__(
        self, clock: Callable[[], float], time_scale: float, plans: dict[str, UsagePlan]
    ) -> None:
        self._clock = clock
        self._scale = time_scale
        self._plans = plans
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], tuple[float, float]] = {}

    def plan(self, operation: str) -> UsagePlan:
        return self._plans[operation]

    def take(self, client: str, region: str, operation: str) -> bool:
        plan = self._plans[operation]
        key = (client, region, operation)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(plan.burst), now))
            tokens = min(float(plan.burst), tokens + (now - last) * plan.rate * self._scale)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True
