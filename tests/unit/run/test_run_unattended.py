"""`ml-connector run` left alone for weeks (issue 11, scope 4): a key rotation does not stop it, a
broken connection rests instead of failing every 30 s, it says at start what it polls, and its
/metrics tell an operator per connection how the books are doing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from ml_connector.errors import ConfigError
from ml_connector.observability import Metrics
from ml_connector.run.cli import app
from ml_connector.run.demo import SimEndpoints, add_simulator_connection, simulator_config
from ml_connector.run.metrics import metrics_server, parse_address
from ml_connector.run.scheduler import Scheduler, is_config_problem, retry_delay
from ml_connector.store import (
    DocumentState,
    ReviewKind,
    RunStatus,
    list_runs,
)
from ml_connector_sim.oracle import Fault, FaultKind

Seller = Any
Factory = Callable[..., Seller]


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Lines:
    """What the scheduler says (stdout) and warns (stderr), line by line."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.warned: list[str] = []

    def say(self, line: str) -> None:
        self.said.append(line)

    def warn(self, line: str) -> None:
        self.warned.append(line)


def scheduler(seller: Seller, lines: Lines, metrics: Metrics | None = None, **kw: Any) -> Scheduler:
    return Scheduler(
        seller.rt,
        say=lines.say,
        warn=lines.warn,
        metrics=metrics or Metrics(CollectorRegistry()),
        **kw,
    )


def runs(seller: Seller) -> list[Any]:
    with seller.rt.sessions() as session:
        found = list_runs(session, connection_id=seller.connection_id)
        session.expunge_all()
    return sorted(found, key=lambda r: r.id)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def skus(order: dict[str, Any]) -> set[str]:
    return {str(item["product"]["sellerSku"]) for item in order.get("orderItems", [])}


def add_broken_connection(seller: Seller, tmp_path: Path, name: str = "a-broken") -> None:
    broken = simulator_config(
        SimEndpoints(amazon=seller.amazon.base_url, oracle=seller.oracle.base_url),
        catalog=tmp_path / "deleted-catalog.csv",  # the mapping file has gone missing
        charges=seller.workdir / "charges.toml",
    )
    with seller.rt.sessions() as session, session.begin():
        add_simulator_connection(session, seller.rt.require_keyring(), name, broken)


# -- key rotation while `run` is running ------------------------------------------------------


def test_key_rotation_while_run_is_running_the_next_cycle_succeeds(sim_seller: Factory) -> None:
    seller = sim_seller(orders=30)
    order = next(o for o in seller.world.orders if skus(o))
    seller.write_mapping(leave_out=skus(order))  # this order waits for its SKUs to be mapped
    clock = Clock(datetime.now(UTC) - timedelta(hours=2))
    seller.rt.clock = clock
    lines = Lines()
    running = scheduler(seller, lines, idle=timedelta(milliseconds=50))
    loop = threading.Thread(target=running.loop, daemon=True)
    loop.start()
    try:
        wait_for(
            lambda: len(runs(seller)) == 1 and runs(seller)[0].finished_at is not None, "run 1"
        )
        assert runs(seller)[0].status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
        held = [d for d in seller.documents() if d.amazon_source_id == order["orderId"]]
        assert held == [], "the order is held while its SKU is unmapped"

        rotated = CliRunner().invoke(app, ["key", "rotate", "--json"])
        assert rotated.exit_code == 0, rotated.output
        new_key = json.loads(rotated.stdout)["new_key_id"]
        seller.write_mapping()  # the finance user maps the SKU: the next cycle posts the order
        clock.advance(minutes=15)
        wait_for(
            lambda: len(runs(seller)) == 2 and runs(seller)[1].finished_at is not None, "run 2"
        )
    finally:
        running.stop()
        loop.join(timeout=60)
    second = runs(seller)[1]
    assert second.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL), second.error
    assert second.error is None
    posted = [
        d
        for d in seller.documents()
        if d.amazon_source_id == order["orderId"] and d.state is DocumentState.POSTED
    ]
    assert posted, "the second cycle (after the rotation) posted the order's invoice"
    assert posted[0].oracle_number in seller.oracle_numbers()
    assert seller.rt.require_keyring().primary.key_id == new_key
    assert f"master key rotated: now using key {new_key} (read again before this cycle)" in (
        lines.said
    )
    assert lines.warned == []


def test_key_rotate_says_what_happens_to_running_processes(sim_seller: Factory) -> None:
    sim_seller(orders=5)
    result = CliRunner().invoke(app, ["key", "rotate"])
    assert result.exit_code == 0, result.output
    assert "running `run` processes pick up the new key before their next cycle" in result.stdout


def test_a_key_from_the_environment_rotated_elsewhere_is_said_once_and_nothing_syncs(
    sim_seller: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = sim_seller(orders=5)
    home_key = Path(str(seller.rt.key_file))
    monkeypatch.setenv("ML_CONNECTOR_MASTER_KEY", home_key.read_text().strip())
    new_file = tmp_path / "next.key"
    assert CliRunner().invoke(app, ["key", "generate", "--out", str(new_file)]).exit_code == 0
    rotated = CliRunner().invoke(app, ["key", "rotate", "--new-key-file", str(new_file), "--json"])
    assert rotated.exit_code == 0, rotated.output
    new_key = json.loads(rotated.stdout)["new_key_id"]
    lines = Lines()
    waiting = scheduler(seller, lines)
    assert waiting.tick() == 0
    assert waiting.tick() == 0
    assert len(lines.warned) == 1, lines.warned
    assert f"the store's master key is now {new_key}" in lines.warned[0]
    assert "ML_CONNECTOR_MASTER_KEY" in lines.warned[0]
    assert "restart" in lines.warned[0]
    assert runs(seller) == []


def test_a_stale_key_file_stops_syncing_with_one_line_until_the_new_key_is_there(
    sim_seller: Factory,
) -> None:
    """Another machine rotated: this one's key file still holds the old key."""
    seller = sim_seller(orders=5)
    key_file = Path(str(seller.rt.key_file))
    old_text = key_file.read_text()
    old_key = seller.rt.require_keyring().primary.key_id
    rotated = CliRunner().invoke(app, ["key", "rotate", "--json"])
    assert rotated.exit_code == 0, rotated.output
    new_key = json.loads(rotated.stdout)["new_key_id"]
    new_text = key_file.read_text()
    key_file.write_text(old_text)  # the copy this machine still has
    seller.rt.clock = Clock(datetime.now(UTC) - timedelta(hours=2))
    lines = Lines()
    polling = scheduler(seller, lines)
    assert polling.tick() == 0
    assert polling.tick() == 0
    assert lines.warned == [
        f"master key: the store's master key is now {new_key} (rotated), but the key file "
        f"{key_file} holds {old_key}; put the store's key in that file (or finish the "
        "rotation); no connection is synced until it is fixed"
    ]
    assert runs(seller) == []
    key_file.write_text(new_text)  # the operator copies the new key file over
    assert polling.tick() == 1
    assert f"master key rotated: now using key {new_key} (read again before this cycle)" in (
        lines.said
    )
    assert runs(seller)[0].status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)


# -- back-off of a broken connection ----------------------------------------------------------


def test_retry_delay_doubles_from_one_minute_up_to_its_cap() -> None:
    thirty = timedelta(minutes=30)
    assert [retry_delay(n, thirty) / timedelta(minutes=1) for n in range(1, 8)] == [
        1,
        2,
        4,
        8,
        16,
        30,
        30,
    ]
    assert retry_delay(60, thirty) == thirty
    ten = timedelta(minutes=10)
    assert [retry_delay(n, ten) / timedelta(minutes=1) for n in range(1, 6)] == [1, 2, 4, 8, 10]


def test_configuration_problems_are_told_from_outages() -> None:
    from ml_connector.errors import ServerError
    from ml_connector.flow.mapping.errors import MappingError

    assert is_config_problem(ConfigError("mapping file missing"))
    assert is_config_problem(MappingError(["sku X: no revenue account"]))
    assert not is_config_problem(ServerError("Oracle answered 503", status=503))


def test_a_broken_connection_rests_longer_after_each_failure_while_the_other_syncs(
    sim_seller: Factory, tmp_path: Path
) -> None:
    seller = sim_seller(orders=20)
    add_broken_connection(seller, tmp_path)
    clock = Clock(datetime.now(UTC) - timedelta(hours=6))
    seller.rt.clock = clock
    lines = Lines()
    metrics = Metrics(CollectorRegistry())
    polling = scheduler(seller, lines, metrics)

    assert polling.tick() == 1, "the healthy connection is synced"
    assert len(lines.warned) == 1
    first = lines.warned[0]
    assert first.startswith("a-broken: sync failed (1 in a row): ")
    assert "deleted-catalog.csv" in first
    assert first.endswith(f"next try in 1 min, at {clock.now + timedelta(minutes=1):%H:%M} UTC")
    assert "\n" not in first

    clock.advance(seconds=30)
    polling.tick()
    assert len(lines.warned) == 1, "not retried 30 s later"
    clock.advance(seconds=30)
    polling.tick()
    assert len(lines.warned) == 2
    assert "(2 in a row)" in lines.warned[1]
    assert "next try in 2 min" in lines.warned[1]

    # Each further failure waits twice as long, never more than 30 minutes.
    waits = []
    for _ in range(6):
        clock.advance(minutes=30)
        polling.tick()
        waits.append(lines.warned[-1].split("next try in ")[1].split(",")[0])
    assert waits == ["4 min", "8 min", "16 min", "30 min", "30 min", "30 min"]
    assert len(lines.warned) == 8
    failures = metrics.run_failures.labels(connection="a-broken")._value.get()
    assert failures == 8
    demo_runs = runs(seller)
    assert len(demo_runs) >= 7, "the healthy connection kept its cadence meanwhile"
    assert all(r.status is not RunStatus.FAILED for r in demo_runs)


def test_an_outage_rests_at_most_one_cadence(
    sim_seller: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Oracle down is not a configuration problem: recovery is never later than the cadence
    (orders every 10 minutes for the demo connection)."""
    from ml_connector.errors import ServerError

    seller = sim_seller(orders=5)
    clock = Clock(datetime.now(UTC) - timedelta(hours=6))
    seller.rt.clock = clock
    lines = Lines()
    polling = scheduler(seller, lines)

    def down(_name: str, _streams: tuple[str, ...]) -> Any:
        raise ServerError("Oracle answered 503", status=503)

    monkeypatch.setattr(polling, "_cycle", down)
    for _ in range(6):
        polling.tick()
        clock.advance(minutes=30)
    waits = [line.split("next try in ")[1].split(",")[0] for line in lines.warned]
    assert waits == ["1 min", "2 min", "4 min", "8 min", "10 min", "10 min"]
    # The plain words `sync` uses, not the exception's class name.
    assert lines.warned[0].startswith("demo: sync failed (1 in a row): Oracle answered 503")
    assert "ServerError" not in lines.warned[0]
    # `run --once` says the failure without a "next try" that will not come.
    lines.warned.clear()
    clock.advance(minutes=60)
    polling.loop(once=True)
    assert len(lines.warned) == 1
    assert "next try" not in lines.warned[0]


def test_a_fixed_connection_is_said_to_sync_again_and_its_back_off_ends(
    sim_seller: Factory, tmp_path: Path
) -> None:
    seller = sim_seller(orders=10)
    seller.catalog.rename(tmp_path / "moved.csv")  # the mapping file disappears
    clock = Clock(datetime.now(UTC) - timedelta(hours=2))
    seller.rt.clock = clock
    lines = Lines()
    polling = scheduler(seller, lines)
    assert polling.tick() == 0
    assert "demo: sync failed (1 in a row)" in lines.warned[0]
    (tmp_path / "moved.csv").rename(seller.catalog)  # put back
    clock.advance(minutes=1)
    assert polling.tick() == 1
    assert "demo: synced again after the failures above" in lines.said
    assert len(lines.warned) == 1


# -- the start line ---------------------------------------------------------------------------


def test_run_prints_what_it_polls_where_and_its_metrics_address(sim_seller: Factory) -> None:
    seller = sim_seller(orders=10)
    seller.rt.clock = Clock(datetime.now(UTC) - timedelta(hours=2))
    lines = Lines()
    scheduler(seller, lines).run(once=True, metrics_address="127.0.0.1:0")
    start = lines.said[0]
    assert start.startswith("ml-connector ")
    assert " run: 1 connection(s): demo (orders every 10 min, finances every 15 min); " in start
    assert f"database sqlite:///{seller.rt.engine.url.database}; " in start
    key = seller.rt.require_keyring().primary.key_id
    assert f"master key {key}; " in start
    assert start.split("metrics ")[-1].startswith("http://127.0.0.1:")
    assert start.endswith("/metrics")


def test_run_once_from_the_cli_prints_the_start_line_then_the_cycle(sim_seller: Factory) -> None:
    sim_seller(orders=10)
    result = CliRunner().invoke(app, ["run", "--once"])
    lines = result.stdout.splitlines()
    assert "run: 1 connection(s): demo (orders every 10 min" in lines[0]
    assert lines[0].endswith("metrics off (--metrics-port to serve them)")
    assert any(line.startswith("demo: posted ") for line in lines[1:]), result.stdout


def test_a_busy_metrics_port_is_one_line(sim_seller: Factory) -> None:
    seller = sim_seller(orders=5)
    with metrics_server("127.0.0.1:0", seller.rt.sessions, Metrics(CollectorRegistry())) as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        result = CliRunner().invoke(app, ["run", "--once", "--metrics-port", port])
    assert result.exit_code == 2
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output


def test_metrics_addresses_are_a_port_or_host_and_port() -> None:
    assert parse_address("9464") == ("127.0.0.1", 9464)
    assert parse_address("0.0.0.0:9464") == ("0.0.0.0", 9464)
    assert parse_address("[::1]:9464") == ("::1", 9464)
    with pytest.raises(ConfigError, match="give a port"):
        parse_address("metrics")


# -- /metrics ---------------------------------------------------------------------------------


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return parse(httpx.get(url, timeout=10).text)


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_show_each_connections_documents_held_items_and_failures(
    sim_seller: Factory, tmp_path: Path
) -> None:
    seller = sim_seller(orders=40)
    order = next(o for o in seller.world.orders if skus(o))
    seller.write_mapping(leave_out=skus(order))
    add_broken_connection(seller, tmp_path)
    # Invoices fail transiently (retried next cycle), so the first import is a journal's, and
    # Oracle's import job for it fails: one journal rejected.
    seller.oracle.add_fault(
        Fault(FaultKind.HTTP_503, path="receivablesInvoices", method="POST", times=None)
    )
    seller.oracle.add_fault(Fault(FaultKind.ESS_CHILD_ERROR, path="erpintegrations", times=1))
    seller.rt.clock = Clock(datetime.now(UTC) - timedelta(hours=2))
    metrics = Metrics(CollectorRegistry())
    lines = Lines()
    assert scheduler(seller, lines, metrics).tick() == 1

    docs = seller.documents()
    by_state: dict[tuple[str, str], int] = {}
    for doc in docs:
        key = (doc.state.value, doc.kind.value)
        by_state[key] = by_state.get(key, 0) + 1
    assert by_state.get(("rejected", "journal")) == 1
    retried_invoices = by_state.get(("retry", "invoice"), 0)
    assert retried_invoices >= 1
    unmapped = len(seller.review(ReviewKind.UNMAPPED_SKU))
    assert unmapped >= 1
    (run,) = runs(seller)
    assert run.finished_at is not None

    with metrics_server("127.0.0.1:0", seller.rt.sessions, metrics) as url:
        seen = scrape(url)

    def value(name: str, **labels: str) -> float | None:
        return seen.get((name, tuple(sorted(labels.items()))))

    demo = {"connection": "demo"}
    assert value("mlc_connection_documents_rejected_total", **demo, kind="journal") == 1
    assert value("mlc_connection_documents_retried_total", **demo, kind="invoice") == (
        retried_invoices
    )
    for kind in ("invoice", "credit_memo", "journal"):
        posted = by_state.get(("posted", kind))  # none posted: no series
        assert value("mlc_connection_documents_posted_total", **demo, kind=kind) == posted
    assert value("mlc_review_items_held", **demo, cause="unmapped_sku") == unmapped
    assert value("mlc_review_items_held", **demo, cause="oracle_rejected") == 1
    assert value("mlc_review_items_held", **demo, cause="invalid_data") == 0
    assert value("mlc_review_items_held", connection="a-broken", cause="unmapped_sku") == 0
    assert value("mlc_last_successful_sync_timestamp_seconds", **demo) == (
        run.finished_at.timestamp()
    )
    assert value("mlc_last_successful_sync_timestamp_seconds", connection="a-broken") is None
    assert value("mlc_run_failures_total", connection="a-broken") == 1
    assert value("mlc_run_failures_total", **demo) is None


def test_the_dashboards_metrics_carry_the_store_gauges(sim_seller: Factory) -> None:
    from fastapi.testclient import TestClient

    from ml_connector.run.web import create_app

    seller = sim_seller(orders=20)
    seller.rt.clock = Clock(datetime.now(UTC) - timedelta(hours=2))
    report = seller.sync()
    assert report.finished is not None
    dashboard = create_app(seller.rt.sessions, metrics=Metrics(CollectorRegistry()))
    with TestClient(dashboard, base_url="http://127.0.0.1") as client:
        seen = parse(client.get("/metrics").text)
    (run,) = runs(seller)
    assert run.finished_at is not None
    last = seen[("mlc_last_successful_sync_timestamp_seconds", (("connection", "demo"),))]
    assert last == run.finished_at.timestamp()
    held = len(seller.review(ReviewKind.UNMAPPED_SKU))
    assert held >= 1
    cause = (("cause", "unmapped_sku"), ("connection", "demo"))
    assert seen[("mlc_review_items_held", cause)] == held
