"""One cycle per connection at a time: a live holder of the sync lease makes others skip, a dead
one (a killed process on this host) is taken over at once."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from ml_connector.pipeline import Busy
from ml_connector.store import claim_lease

Factory = Callable[..., Any]


def _hold(seller: Any, owner: str) -> None:
    with seller.rt.sessions() as session, session.begin():
        token = claim_lease(session, seller.connection_id, "sync", owner, timedelta(minutes=10))
        assert token is not None


def test_a_live_worker_elsewhere_keeps_the_connection(sim_seller: Factory) -> None:
    seller = sim_seller(orders=20)
    _hold(seller, "another-host:4242")
    with pytest.raises(Busy, match="another worker"):
        seller.sync()


def test_a_dead_worker_on_this_host_is_taken_over(sim_seller: Factory) -> None:
    seller = sim_seller(orders=20)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _hold(seller, f"{socket.gethostname()}:{dead.pid}")
    report = seller.sync()
    assert sum(report.post.posted.values()) > 0
