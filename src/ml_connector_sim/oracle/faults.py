"""Switchable faults: what a flaky pod, a WAF or a cut connection does to a client.

A fault matches requests by method and path fragment and fires a limited number of times (or
forever), on every match or with a given probability. The same book is filled from CLI flags,
from tests through ``RunningSim.faults`` and over HTTP through ``/__sim/faults``, so every path
can rehearse the connector's failure handling.

Kinds, by when they act:

- before the handler: ``429`` and ``500``/``503`` refuse the request (nothing is committed),
  ``slow`` delays it;
- after the handler committed: ``drop-after-commit`` cuts the connection with no answer,
  ``500-after-commit`` answers 500 although the document exists — the two cases a connector's
  "look it up before sending again" rule exists for;
- ESS: ``ess-slow=S`` makes every ESS state step of the requests the matched call submits last
  ``S`` seconds (a journal or AutoInvoice chain takes six steps), ``ess-child-error`` fails the
  import child of the chain.

A fault with ``percent`` fires on that share of the matching requests; the draws come from the
book's own random generator, seeded (``seed``) when a test needs the same sequence every run.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Fault",
    "FaultBook",
    "FaultKind",
    "ess_step_override",
    "parse_fault",
    "slow_ess_requests",
]


class FaultKind(StrEnum):
    HTTP_429 = "429"
    HTTP_500 = "500"
    HTTP_503 = "503"
    SLOW = "slow"
    DROP_AFTER_COMMIT = "drop-after-commit"
    ERROR_AFTER_COMMIT = "500-after-commit"
    ESS_SLOW = "ess-slow"
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


REFUSALS = frozenset({FaultKind.HTTP_429, FaultKind.HTTP_500, FaultKind.HTTP_503})
AFTER_COMMIT = frozenset({FaultKind.DROP_AFTER_COMMIT, FaultKind.ERROR_AFTER_COMMIT})


@dataclass
class Fault:
    """One rule. ``times=None`` fires on every match; ``seconds`` is the delay for SLOW faults,
    the step length for ESS_SLOW and the ``Retry-After`` value for 429; ``percent`` (0-100) is
    the chance that a matching request is hit (``None``: every one)."""

    kind: FaultKind
    path: str = ""
    method: str | None = None
    times: int | None = 1
    seconds: float = 0.0
    percent: float | None = None

    def __post_init__(self) -> None:
        self.kind = FaultKind(self.kind)
        if self.percent is not None and not 0 <= self.percent <= 100:
            raise ValueError(f"fault percent {self.percent} is not between 0 and 100")
        if self.seconds < 0:
            raise ValueError(f"fault seconds {self.seconds} is negative")

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return self.path in path

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


def _number(spec: str, raw: str, what: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"fault {spec!r}: {raw!r} is not a {what}") from None


def parse_fault(spec: str) -> Fault:
    """``KIND[=SECONDS][%PERCENT][@PATH][xTIMES|x*]``, e.g. ``503@receivablesInvoicesx2``,
    ``slow=1.5x*`` or ``drop-after-commit%2@erpintegrations``.

    The default count is one; ``x*`` means every matching request, and so does a ``%PERCENT``
    given without a count (a probabilistic fault is a standing condition, not a single event).
    """
    rest = spec.strip()
    times: int | None = 1
    counted = False
    if "x" in rest.rsplit("@", 1)[-1]:
        head, _, count = rest.rpartition("x")
        if count == "*":
            times, rest, counted = None, head, True
        elif count.isdigit():
            times, rest, counted = int(count), head, True
    path = ""
    if "@" in rest:
        rest, path = rest.split("@", 1)
    percent: float | None = None
    if "%" in rest:
        rest, raw = rest.split("%", 1)
        percent = _number(spec, raw, "percentage")
        if not counted:
            times = None
    seconds = 0.0
    if "=" in rest:
        rest, raw = rest.split("=", 1)
        seconds = _number(spec, raw, "number of seconds")
    try:
        kind = FaultKind(rest)
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"fault {spec!r}: unknown kind {rest!r} (known: {known})") from None
    return Fault(kind=kind, path=path, times=times, seconds=seconds, percent=percent)


class FaultBook:
    """Thread-safe list of armed faults; ``take`` consumes one firing of the first match."""

    def __init__(self, faults: list[Fault] | None = None, *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = list(faults or [])
        self._random = random.Random(seed)
        self.fired: dict[FaultKind, int] = {}

    def reseed(self, seed: int) -> None:
        """Start the probabilistic draws over from ``seed`` (tests repeat a run exactly)."""
        with self._lock:
            self._random.seed(seed)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        with self._lock:
            return [Fault(**asdict(f)) for f in self._faults]

    def may_fire(
        self, kinds: frozenset[FaultKind] | set[FaultKind], method: str, path: str
    ) -> bool:
        """Whether any armed fault of these kinds matches (no draw, nothing consumed)."""
        with self._lock:
            return any(f.kind in kinds and f.matches(method, path) for f in self._faults)

    def take(
        self, kinds: frozenset[FaultKind] | set[FaultKind], method: str, path: str
    ) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind not in kinds or not fault.matches(method, path):
                    continue
                if fault.percent is not None and self._random.random() * 100 >= fault.percent:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                self.fired[fault.kind] = self.fired.get(fault.kind, 0) + 1
                return Fault(**asdict(fault))
        return None


# The ESS step length for requests submitted while an ``ess-slow`` fault handles the call. A
# context variable, because the fault layer decides before the handler runs and the handler (in
# the same task) creates the jobs; other requests served meanwhile keep their own value.
_ESS_STEP: ContextVar[float | None] = ContextVar("ess_step", default=None)


def ess_step_override() -> float | None:
    """Seconds per ESS state step for jobs created now, when an ``ess-slow`` fault applies."""
    return _ESS_STEP.get()


@contextmanager
def slow_ess_requests(seconds: float) -> Iterator[None]:
    token = _ESS_STEP.set(seconds)
    try:
        yield
    finally:
        _ESS_STEP.reset(token)
