"""Fakes shared by the remote-layer unit tests: a clock that only moves when someone sleeps."""

from __future__ import annotations

import pytest


class FakeClock:
    """Monotonic time under test control; ``sleep`` advances it and records the request."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
