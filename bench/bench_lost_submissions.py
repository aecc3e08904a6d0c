"""Lost importBulkData answers, repeated: how many journals or credit memos land twice.

Each repetition starts a fresh Oracle pod and store, lets every importBulkData POST land, run
slowly and lose its answer, and then either re-runs ``sync`` at once (``rerun``) or SIGKILLs the
worker right after a lost answer and starts a new one (``kill``, at three points). It counts what
Oracle holds at the end: duplicate journal batches, duplicate credit memos, rows left in the
AutoInvoice interface, documents not posted. The scenario is ``tests/e2e/lost_submissions.py``.

``--step`` is the length of one ESS state step of a slow import (six steps: 1.0 → Oracle's
6-second import). ``--clock manual`` runs the re-run on one clock for the connector and both
simulators that only the run moves (no waiting; the re-run certainly comes mid-import);
``real`` waits it out in real time, as an operator would.

Run: .venv/bin/python bench/bench_lost_submissions.py [--runs 20] [--step 1.0]
     [--clock real|manual] [--scenario rerun|kill|both] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import structlog
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from e2e_support import amazon_options  # type: ignore[import-not-found]
from lost_submissions import (  # type: ignore[import-not-found]
    Figures,
    ManualClock,
    killed_after_lost_answer,
    rerun_at_once,
    world,
)

from ml_connector_sim.amazon import running_amazon_sim

PG_URL = os.environ.get("ML_CONNECTOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KILL_POINTS = [
    "post.journals.unconfirmed:2",
    "post.credit_memos.unconfirmed",
    "post.journals.submitted",
]


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'store.db'}"
        return
    url = make_url(PG_URL)
    name = f"mlc_bench_{uuid.uuid4().hex[:12]}"

    def admin() -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True
        )

    with admin() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def line(label: str, figures: Figures) -> str:
    return (
        f"{label:<46} dup journals {len(figures.duplicate_journals):>2}  "
        f"dup credit memos {len(figures.duplicate_credit_memos):>2}  "
        f"interface rows {figures.interface_rows:>2}  unsettled {len(figures.unsettled):>2}  "
        f"imports {figures.imports_submitted:>2}  {figures.seconds:>6.1f}s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--clock", choices=("real", "manual"), default="real")
    parser.add_argument("--scenario", choices=("rerun", "kill", "both"), default="both")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    logging.disable(logging.WARNING)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    scenarios = ["rerun", "kill"] if args.scenario == "both" else [args.scenario]
    amazon_world = world()
    totals: dict[str, list[Figures]] = {}
    started = time.monotonic()
    for scenario in scenarios:
        # The kill runs its worker in a fresh process on real time; so does its Amazon.
        clock = ManualClock() if args.clock == "manual" and scenario == "rerun" else None
        options = amazon_options(clock=clock) if clock is not None else amazon_options()
        with running_amazon_sim(amazon_world, options) as amazon:
            for kind in kinds:
                runs: list[Figures] = []
                for n in range(args.runs):
                    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
                        if scenario == "rerun":
                            _, figures = rerun_at_once(
                                Path(tmp), amazon_world, url, args.step, amazon, clock=clock
                            )
                            label = f"{kind} rerun #{n + 1}"
                        else:
                            point = KILL_POINTS[n % len(KILL_POINTS)]
                            figures = killed_after_lost_answer(
                                Path(tmp), amazon_world, url, args.step, amazon, point=point
                            )
                            label = f"{kind} kill #{n + 1} at {point}"
                    print(line(label, figures), flush=True)
                    runs.append(figures)
                totals[f"{kind} {scenario}"] = runs
    print(
        f"\nstep {args.step}s (import {6 * args.step:.1f}s), clock {args.clock}, "
        f"{time.monotonic() - started:.0f}s in all"
    )
    failed = 0
    for label, runs in totals.items():
        dup_j = sum(len(f.duplicate_journals) for f in runs)
        dup_c = sum(len(f.duplicate_credit_memos) for f in runs)
        rows = sum(f.interface_rows for f in runs)
        dirty = sum(1 for f in runs if not f.clean)
        failed += dirty
        print(
            f"{label:<18} runs {len(runs):>3}  duplicate journals {dup_j}  duplicate credit "
            f"memos {dup_c}  interface rows {rows}  runs not clean {dirty}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
