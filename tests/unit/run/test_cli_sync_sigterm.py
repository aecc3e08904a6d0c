"""SIGTERM ends `sync` as Ctrl-C does, and a lease still held says until when.

Verifier of issue 11: after `timeout` (SIGTERM) stopped a `sync`, `connection remove NAME --yes`
said "a sync of connection 'NAME' is running" until the lease expired 10 minutes later.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from typer.testing import CliRunner

from ml_connector.run.cli import app
from ml_connector.store import claim_lease, list_leases
from ml_connector_sim.oracle import parse_fault

Factory = Callable[..., Any]
runner = CliRunner()
MAIN = "from ml_connector.run.cli import main; main()"


def _owner(seller: Any) -> str | None:
    with seller.rt.sessions() as session:
        owners = [lease.owner for lease in list_leases(session, seller.connection_id)]
    return owners[0] if owners else None


def test_sigterm_stops_sync_and_releases_its_lease(sim_seller: Factory) -> None:
    seller = sim_seller(orders=20)
    seller.oracle.add_fault(parse_fault("slow=3x*"))  # every Oracle call: the sync is mid-way
    sync = subprocess.Popen(
        [sys.executable, "-c", MAIN, "sync", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    holder = f"{socket.gethostname()}:{sync.pid}"
    deadline = time.monotonic() + 60
    while _owner(seller) != holder:
        assert sync.poll() is None, sync.communicate()
        assert time.monotonic() < deadline, "the sync never took its lease"
        time.sleep(0.05)
    time.sleep(0.5)
    sync.send_signal(signal.SIGTERM)
    _, stderr = sync.communicate(timeout=60)
    assert sync.returncode == 128 + 15, stderr
    assert "Traceback" not in stderr
    assert "error: sync of 'demo' stopped by SIGTERM; its lease is released" in stderr
    assert _owner(seller) is None
    removed = runner.invoke(app, ["connection", "remove", "demo", "--yes"])
    assert "is running" not in removed.output


def test_remove_says_until_when_a_dead_syncs_lease_is_held(sim_seller: Factory) -> None:
    seller = sim_seller(orders=5)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = f"{socket.gethostname()}:{dead.pid}"
    now = datetime.now(UTC)
    with seller.rt.sessions() as session, session.begin():
        held = claim_lease(
            session, seller.connection_id, "sync", owner, timedelta(minutes=10), now=now
        )
        assert held is not None
    until = (now + timedelta(minutes=10)).strftime("%H:%M")
    result = runner.invoke(app, ["connection", "remove", "demo", "--yes"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert (
        f"a sync of connection 'demo' is running (sync held by {owner} until {until} UTC)"
        in (lines[0])
    )
    assert "holds it until then" in lines[0]
