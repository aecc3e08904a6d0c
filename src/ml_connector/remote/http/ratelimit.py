"""Client-side token buckets, so we spend a remote's quota instead of discovering it by 429s.

Amazon meters each operation with a token bucket (rate per second, burst); mirroring it locally
means a sync at steady state sends requests exactly as fast as they will be accepted. A bucket
hands out *reservations*: the token count may go negative and each caller sleeps for its own
share, outside the lock, so concurrent callers queue fairly without holding the lock while waiting.

Clock and sleep are injectable so tests run hours of simulated time in microseconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["RateLimiter", "TokenBucket"]

K = TypeVar("K", bound=Hashable)


class TokenBucket:
    """One bucket: ``rate`` tokens per second refill, at most ``burst`` tokens stored."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        header_scale: float = 1.0,
    ) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number, got {rate!r}")
        # A simulator running time faster announces real rates; its speed-up applies to them.
        self._header_scale = header_scale
        if not (burst >= 1 and math.isfinite(burst)):
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self._rate = float(rate)
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._stamp = clock()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> float:
        return self._burst

    def available(self) -> float:
        """Tokens available now (negative while callers are queued)."""
        with self._lock:
            self._refill()
            return self._tokens

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)

    def reserve(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` now; returns the seconds the caller must wait before using them."""
        with self._lock:
            self._refill()
            self._tokens -= tokens
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self._rate

    def acquire(self, tokens: float = 1.0) -> float:
        """Block until ``tokens`` are ours; returns the seconds waited."""
        wait = self.reserve(tokens)
        if wait > 0:
            self._sleep(wait)
        return wait

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` only if available right now (never waits)."""
        with self._lock:
            self._refill()
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False

    def drain(self) -> None:
        """Empty the bucket: the remote just said 429, so our view of its quota was too generous."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0)

    def update_rate(self, rate: float) -> bool:
        """Adopt a new refill rate; returns whether it changed."""
        if not (rate > 0 and math.isfinite(rate)):
            return False
        with self._lock:
            self._refill()
            changed = rate != self._rate
            self._rate = float(rate)
            return changed

    def update_rate_from_header(self, value: str | None) -> bool:
        """Apply an ``x-amzn-RateLimit-Limit`` value (e.g. ``"0.5"``); garbage is ignored."""
        if value is None:
            return False
        try:
            rate = float(value.strip())
        except ValueError:
            return False
        return self.update_rate(rate * self._header_scale)


class RateLimiter(Generic[K]):
    """A bucket per key (e.g. seller, region, operation), created on first use from ``defaults``."""

    def __init__(
        self,
        defaults: Callable[[K], tuple[float, float]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        scale: float = 1.0,
    ) -> None:
        """``scale`` speeds every rate up, defaults and header-announced alike (simulators)."""
        self._defaults = defaults
        self._scale = scale
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[K, TokenBucket] = {}

    def bucket(self, key: K) -> TokenBucket:
        with self._lock:
            found = self._buckets.get(key)
            if found is None:
                rate, burst = self._defaults(key)
                found = TokenBucket(
                    rate * self._scale,
                    burst,
                    clock=self._clock,
                    sleep=self._sleep,
                    header_scale=self._scale,
                )
                self._buckets[key] = found
            return found

    def acquire(self, key: K, tokens: float = 1.0) -> float:
        return self.bucket(key).acquire(tokens)

    def update_rate_from_header(self, key: K, value: str | None) -> bool:
        return self.bucket(key).update_rate_from_header(value)
