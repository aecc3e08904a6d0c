"""Shared fixtures: where the official reference material lives, free loopback ports, and the
check that no failing CLI invocation of the suite prints a traceback (issue 11)."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ml_connector.context import ConnectionContext, Runtime, open_connection, open_runtime
from ml_connector.flow.extract.pull import pull_finances, pull_orders
from ml_connector.flow.plan import PlanSummary
from ml_connector.pipeline import (
    SyncReport,
    planner_for,
    regions_and_marketplaces,
    sync_connection,
)
from ml_connector.run.demo import (
    DEMO_TIME_SCALE,
    SimEndpoints,
    add_simulator_connection,
    prepare_mappings,
    simulator_config,
)
from ml_connector.store import (
    Document,
    DocumentKind,
    ReviewItem,
    ReviewKind,
    get_connection,
    list_documents,
    list_review_items,
)
from ml_connector_sim.amazon import (
    AmazonWorld,
    GeneratorParams,
    generate_world,
    running_amazon_sim,
    seller_catalog,
    write_catalog_csv,
)
from ml_connector_sim.amazon import RunningSim as AmazonSim
from ml_connector_sim.amazon import SimOptions as AmazonOptions
from ml_connector_sim.oracle import RunningSim as OracleSim
from ml_connector_sim.oracle import SimOptions as OracleOptions
from ml_connector_sim.oracle import default_setup, running_oracle_sim

ROOT = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = ROOT.parent / "shared" / "reference"
REFERENCE_ABSENT = "../shared/reference is absent"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in the run's summary how many tests did not run for want of ../shared/reference."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if REFERENCE_ABSENT in str(getattr(report, "longrepr", ""))
    ]
    if skipped or not SHARED_REFERENCE.is_dir():
        terminalreporter.write_line(
            f"official reference material: {SHARED_REFERENCE} absent, "
            f"{len(skipped)} test(s) that read it did not run"
        )
    else:
        terminalreporter.write_line(
            f"official reference material: read from {SHARED_REFERENCE} (0 tests skipped for it)"
        )


@pytest.fixture(scope="session")
def sp_api_models() -> Path:
    """The official SP-API models; tests that need them skip with a message where absent."""
    path = SHARED_REFERENCE / "sp-api"
    if not path.is_dir():
        pytest.skip(f"official SP-API models not found at {path} ({REFERENCE_ABSENT})")
    return path


@pytest.fixture(scope="session")
def oracle_reference() -> Path:
    """Oracle reference shapes (GL interface column order, ESS shapes)."""
    path = SHARED_REFERENCE / "oracle"
    if not path.is_dir():
        pytest.skip(f"Oracle reference files not found at {path} ({REFERENCE_ABSENT})")
    return path


# -- no traceback on a failing command ----------------------------------------------------------

TRACEBACK = "Traceback"


@dataclass
class TracebackGuard:
    """Every CLI invocation of a test (``CliRunner.invoke`` and ``subprocess.run`` of
    ``ml-connector``/``python -m ml_connector``) that exits non-zero without ``--debug`` and
    printed "Traceback", or ended in an exception typer did not turn into an exit code (which a
    real run prints as a traceback), is recorded in ``violations``; the test then fails."""

    violations: list[str] = field(default_factory=list)

    @staticmethod
    def _debug(args: Any, env: Any) -> bool:
        """--debug asks for the traceback; so does a debug-level log (it carries them)."""
        words = " ".join([args] if isinstance(args, str) else [str(a) for a in args or ()])
        words = words.replace("--log-level=", "--log-level ").lower()
        environment = {**os.environ, **(env or {})}
        return (
            "--debug" in words.split()
            or "--log-level debug" in words
            or bool(environment.get("ML_CONNECTOR_DEBUG"))
            or (environment.get("ML_CONNECTOR_LOG_LEVEL") or "").lower() == "debug"
        )

    def check_result(self, args: Any, env: Any, result: Any) -> None:
        if result.exit_code == 0 or self._debug(args, env):
            return
        printed = result.output + (getattr(result, "stderr", "") or "")
        raised = result.exception
        if raised is not None and not isinstance(raised, SystemExit):
            self.violations.append(
                f"`{args}` ended in an unhandled {type(raised).__name__}: {raised}"
            )
        elif TRACEBACK in printed:
            self.violations.append(f"`{args}` exited {result.exit_code} printing a traceback")

    @staticmethod
    def is_cli(args: Any) -> bool:
        words = [args] if isinstance(args, str) else [str(a) for a in args or ()]
        return any(
            w == "ml_connector" or w.endswith("ml-connector") or w == "ml-connector" for w in words
        )

    def check_process(self, args: Any, env: Any, completed: Any) -> None:
        if completed.returncode == 0 or not self.is_cli(args) or self._debug(args, env):
            return
        printed = ""
        for stream in (completed.stdout, completed.stderr):
            if isinstance(stream, bytes):
                printed += stream.decode(errors="replace")
            elif isinstance(stream, str):
                printed += stream
        if TRACEBACK in printed:
            self.violations.append(f"`{args}` exited {completed.returncode} printing a traceback")


@pytest.fixture(autouse=True)
def traceback_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[TracebackGuard]:
    """The :class:`TracebackGuard` of this test (autouse: every test is checked). A test that
    provokes a violation on purpose clears ``violations`` itself."""
    guard = TracebackGuard()
    invoke = CliRunner.invoke
    run = subprocess.run

    def guarded_invoke(self: CliRunner, app: Any, args: Any = None, *a: Any, **kw: Any) -> Any:
        result = invoke(self, app, args, *a, **kw)
        guard.check_result(args, kw.get("env"), result)
        return result

    def guarded_run(*popenargs: Any, **kwargs: Any) -> Any:
        completed = run(*popenargs, **kwargs)
        args = popenargs[0] if popenargs else kwargs.get("args")
        guard.check_process(args, kwargs.get("env"), completed)
        return completed

    monkeypatch.setattr(CliRunner, "invoke", guarded_invoke)
    monkeypatch.setattr(subprocess, "run", guarded_run)
    yield guard
    if guard.violations:
        pytest.fail(
            "a failing command printed a traceback (issue 11: one line, never a traceback):\n"
            + "\n".join(guard.violations),
            pytrace=False,
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- an in-process seller: both simulators on loopback, a tmp SQLite store, one connection -----


@dataclass
class SimSeller:
    """A generated seller wired to the connector the way an operator would wire it.

    ``rt`` is a runtime on the store in ``$ML_CONNECTOR_HOME`` (created with ``init``), so the CLI
    run in the same test sees the same database. The connection ``name`` uses the demo settings
    (``ml_connector.run.demo.simulator_config``) and a catalog mapping file that leaves the SKUs
    in ``left_out`` unmapped.
    """

    rt: Runtime
    amazon: AmazonSim
    oracle: OracleSim
    world: AmazonWorld
    workdir: Path
    catalog: Path
    left_out: list[str]
    name: str = "demo"

    @property
    def connection_id(self) -> int:
        with self.rt.sessions() as session:
            return get_connection(session, self.name).id

    def connect(self) -> AbstractContextManager[ConnectionContext]:
        return open_connection(self.rt, self.name)

    def sync(self) -> SyncReport:
        return sync_connection(self.rt, self.name)

    def extract_and_plan(self, *, plan: bool = True) -> PlanSummary:
        """Fetch from Amazon and (unless ``plan=False``) plan, without posting to Oracle."""
        with self.connect() as ctx:
            now = self.rt.clock()
            start = now - timedelta(days=ctx.config.cadences.initial_history_days)
            grouped = regions_and_marketplaces(ctx)
            pull_orders(self.rt.sessions, ctx.id, ctx.amazon, grouped, now=now, initial_start=start)
            pull_finances(self.rt.sessions, ctx.id, ctx.amazon, now=now, initial_start=start)
            return planner_for(self.rt, ctx).plan_all() if plan else PlanSummary()

    def write_mapping(self, *, leave_out: Iterable[str] = (), account: str | None = None) -> None:
        """Rewrite the catalog mapping file: every SKU but ``leave_out`` (optionally all on one
        revenue account), the way a finance user edits it."""
        skipped = set(leave_out)
        with self.catalog.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["sku", "revenue_account", "cost_center", "category", "unit_cost"])
            for entry in seller_catalog(self.world):
                if entry.sku in skipped:
                    continue
                revenue = account or ("40120" if entry.category.lower() == "kitchen" else "40110")
                writer.writerow([entry.sku, revenue, "", entry.category, entry.unit_cost or ""])
        self.left_out = sorted(skipped)

    def documents(self, kind: DocumentKind | None = None) -> list[Document]:
        with self.rt.sessions() as session:
            docs = list_documents(session, connection_id=self.connection_id, kind=kind)
            session.expunge_all()
            return list(docs)

    def review(self, kind: ReviewKind | None = None) -> list[ReviewItem]:
        with self.rt.sessions() as session:
            items = list_review_items(session, connection_id=self.connection_id, kind=kind)
            session.expunge_all()
            return list(items)

    def oracle_numbers(self) -> Counter[str]:
        """Receivables transaction numbers Oracle holds (invoices and credit memos), with counts."""
        with self.oracle.state.locked() as state:
            return Counter(t.number for t in state.transactions.values())


SellerFactory = Callable[..., SimSeller]


@pytest.fixture
def sim_seller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SellerFactory]:
    """``sim_seller(orders=60, seed=7, oracle_clients=None)`` → a ready :class:`SimSeller`.

    ``oracle_clients`` (``{client_id: secret}``) makes the simulated identity domain strict.
    """
    from ml_connector.run.cli import app

    for var in ("ML_CONNECTOR_MASTER_KEY", "ML_CONNECTOR_DATABASE_URL", "ML_CONNECTOR_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
    stack = ExitStack()

    def make(
        *, orders: int = 60, seed: int = 7, oracle_clients: dict[str, str] | None = None
    ) -> SimSeller:
        result = CliRunner().invoke(app, ["init"])
        assert result.exit_code == 0, result.output
        world = generate_world(GeneratorParams(seed=seed, orders=orders, days=30))
        setup = default_setup()
        if oracle_clients is not None:
            data = setup.model_dump(mode="json", by_alias=True)
            data["auth"]["strict"] = True
            data["auth"]["clients"] = [
                {"client_id": cid, "client_secret": secret}
                for cid, secret in oracle_clients.items()
            ]
            setup = type(setup).model_validate(data)
        amazon = stack.enter_context(
            running_amazon_sim(world, AmazonOptions(time_scale=DEMO_TIME_SCALE))
        )
        oracle = stack.enter_context(
            running_oracle_sim(setup, OracleOptions(time_scale=1 / DEMO_TIME_SCALE))
        )
        workdir = tmp_path / "seller"
        workdir.mkdir(exist_ok=True)
        write_catalog_csv(seller_catalog(world), workdir / "amazon-catalog.csv")
        catalog, charges, left_out = prepare_mappings(workdir, mapping=None)
        rt = open_runtime(require_key=True)
        stack.callback(rt.close)
        endpoints = SimEndpoints(amazon=amazon.base_url, oracle=oracle.base_url)
        config = simulator_config(endpoints, catalog=catalog, charges=charges)
        with rt.sessions() as session, session.begin():
            add_simulator_connection(session, rt.require_keyring(), "demo", config)
        return SimSeller(rt, amazon, oracle, world, workdir, catalog, left_out)

    with stack:
        yield make
