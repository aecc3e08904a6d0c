"""Acceptance (issue 11): Oracle stopped mid-sync. `ml-connector sync` returns within 60 s of
Oracle going away, with exit code 4 (documents left for the next cycle) and the reason in one
line; nothing is lost or marked rejected; once Oracle is back the next sync posts the rest, and
Oracle holds every document exactly once.

The sync runs as the admin runs it, in a process of its own; the Oracle simulator runs in this
one, so the test can stop its listener (its port then refuses connections) the moment the third
invoice lands, and serve the same books again afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from ml_connector.store import DocumentKind, DocumentState, RunStatus, list_runs
from ml_connector_sim.oracle import Fault, FaultKind
from sim_outage import port_of, restarted, stop

Seller = Any
Factory = Callable[..., Seller]


def sync_process() -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "ml_connector", "sync", "demo", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def answer_of(stdout: str) -> dict[str, Any]:
    (line,) = stdout.strip().splitlines()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def stop_when_invoices(seller: Seller, count: int, stopped: list[float]) -> threading.Thread:
    """Watch the simulated ledger; stop Oracle once it holds ``count`` invoices."""

    def watch() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if len(seller.oracle.state.invoices) >= count:
                stop(seller.oracle)
                stopped.append(time.monotonic())
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_oracle_stopped_mid_sync_returns_code_4_and_the_next_sync_posts_the_rest_once(
    sim_seller: Factory,
) -> None:
    seller = sim_seller(orders=40)
    # Each invoice POST takes 0.2 s, so the stop lands while invoices are being posted.
    seller.oracle.add_fault(
        Fault(FaultKind.SLOW, path="receivablesInvoices", method="POST", times=None, seconds=0.2)
    )
    stopped: list[float] = []
    stop_when_invoices(seller, 3, stopped)

    first = sync_process()
    stdout, stderr = first.communicate(timeout=300)
    ended = time.monotonic()
    assert stopped, "Oracle was never stopped: the sync posted fewer than 3 invoices"
    assert ended - stopped[0] < 60, f"sync took {ended - stopped[0]:.0f} s after Oracle stopped"
    assert first.returncode == 4, stdout + stderr
    assert "Traceback" not in stdout + stderr

    answer = answer_of(stdout)
    documents = seller.documents()
    unsettled = [d for d in documents if d.state is not DocumentState.POSTED]
    assert answer["rejected"] == 0
    assert not [d for d in documents if d.state is DocumentState.REJECTED]
    assert unsettled, "Oracle stopped after the whole outbox was posted"
    assert answer["left_for_next_cycle"] == len(unsettled)
    port = port_of(seller.oracle)
    assert answer["oracle_unreachable"] == (
        f"Oracle unreachable: cannot reach 127.0.0.1:{port}: connection refused (nothing "
        f"listens on that port) — {len(unsettled)} documents left for the next cycle"
    )
    assert {d.state for d in unsettled} <= {
        DocumentState.PLANNED,
        DocumentState.RETRY,
        DocumentState.SENDING,
    }
    with seller.rt.sessions() as session:
        (run,) = list_runs(session, connection_id=seller.connection_id)
        assert run.status is RunStatus.PARTIAL
        assert run.error == answer["oracle_unreachable"]

    seller.oracle.faults.clear()
    with restarted(seller.oracle):
        second = sync_process()
        stdout, stderr = second.communicate(timeout=300)
    # Nothing left and nothing rejected: 0, or 3 when records wait in the review queue.
    assert second.returncode in (0, 3), stdout + stderr
    again = answer_of(stdout)
    assert again["left_for_next_cycle"] == 0
    assert again["oracle_unreachable"] is None

    documents = seller.documents()
    assert {d.state for d in documents} == {DocumentState.POSTED}
    numbers = seller.oracle_numbers()
    assert all(count == 1 for count in numbers.values()), numbers.most_common(3)
    receivables = {d.oracle_number for d in documents if d.kind is not DocumentKind.JOURNAL}
    assert receivables == set(numbers)
    batches = Counter(b.name for b in seller.oracle.state.journal_batches)
    journals = [d for d in documents if d.kind is DocumentKind.JOURNAL]
    assert set(batches) == {str(d.payload["batch_name"]) for d in journals}
    assert set(batches.values()) == {1}
