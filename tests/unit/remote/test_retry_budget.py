"""A caller's retry budget lowers the policy's caps for the requests made under it, and is asked
again before every retry (the poster's circuit breaker cuts a request already retrying)."""

from __future__ import annotations

import random
import threading

import pytest

from ml_connector.errors import ServerError
from ml_connector.remote.http.retry import RetryPolicy, retry_budget

from .conftest import FakeClock


class Budget:
    def __init__(self, attempts: int, elapsed: float) -> None:
        self.attempts = attempts
        self.elapsed = elapsed
        self.asked = 0

    def cap(self) -> tuple[int, float]:
        self.asked += 1
        return self.attempts, self.elapsed


def failing(calls: list[int]) -> object:
    calls.append(1)
    raise ServerError("unavailable", status=503)


def policy(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=6, max_elapsed=300.0, sleep=clock.sleep, clock=clock, rng=random.Random(3)
    )


def test_without_a_budget_the_policys_own_caps_apply(clock: FakeClock) -> None:
    calls: list[int] = []
    with pytest.raises(ServerError):
        policy(clock).call(lambda: failing(calls))
    assert len(calls) == 6


def test_a_budget_lowers_the_attempts(clock: FakeClock) -> None:
    calls: list[int] = []
    with retry_budget(Budget(2, 300.0)), pytest.raises(ServerError):
        policy(clock).call(lambda: failing(calls))
    assert len(calls) == 2
    assert len(clock.sleeps) == 1


def test_a_budget_of_no_time_means_one_attempt_and_no_sleep(clock: FakeClock) -> None:
    calls: list[int] = []
    with retry_budget(Budget(100, 0.0)), pytest.raises(ServerError):
        policy(clock).call(lambda: failing(calls))
    assert calls == [1]
    assert clock.sleeps == []


def test_the_budget_is_asked_again_before_each_retry(clock: FakeClock) -> None:
    """The caller decides mid-request that the remote is away: the next retry does not come."""
    budget = Budget(100, 300.0)
    calls: list[int] = []

    def fn() -> object:
        if len(calls) == 2:
            budget.attempts = 1  # e.g. the breaker opened meanwhile
        return failing(calls)

    with retry_budget(budget), pytest.raises(ServerError):
        policy(clock).call(fn)
    assert len(calls) == 3
    assert budget.asked == 3


def test_a_budget_never_raises_the_policys_caps(clock: FakeClock) -> None:
    calls: list[int] = []
    with retry_budget(Budget(1_000, 10_000.0)), pytest.raises(ServerError):
        policy(clock).call(lambda: failing(calls))
    assert len(calls) == 6


def test_the_budget_belongs_to_the_thread_that_entered_it(clock: FakeClock) -> None:
    outside: list[int] = []

    def other_thread() -> None:
        with pytest.raises(ServerError):
            policy(FakeClock()).call(lambda: failing(outside))

    with retry_budget(Budget(1, 0.0)):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert len(outside) == 6
