"""An import whose answer was lost is waited out and looked up, never submitted twice.

Every ``importBulkData`` POST lands in Oracle, runs slowly and loses its answer; the operator
re-runs ``sync`` at once (or the worker is killed and a new one starts). The re-run test gives
the connector and Oracle one clock that only the test moves, so the re-run comes while the
imports run however busy the machine is; the kill test runs on real time. Oracle must end with
each settlement journal and each credit memo once, and no rejected row left in its interface
tables, on SQLite and on PostgreSQL. ``bench/bench_lost_submissions.py`` runs the same scenario
20+ times on real time with the 6-second import; CI runs the re-run 3 times per database with
the 6-second import on a manual clock, and the kill once per database with a 0.9-second import
on real time (``ML_CONNECTOR_E2E_SLOW_ESS_STEP`` sets its step: six steps per import).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import amazon_options
from lost_submissions import (
    Figures,
    ManualClock,
    killed_after_lost_answer,
    rerun_at_once,
    world,
)

from ml_connector_sim.amazon import AmazonWorld, running_amazon_sim
from ml_connector_sim.amazon import RunningSim as AmazonSim

# Seconds per ESS step of a slow import (six steps): on the shared manual clock the re-run test
# affords Oracle's 6 seconds; the kill test runs on real time and keeps CI short with 0.9 s.
MANUAL_STEP = 1.0
STEP = float(os.environ.get("ML_CONNECTOR_E2E_SLOW_ESS_STEP", "0.15"))


@pytest.fixture(scope="module")
def amazon_world() -> AmazonWorld:
    return world()


@pytest.fixture(scope="module")
def amazon(amazon_world: AmazonWorld) -> Iterator[AmazonSim]:
    with running_amazon_sim(amazon_world, amazon_options()) as sim:
        yield sim


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    """Shared by the module's re-run tests; it only ever moves forward."""
    return ManualClock()


@pytest.fixture(scope="module")
def amazon_on_clock(amazon_world: AmazonWorld, clock: ManualClock) -> Iterator[AmazonSim]:
    with running_amazon_sim(amazon_world, amazon_options(clock=clock)) as sim:
        yield sim


def assert_clean(figures: Figures) -> None:
    assert figures.duplicate_journals == [], f"journal batches imported twice: {figures}"
    assert figures.duplicate_credit_memos == [], f"credit memos imported twice: {figures}"
    assert figures.interface_rows == 0, f"rows left in the AutoInvoice interface: {figures}"
    assert figures.unsettled == [], f"documents still in flight: {figures}"
    assert figures.journals == figures.expected_journals, figures
    assert figures.credit_memos == figures.expected_credit_memos, figures


@pytest.mark.parametrize("repetition", range(3))
def test_rerun_while_lost_imports_run_submits_nothing_twice(
    repetition: int,
    tmp_path: Path,
    database_url: str,
    amazon_world: AmazonWorld,
    amazon_on_clock: AmazonSim,
    clock: ManualClock,
) -> None:
    after_rerun, final = rerun_at_once(
        tmp_path, amazon_world, database_url, MANUAL_STEP, amazon_on_clock, clock=clock
    )
    # The re-run came while every import was still running: it must have waited, not resent.
    assert after_rerun.duplicate_journals == []
    assert after_rerun.duplicate_credit_memos == []
    assert after_rerun.imports_submitted == 1 + after_rerun.expected_journals
    assert after_rerun.unsettled, "the re-run should still be waiting for the slow imports"
    assert_clean(final)
    assert final.imports_submitted == 1 + final.expected_journals, final


def test_worker_killed_after_a_lost_answer_recovers_without_resubmitting(
    tmp_path: Path,
    database_url: str,
    amazon_world: AmazonWorld,
    amazon: AmazonSim,
) -> None:
    # Killed right after the second journal import's answer was lost (the credit-memo file's
    # and the first journal's were lost before it); the bench also kills at the credit-memo
    # file and between an answered submission and its record.
    final = killed_after_lost_answer(
        tmp_path, amazon_world, database_url, STEP, amazon, point="post.journals.unconfirmed:2"
    )
    assert_clean(final)
    assert final.imports_submitted == 1 + final.expected_journals, final
