from __future__ import annotations

import random

import httpx
import pytest

from ml_connector.errors import (
    AuthError,
    ConnectionFailedError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from ml_connector.remote.http.retry import RetryPolicy, is_retryable

from .conftest import FakeClock


def _policy(clock: FakeClock, **kw: object) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=clock, rng=random.Random(7), **kw)  # type: ignore[arg-type]


class Flaky:
    def __init__(self, errors: list[BaseException]) -> None:
        self.errors = errors
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retries_transient_errors_until_success(clock: FakeClock) -> None:
    fn = Flaky(
        [RateLimitedError("q", status=429), ServerError("s", status=503), httpx.ConnectError("x")]
    )
    assert _policy(clock).call(fn) == "ok"
    assert fn.calls == 4
    assert len(clock.sleeps) == 3


@pytest.mark.parametrize(
    "error", [ValidationError("bad", status=400), AuthError("no", status=403), KeyError("k")]
)
def test_final_errors_are_not_retried(clock: FakeClock, error: Exception) -> None:
    fn = Flaky([error])
    with pytest.raises(type(error)):
        _policy(clock).call(fn)
    assert fn.calls == 1
    assert clock.sleeps == []


def test_attempts_are_capped_and_last_error_raised(clock: FakeClock) -> None:
    fn = Flaky([ServerError(f"s{i}", status=500) for i in range(10)])
    with pytest.raises(ServerError, match="s2"):
        _policy(clock, max_attempts=3).call(fn)
    assert fn.calls == 3


def test_total_time_is_capped(clock: FakeClock) -> None:
    fn = Flaky([ServerError("s", status=500) for _ in range(100)])
    with pytest.raises(ServerError):
        _policy(clock, max_attempts=100, max_elapsed=30.0, base_delay=4, max_delay=8).call(fn)
    assert clock.now - 1000.0 <= 30.0
    assert 4 <= fn.calls < 100


def test_full_jitter_stays_within_the_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, rng=random.Random(1))
    for attempt in range(1, 8):
        ceiling = min(10.0, 2 ** (attempt - 1))
        samples = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert min(samples) < ceiling * 0.2  # full jitter reaches near zero
        assert max(samples) > ceiling * 0.8


def test_retry_after_is_honoured_as_a_minimum(clock: FakeClock) -> None:
    fn = Flaky([RateLimitedError("q", status=429, retry_after=17.0)])
    assert _policy(clock, base_delay=0.01).call(fn) == "ok"
    assert clock.sleeps == [17.0]


def test_retry_after_beyond_the_budget_gives_up_at_once(clock: FakeClock) -> None:
    fn = Flaky([RateLimitedError("q", status=429, retry_after=3600.0)])
    with pytest.raises(RateLimitedError):
        _policy(clock, max_elapsed=60).call(fn)
    assert clock.sleeps == []


def test_custom_predicate_can_refuse_retries(clock: FakeClock) -> None:
    fn = Flaky([ConnectionFailedError("timeout")])
    with pytest.raises(ConnectionFailedError):
        _policy(clock).call(fn, retry_on=lambda exc: False)
    assert fn.calls == 1


def test_predicate() -> None:
    assert is_retryable(RateLimitedError("q"))
    assert is_retryable(httpx.ReadTimeout("t"))
    assert not is_retryable(ValidationError("v"))
    assert not is_retryable(ValueError("v"))


def test_invalid_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)
