"""Random SIGKILLs under a flaky Oracle: every document ends in Oracle exactly once.

One store and one Oracle pod live through the whole test. A sync worker is forked (so it starts
in milliseconds, with the modules already imported), SIGKILLed after a random delay, and the
next one starts at once — ``KILLS`` times — while Oracle answers 30 % of its REST calls with 429,
refuses 3 % with 503, answers 2 % of POSTs with a 500 after committing them, drops 2 % of the
connections after committing, and runs a fifth of the imports slowly. After every kill Oracle
must hold no document twice; at the end, once Oracle is calm again and the workers have caught
up, it must hold every document once and the store must say each is posted.

The fault draws and the kill delays come from seeded generators (``ML_CONNECTOR_CHAOS_SEED``), so
a failing run can be repeated. ``ML_CONNECTOR_CHAOS_KILLS`` sets the kills per round (once every
document is posted further kills hit idle workers); ``ML_CONNECTOR_CHAOS_ROUNDS`` repeats the
round with fresh books and the next seed.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from e2e_support import (
    CONNECTION,
    Books,
    amazon_options,
    closed_groups,
    refunds,
    running_books,
    shipped_orders,
    small_world,
)
from lost_submissions import set_settle

from ml_connector import context as runtime_context
from ml_connector.context import open_connection, open_runtime
from ml_connector.flow.extract.pull import pull_finances, pull_orders
from ml_connector.pipeline import planner_for, regions_and_marketplaces, sync_connection
from ml_connector.store import KEY_ENV_VAR, DocumentKind, DocumentState, make_engine
from ml_connector_sim.amazon import AmazonWorld, running_amazon_sim
from ml_connector_sim.amazon import RunningSim as AmazonSim
from ml_connector_sim.oracle import Fault, FaultKind

KILLS = int(os.environ.get("ML_CONNECTOR_CHAOS_KILLS", "20"))  # per round
ROUNDS = int(os.environ.get("ML_CONNECTOR_CHAOS_ROUNDS", "1"))  # fresh books each (SQLite)
SEED = int(os.environ.get("ML_CONNECTOR_CHAOS_SEED", "8"))
REST = "/fscmRestApi/"
SLOW_STEP = 0.05  # a slow import takes 6 steps: 0.3 s
SETTLE = 6 * SLOW_STEP + 0.3


def chaos_faults() -> list[Fault]:
    return [
        Fault(FaultKind.HTTP_429, path=REST, times=None, percent=30),
        Fault(FaultKind.HTTP_503, path=REST, times=None, percent=3),
        Fault(FaultKind.ERROR_AFTER_COMMIT, path=REST, method="POST", times=None, percent=2),
        Fault(FaultKind.DROP_AFTER_COMMIT, path=REST, times=None, percent=2),
        Fault(
            FaultKind.ESS_SLOW,
            path="erpintegrations",
            method="POST",
            times=None,
            percent=20,
            seconds=SLOW_STEP,
        ),
    ]


@pytest.fixture(scope="module")
def amazon_world() -> AmazonWorld:
    return small_world(10)  # 8 invoices, 1 credit memo, 6 journals


@pytest.fixture(scope="module")
def amazon(amazon_world: AmazonWorld) -> Iterator[AmazonSim]:
    with running_amazon_sim(amazon_world, amazon_options()) as sim:
        yield sim


def _worker(database_url: str, master_key: str) -> None:
    """The forked sync worker: a fresh runtime and fresh HTTP sessions, then one sync."""
    code = 1
    try:
        os.environ[KEY_ENV_VAR] = master_key
        # Connections inherited from the parent belong to it; this process opens its own.
        runtime_context._AMAZON_SESSIONS = runtime_context._AmazonSessions()
        rt = open_runtime(database_url, require_key=True, run_migrations=False)
        sync_connection(rt, CONNECTION)
        code = 0
    finally:
        os._exit(code)


def extract_and_plan(books: Books) -> None:
    """Read Amazon and plan, so the killed workers spend their lives posting (the crash test
    covers kills while reading Amazon)."""
    rt = books.rt
    with open_connection(rt, CONNECTION) as ctx:
        now = rt.clock()
        start = now - timedelta(days=ctx.config.cadences.initial_history_days)
        markets = regions_and_marketplaces(ctx)
        pull_orders(rt.sessions, ctx.id, ctx.amazon, markets, now=now, initial_start=start)
        pull_finances(rt.sessions, ctx.id, ctx.amazon, now=now, initial_start=start)
        planner_for(rt, ctx).plan_all()


def duplicates_in_oracle(books: Books) -> dict[str, list[str]]:
    state = books.oracle.state
    found = {
        "invoices": Counter(t.number for t in state.invoices),
        "credit_memos": Counter(t.number for t in state.credit_memos),
        "journals": Counter(b.name for b in state.journal_batches),
    }
    return {kind: sorted(n for n, c in counts.items() if c > 1) for kind, counts in found.items()}


def kill_workers(books: Books, rng: random.Random) -> tuple[int, int]:
    """Fork, let run a random while, SIGKILL; repeat. Returns (kills, workers that finished).

    A kill comes 0.3-1.5 s into a worker's life; once a worker has finished sooner than that
    (the books are nearly done, syncs get short), later kills come within 90 % of the shortest
    life seen, so every kill still lands inside a sync."""
    kills = finished = 0
    shortest = 1.5
    budget = time.monotonic() + 120
    while kills < KILLS and time.monotonic() < budget:
        books.rt.engine.dispose()  # no open store connection crosses the fork
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _worker(books.database_url, books.master_key)
        deadline = started + rng.uniform(min(0.3, shortest * 0.3), min(1.5, shortest * 0.9))
        done = 0
        while not done and time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            time.sleep(0.005)
        if not done:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            # The worker may have finished between the last look and the signal.
            done = int(not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL))
        if done:
            finished += 1
            shortest = min(shortest, time.monotonic() - started)
        else:
            kills += 1
        assert duplicates_in_oracle(books) == {"invoices": [], "credit_memos": [], "journals": []}
    return kills, finished


def test_random_sigkills_under_a_flaky_oracle_leave_each_document_once(
    tmp_path: Path, database_url: str, amazon_world: AmazonWorld, amazon: AmazonSim
) -> None:
    for round_ in range(ROUNDS):
        workdir = tmp_path / f"round{round_}"
        workdir.mkdir()
        url = database_url
        if url.startswith("sqlite:///"):
            url = f"sqlite:///{workdir / 'store.db'}"
        elif round_:
            empty_schema(url)
        one_round(workdir, url, amazon_world, amazon, seed=SEED + round_)


def empty_schema(url: str) -> None:
    """The test's own PostgreSQL database, emptied for the next round."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


def one_round(
    workdir: Path, database_url: str, amazon_world: AmazonWorld, amazon: AmazonSim, *, seed: int
) -> None:
    with running_books(workdir, amazon_world, database_url, leave_out=0, amazon=amazon) as books:
        set_settle(books, SETTLE)
        extract_and_plan(books)
        books.oracle.faults.reseed(seed)
        for fault in chaos_faults():
            books.oracle.add_fault(fault)
        kills, finished = kill_workers(books, random.Random(seed))
        fired = dict(books.oracle.faults.fired)
        under_chaos = books.oracle_counts()
        books.oracle.faults.clear()
        for _ in range(12):
            books.sync()
            if not books.unsettled():
                break
            time.sleep(SETTLE)

        assert kills >= KILLS, f"only {kills} kills ({finished} workers finished first)"
        assert fired.get(FaultKind.HTTP_429, 0) > 0, fired
        assert duplicates_in_oracle(books) == {"invoices": [], "credit_memos": [], "journals": []}
        docs = books.documents()
        assert [d.idempotency_key for d in docs if d.state is not DocumentState.POSTED] == []
        state = books.oracle.state
        invoices = {o["orderId"] for o in shipped_orders(amazon_world)}
        journals, memos = len(closed_groups(amazon_world)), len(refunds(amazon_world))
        assert {t.number for t in state.invoices} == invoices
        assert len(state.journal_batches) == journals
        assert len(state.credit_memos) == memos
        assert state.interface_errors == []
        posted = Counter(d.kind for d in docs)
        assert posted[DocumentKind.INVOICE] == len(invoices)
        assert posted[DocumentKind.JOURNAL] == journals
        assert posted[DocumentKind.CREDIT_MEMO] == memos
        print(
            f"chaos seed {seed}: {kills} kills, {finished} finished workers, Oracle held "
            f"{under_chaos} (invoices, credit memos, batches) when the kills stopped; "
            f"faults fired {fired}"
        )
