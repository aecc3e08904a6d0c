from __future__ import annotations

import threading

import pytest

from ml_connector.remote.http.ratelimit import RateLimiter, TokenBucket

from .conftest import FakeClock


def test_burst_is_free_then_calls_are_paced_at_the_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=0.5, burst=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(2.0)
    assert waits[4] == pytest.approx(2.0)
    assert clock.now - 1000.0 == pytest.approx(4.0)


def test_tokens_refill_but_never_beyond_burst(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=1, burst=2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    clock.advance(100)
    assert bucket.available() == pytest.approx(2.0)


def test_try_acquire_never_waits(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=1, burst=1, clock=clock, sleep=clock.sleep)
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    clock.advance(1)
    assert bucket.try_acquire() is True
    assert clock.sleeps == []


def test_header_corrects_the_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=0.0056, burst=1, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    assert bucket.update_rate_from_header("2.0") is True
    assert bucket.rate == 2.0
    assert bucket.acquire() == pytest.approx(0.5)


@pytest.mark.parametrize("value", [None, "", "fast", "0", "-1", "nan", "inf"])
def test_bad_header_values_are_ignored(clock: FakeClock, value: str | None) -> None:
    bucket = TokenBucket(rate=0.5, burst=1, clock=clock, sleep=clock.sleep)
    assert bucket.update_rate_from_header(value) is False
    assert bucket.rate == 0.5


def test_drain_makes_the_next_call_wait(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=2, burst=10, clock=clock, sleep=clock.sleep)
    bucket.drain()
    assert bucket.acquire() == pytest.approx(0.5)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0), (float("inf"), 1)])
def test_invalid_bucket_is_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        TokenBucket(rate=rate, burst=burst)


def test_limiter_keeps_one_bucket_per_key(clock: FakeClock) -> None:
    limiter: RateLimiter[tuple[str, str]] = RateLimiter(
        lambda key: (1.0, 1) if key[1] == "slow" else (10.0, 5), clock=clock, sleep=clock.sleep
    )
    assert limiter.acquire(("s1", "slow")) == 0.0
    assert limiter.acquire(("s2", "slow")) == 0.0  # another seller: its own bucket
    assert limiter.acquire(("s1", "slow")) == pytest.approx(1.0)
    assert limiter.bucket(("s1", "fast")).burst == 5
    assert limiter.bucket(("s1", "slow")) is limiter.bucket(("s1", "slow"))


def test_concurrent_callers_never_overdraw() -> None:
    """Reservations under the lock: N threads get exactly N distinct waiting slots."""
    clock = FakeClock()
    waits: list[float] = []
    lock = threading.Lock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock, sleep=lambda s: None)

    def worker() -> None:
        for _ in range(25):
            w = bucket.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == [0.0, 0.0, *[float(i) for i in range(1, 99)]]
