"""When and how long to wait before trying a failed request again.

Separate from rate limiting on purpose: the limiter paces requests we expect to succeed, the
retry policy reacts to failures (429, 5xx, transport). Backoff is exponential with *full* jitter
(sleep a uniform random time in ``[0, min(cap, base·2^n)]``) so many workers that fail together
do not retry together. Attempts and total time are both capped; a ``Retry-After`` the remote sent
is honoured as a minimum, and if it would overrun the time budget we give up at once rather than
sleep for nothing.

Built on tenacity; the clock, sleep and random source are injectable so tests do not wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception

from ml_connector.errors import RemoteError, TransientError

__all__ = ["RetryPolicy", "is_retryable"]

T = TypeVar("T")

_log = structlog.get_logger(__name__)


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
            if state.attempt_number >= self.max_attempts:
                return True
            remaining = self.max_elapsed - (self.clock() - start)
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
