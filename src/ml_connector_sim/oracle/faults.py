"""Switchable faults: what a flaky pod, a WAF or a cut connection does to a client.

A fault matches requests by method and path fragment and fires a limited number of times (or
forever). The same book is filled from CLI flags, from tests through ``RunningSim.faults`` and
over HTTP through ``/__sim/faults``, so every path can rehearse the connector's failure handling.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    HTTP_429 = "429"
    HTTP_503 = "503"
    SLOW = "slow"
    DROP_AFTER_COMMIT = "drop-after-commit"
    ESS_CHILD_ERROR = "ess-child-error"
    # The import child of an ESS chain reports this state (erpintegrations.ESS_STATE_FAULTS).
    ESS_READY = "ess-ready"
    ESS_COMPLETED = "ess-completed"
    ESS_BLOCKED = "ess-blocked"
    ESS_HOLD = "ess-hold"
    ESS_CANCELLING = "ess-cancelling"
    ESS_EXPIRED = "ess-expired"
    ESS_CANCELLED = "ess-cancelled"
    ESS_WARNING = "ess-warning"
    ESS_PAUSED = "ess-paused"
    ESS_PENDING_VALIDATION = "ess-pending-validation"
    ESS_VALIDATION_FAILED = "ess-validation-failed"
    ESS_SCHEDULE_ENDED = "ess-schedule-ended"
    ESS_FINISHED = "ess-finished"
    ESS_ERROR_AUTO_RETRY = "ess-error-auto-retry"
    ESS_ERROR_MANUAL_RECOVERY = "ess-error-manual-recovery"
    ESS_UNKNOWN = "ess-unknown"
    # The import runs as a request of its own, named only in its launcher's log.
    ESS_DETACHED_IMPORT = "ess-detached-import"
    # A 302 to a sign-on page (``Location``) instead of the API's answer.
    REDIRECT = "302"


@dataclass
class Fault:
    """One rule. ``times=None`` fires on every match; ``seconds`` is the delay for SLOW faults
    and the ``Retry-After`` value for 429."""

    kind: FaultKind
    path: str = ""
    method: str | None = None
    times: int | None = 1
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return self.path in path

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


def parse_fault(spec: str) -> Fault:
    """``KIND[=SECONDS][@PATH][xTIMES|x*]``, e.g. ``503@receivablesInvoicesx2`` or ``slow=1.5x*``.

    The default count is one; ``x*`` means every matching request.
    """
    rest = spec.strip()
    times: int | None = 1
    if "x" in rest.rsplit("@", 1)[-1]:
        head, _, count = rest.rpartition("x")
        if count == "*":
            times, rest = None, head
        elif count.isdigit():
            times, rest = int(count), head
    path = ""
    if "@" in rest:
        rest, path = rest.split("@", 1)
    seconds = 0.0
    if "=" in rest:
        rest, raw = rest.split("=", 1)
        try:
            seconds = float(raw)
        except ValueError:
            raise ValueError(f"fault {spec!r}: {raw!r} is not a number of seconds") from None
    try:
        kind = FaultKind(rest)
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"fault {spec!r}: unknown kind {rest!r} (known: {known})") from None
    return Fault(kind=kind, path=path, times=times, seconds=seconds)


class FaultBook:
    """Thread-safe list of armed faults; ``take`` consumes one firing of the first match."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = list(faults or [])

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        with self._lock:
            return [Fault(**asdict(f)) for f in self._faults]

    def take(self, kinds: set[FaultKind], method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return Fault(**asdict(fault))
        return None
