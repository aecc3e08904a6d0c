"""`ml-connector run`: each seller is polled at its cadence, and one seller's trouble is only its
own. The clock is injected (``Runtime.clock``), so no test waits for real minutes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ml_connector.context import Runtime, open_runtime
from ml_connector.run.demo import add_simulator_connection, simulator_config
from ml_connector.run.scheduler import Scheduler
from ml_connector.store import (
    Cadences,
    RunStatus,
    add_connection,
    finish_run,
    get_connection,
    list_runs,
    start_run,
    update_connection,
)

Seller = Any
Factory = Callable[..., Seller]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """An initialised store with two connections (mapping files are not needed to plan runs)."""
    from typer.testing import CliRunner

    from ml_connector.run.cli import app
    from ml_connector.run.demo import SimEndpoints

    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    rt = open_runtime(require_key=True)
    endpoints = SimEndpoints(amazon="http://127.0.0.1:9", oracle="http://127.0.0.1:9")
    config = simulator_config(
        endpoints, catalog=tmp_path / "catalog.csv", charges=tmp_path / "charges.toml"
    )
    fast = config.model_copy(update={"cadences": Cadences(orders_minutes=5, finances_minutes=60)})
    with rt.sessions() as session, session.begin():
        add_connection(session, "acme", config)
        add_connection(session, "fast", fast)
    yield rt
    rt.close()


def record_run(rt: Runtime, name: str, stream: str, at: datetime, status: RunStatus) -> None:
    with rt.sessions() as session, session.begin():
        run = start_run(session, get_connection(session, name).id, stream, now=at)
        if status is not RunStatus.RUNNING:
            finish_run(session, run, status, now=at + timedelta(seconds=30))


def test_due_honours_default_and_per_connection_cadences(store: Runtime) -> None:
    scheduler = Scheduler(store)
    assert scheduler.due(T0) == {"acme": ("orders", "finances"), "fast": ("orders", "finances")}
    record_run(store, "acme", "orders+finances", T0, RunStatus.SUCCEEDED)
    record_run(store, "fast", "orders+finances", T0, RunStatus.SUCCEEDED)
    assert scheduler.due(T0 + timedelta(minutes=4, seconds=59)) == {}
    assert scheduler.due(T0 + timedelta(minutes=5)) == {"fast": ("orders",)}
    assert scheduler.due(T0 + timedelta(minutes=9, seconds=59)) == {"fast": ("orders",)}
    assert scheduler.due(T0 + timedelta(minutes=10)) == {
        "acme": ("orders",),
        "fast": ("orders",),
    }
    assert scheduler.due(T0 + timedelta(minutes=15)) == {
        "acme": ("orders", "finances"),
        "fast": ("orders",),
    }
    assert scheduler.due(T0 + timedelta(minutes=60))["fast"] == ("orders", "finances")


def test_due_counts_failed_runs_ignores_running_ones_and_disabled_connections(
    store: Runtime,
) -> None:
    scheduler = Scheduler(store)
    record_run(store, "acme", "orders", T0, RunStatus.FAILED)
    record_run(store, "acme", "finances", T0, RunStatus.RUNNING)
    assert scheduler.due(T0 + timedelta(minutes=1))["acme"] == ("finances",)
    with store.sessions() as session, session.begin():
        update_connection(session, get_connection(session, "fast"), enabled=False)
    assert "fast" not in scheduler.due(T0 + timedelta(days=1))


def test_tick_runs_each_due_connection_once_and_records_the_run(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    seller.rt.clock = Clock(datetime.now(UTC) - timedelta(hours=2))
    reports: list[Any] = []
    assert Scheduler(seller.rt).tick(reports.append) == 1
    assert [r.connection for r in reports] == ["demo"]
    assert reports[0].counts()["posted"] > 0
    with seller.rt.sessions() as session:
        runs = list_runs(session, connection_id=seller.connection_id)
    assert [(r.stream, r.started_at) for r in runs] == [("orders+finances", seller.rt.clock())]
    assert all(count == 1 for count in seller.oracle_numbers().values())


def test_a_second_tick_rests_until_the_next_cadence(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    clock = Clock(datetime.now(UTC) - timedelta(hours=2))
    seller.rt.clock = clock
    scheduler = Scheduler(seller.rt)
    assert scheduler.tick() == 1
    with seller.rt.sessions() as session:
        (run,) = list_runs(session, connection_id=seller.connection_id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.counts["posted"] > 0
    assert scheduler.tick() == 0, "nothing is due right after a cycle"
    clock.advance(minutes=10)
    assert scheduler.tick() == 1
    clock.advance(minutes=5)
    assert scheduler.tick() == 1
    with seller.rt.sessions() as session:
        streams = [r.stream for r in list_runs(session, connection_id=seller.connection_id)]
    assert streams == ["finances", "orders", "orders+finances"]


def test_stop_before_a_tick_runs_nothing(sim_seller: Factory) -> None:
    seller = sim_seller(orders=40)
    stop = threading.Event()
    scheduler = Scheduler(seller.rt, stop=stop)
    scheduler.stop()
    assert stop.is_set()
    assert scheduler.tick() == 0
    scheduler.loop(once=True)
    with seller.rt.sessions() as session:
        assert list_runs(session, connection_id=seller.connection_id) == []
    assert not seller.oracle_numbers()


def test_a_failing_connection_does_not_stop_the_others(sim_seller: Factory, tmp_path: Path) -> None:
    seller = sim_seller(orders=40)
    seller.rt.clock = Clock(datetime.now(UTC) - timedelta(hours=2))
    from ml_connector.run.demo import SimEndpoints

    broken = simulator_config(
        SimEndpoints(amazon=seller.amazon.base_url, oracle=seller.oracle.base_url),
        catalog=tmp_path / "deleted-catalog.csv",  # the mapping file has gone missing
        charges=seller.workdir / "charges.toml",
    )
    with seller.rt.sessions() as session, session.begin():
        add_simulator_connection(session, seller.rt.require_keyring(), "a-broken", broken)
    reports: list[Any] = []
    assert Scheduler(seller.rt).tick(reports.append) == 1
    assert [r.connection for r in reports] == ["demo"]
    assert seller.documents(), "the healthy seller was synced"
