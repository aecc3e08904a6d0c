"""SIGKILL a sync at 22 points, run it again: Oracle holds every document exactly once.

Each case runs `sync_runner.py` in a subprocess with ``ML_CONNECTOR_CRASH_AT`` against a fresh
SQLite store and a fresh Oracle simulator, checks the process really died by SIGKILL, then syncs
again in this process until no document is left `sending`/`retry`/`planned`. The Amazon simulator
(seed 7, 60 orders, every SKU mapped) is shared by the module; so is a clean, uncrashed baseline.

To keep the loop cheap, cases that crash while posting start from a store in which extract and
plan already ran (a copied SQLite file): their sync re-reads Amazon, plans nothing new and posts.
Cases that crash in extract or plan start from an empty store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from e2e_support import (
    CONNECTION,
    Books,
    amazon_options,
    closed_groups,
    duplicates,
    running_books,
    shipped_orders,
    small_world,
)

from ml_connector.context import open_connection
from ml_connector.flow.extract.pull import pull_finances, pull_orders
from ml_connector.pipeline import planner_for, regions_and_marketplaces
from ml_connector.run.crashpoints import ENV_VAR as CRASH_ENV
from ml_connector.store import KEY_ENV_VAR, DocumentKind, DocumentState
from ml_connector_sim.amazon import AmazonWorld, running_amazon_sim
from ml_connector_sim.amazon import RunningSim as AmazonSim

RUNNER = Path(__file__).with_name("sync_runner.py")

# Per clean sync of this world: 3 order pages, 1 order cursor, 3 group pages, 9 transaction
# groups, 56 invoices, 4 credit memos (one AutoInvoice import), 8 journals (one import each);
# `post.before_recording` counts invoices 1-56, credit memos 57-60, journals 61-68.
CRASH_POINTS = [
    "extract.orders.page_committed",
    "extract.orders.page_committed:3",
    "extract.orders.cursor_committed",
    "extract.groups.committed:2",
    "extract.transactions.group_committed:5",
    "plan.orders_committed",
    "post.invoice.sending_committed",
    "post.invoice.sending_committed:20",
    "post.invoice.oracle_accepted",
    "post.before_recording",
    "post.before_recording:25",
    "post.invoice.recorded:10",
    "post.credit_memo.sending_committed",
    "post.credit_memos.submitted",
    "post.credit_memos.oracle_accepted",
    "post.before_recording:58",
    "post.credit_memo.recorded:2",
    "post.journal.sending_committed",
    "post.journals.submitted:3",
    "post.journals.oracle_accepted",
    "post.before_recording:64",
    "post.journal.recorded:5",
]


@dataclass(frozen=True)
class Ledger:
    invoices: frozenset[str]
    credit_memos: frozenset[str]
    batches: frozenset[str]


def ledger_of(books: Books) -> Ledger:
    state = books.oracle.state
    invoices = [t.number for t in state.invoices]
    memos = [t.number for t in state.credit_memos]
    batches = [b.name for b in state.journal_batches]
    assert duplicates(invoices) == [], "an invoice number is in Oracle twice"
    assert duplicates(memos) == [], "a credit memo number is in Oracle twice"
    assert duplicates(batches) == [], "a journal batch name is in Oracle twice"
    return Ledger(frozenset(invoices), frozenset(memos), frozenset(batches))


def posted_in_store(books: Books) -> Ledger:
    docs = books.documents()
    assert all(d.state is DocumentState.POSTED for d in docs), [
        (d.idempotency_key, d.state.value, d.last_error)
        for d in docs
        if d.state is not DocumentState.POSTED
    ]

    def numbers(kind: DocumentKind) -> frozenset[str]:
        return frozenset(str(d.oracle_number) for d in docs if d.kind is kind)

    return Ledger(
        numbers(DocumentKind.INVOICE),
        numbers(DocumentKind.CREDIT_MEMO),
        numbers(DocumentKind.JOURNAL),
    )


@pytest.fixture(scope="module")
def world() -> AmazonWorld:
    return small_world(60)


@pytest.fixture(scope="module")
def amazon(world: AmazonWorld) -> Iterator[AmazonSim]:
    with running_amazon_sim(world, amazon_options()) as sim:
        yield sim


@pytest.fixture(scope="module")
def baseline(
    world: AmazonWorld, amazon: AmazonSim, tmp_path_factory: pytest.TempPathFactory
) -> Ledger:
    """The books after one uncrashed sync: what every crashed run must end with."""
    workdir = tmp_path_factory.mktemp("baseline")
    url = f"sqlite:///{workdir / 'store.db'}"
    with running_books(workdir, world, url, leave_out=0, amazon=amazon) as books:
        books.sync()
        ledger = ledger_of(books)
        assert posted_in_store(books) == ledger
    assert ledger.invoices == {o["orderId"] for o in shipped_orders(world)}
    assert len(ledger.invoices) == 56
    assert len(ledger.credit_memos) == 4
    assert len(ledger.batches) == len(closed_groups(world)) == 8
    return ledger


@dataclass(frozen=True)
class Template:
    path: Path
    master_key: str


@pytest.fixture(scope="module")
def planned_store(
    world: AmazonWorld, amazon: AmazonSim, tmp_path_factory: pytest.TempPathFactory
) -> Template:
    """A store where extract and plan ran (the first half of `run_cycle`) and nothing posted."""
    workdir = tmp_path_factory.mktemp("planned")
    url = f"sqlite:///{workdir / 'store.db'}"
    with running_books(workdir, world, url, leave_out=0, amazon=amazon) as books:
        rt = books.rt
        with open_connection(rt, CONNECTION) as ctx:
            now = rt.clock()
            start = now - timedelta(days=ctx.config.cadences.initial_history_days)
            markets = regions_and_marketplaces(ctx)
            pull_orders(rt.sessions, ctx.id, ctx.amazon, markets, now=now, initial_start=start)
            pull_finances(rt.sessions, ctx.id, ctx.amazon, now=now, initial_start=start)
            planned = planner_for(rt, ctx).plan_all()
        assert sum(planned.planned.values()) == 68
        master_key = books.master_key
    return Template(workdir / "store.db", master_key)


def sync_until_settled(books: Books) -> list[dict[str, object]]:
    """Sync again until nothing is in flight; an import that may still land waits a moment."""
    for _ in range(8):
        report = books.sync()
        if not books.unsettled():
            return report.reconciliation
        time.sleep(0.4)
    raise AssertionError(
        f"still unsettled: {[(d.idempotency_key, d.state) for d in books.unsettled()]}"
    )


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_sigkill_at_any_step_then_rerun_books_each_document_once(
    point: str,
    tmp_path: Path,
    world: AmazonWorld,
    amazon: AmazonSim,
    baseline: Ledger,
    planned_store: Template,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    template = planned_store if point.startswith("post.") else None
    with running_books(
        tmp_path,
        world,
        url,
        leave_out=0,
        amazon=amazon,
        template=template.path if template else None,
        master_key=template.master_key if template else None,
    ) as books:
        env = {**os.environ, KEY_ENV_VAR: books.master_key, CRASH_ENV: point}
        crashed = subprocess.run(
            [sys.executable, str(RUNNER), url, CONNECTION],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert crashed.returncode == -signal.SIGKILL, (
            f"{point}: exit {crashed.returncode}, not SIGKILL; "
            f"stderr: {crashed.stderr.decode(errors='replace')[-800:]}"
        )
        before = ledger_of(books)
        assert before.invoices <= baseline.invoices

        # The killed worker's lease names a process of this host that no longer exists: the
        # next sync takes the lease over at once instead of waiting for it to expire.
        reconciliation = sync_until_settled(books)

        after = ledger_of(books)
        assert after == baseline, f"{point}: Oracle differs from the uncrashed books"
        assert posted_in_store(books) == after
        assert len(reconciliation) == len(baseline.batches)
        assert all(Decimal(str(r["variance"])) == 0 for r in reconciliation)
