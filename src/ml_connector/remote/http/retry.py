"""When and how long to wait before trying a failed request again.

Separate from rate limiting on purpose: the limiter paces requests we expect to succeed, the
retry policy reacts to failures (429, 5xx, transport). Backoff is exponential with *full* jitter
(sleep a uniform random time in ``[0, min(cap, base·2^n)]``) so many workers that fail together
do not retry together. Attempts and total time are both capped; a ``Retry-After`` the remote sent
is honoured as a minimum, and if it would overrun the time budget we give up at once rather than
sleep for nothing.

A caller that must stay quick while a remote may be gone (the poster's circuit breaker) can
lower both caps for every request made under it with ``retry_budget(budget)``: the budget is
asked again before each further attempt, so a request already retrying is cut short as soon
as the caller decides the remote is away. It can only lower the policy's own caps.

Built on tenacity; the clock, sleep and random source are injectable so tests do not wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception

from ml_connector.errors import RemoteError, TransientError

__all__ = ["RetryBudget", "RetryPolicy", "is_retryable", "retry_budget"]

T = TypeVar("T")

_log = structlog.get_logger(__name__)


class RetryBudget(Protocol):
    """Lower caps for the requests made under ``retry_budget``, asked before every retry."""

    def cap(self) -> tuple[int, float]:
        """``(max attempts, max elapsed seconds)`` a request may use from now on."""
        ...


_BUDGET: ContextVar[RetryBudget | None] = ContextVar("retry_budget", default=None)


@contextmanager
def retry_budget(budget: RetryBudget) -> Iterator[None]:
    """Apply ``budget`` to every ``RetryPolicy.call`` this thread makes inside the block (a
    thread of its own, e.g. a pool worker, must enter the block itself)."""
    token = _BUDGET.set(budget)
    try:
        yield
    finally:
        _BUDGET.reset(token)


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx and transport failures are worth another try; everything else is final."""
    return isinstance(exc, TransientError | httpx.TransportError)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped by attempts and by total elapsed time."""

    max_attempts: int = 6
    max_elapsed: float = 300.0
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_elapsed < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, attempt: int) -> float:
        """The jittered delay after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0.0, ceiling)

    def call(
        self,
        fn: Callable[[], T],
        *,
        retry_on: Callable[[BaseException], bool] = is_retryable,
        operation: str | None = None,
    ) -> T:
        """Run ``fn`` until it succeeds, fails for good or the budget is spent (re-raising)."""
        start = self.clock()
        planned: dict[int, float] = {}
        budget = _BUDGET.get()

        def _delay(state: RetryCallState) -> float:
            # Memoised per attempt: tenacity's order of calling wait and stop varies by version.
            if state.attempt_number not in planned:
                exc = state.outcome.exception() if state.outcome else None
                delay = self.backoff(state.attempt_number)
                retry_after = exc.retry_after if isinstance(exc, RemoteError) else None
                if retry_after is not None:
                    delay = max(delay, retry_after)
                planned[state.attempt_number] = delay
            return planned[state.attempt_number]

        def _wait(state: RetryCallState) -> float:
            return _delay(state)

        def _stop(state: RetryCallState) -> bool:
            max_attempts, max_elapsed = self.max_attempts, self.max_elapsed
            if budget is not None:
                capped_attempts, capped_elapsed = budget.cap()
                max_attempts = min(max_attempts, capped_attempts)
                max_elapsed = min(max_elapsed, capped_elapsed)
            if state.attempt_number >= max_attempts:
                return True
            remaining = max_elapsed - (self.clock() - start)
            return _delay(state) > remaining

        def _before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            _log.info(
                "http.retry",
                operation=operation,
                attempt=state.attempt_number,
                wait_s=round(_delay(state), 3),
                error=type(exc).__name__ if exc else None,
                status=getattr(exc, "status", None),
                request_id=getattr(exc, "request_id", None),
            )

        retrying = Retrying(
            stop=_stop,
            wait=_wait,
            retry=retry_if_exception(retry_on),
            sleep=self.sleep,
            before_sleep=_before_sleep,
            reraise=True,
        )
        return retrying(fn)
