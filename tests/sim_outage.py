"""Take a running Oracle simulator off the network and bring it back with the same books, as an
admin sees a pod go down for maintenance: while it is away its port refuses connections.

Shared by the poster's outage tests (tests/unit/flow) and the CLI one (tests/e2e).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import uvicorn

from ml_connector_sim.oracle import RunningSim


def port_of(sim: RunningSim) -> int:
    port = urlsplit(sim.base_url).port
    assert port is not None
    return port


def refuses(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def stop(sim: RunningSim, timeout: float = 10.0) -> None:
    """Stop serving; returns once the port refuses connections (the books stay in memory)."""
    sim.server.should_exit = True
    deadline = time.monotonic() + timeout
    while not refuses(port_of(sim)):
        if time.monotonic() > deadline:
            raise RuntimeError("the Oracle simulator did not stop")
        time.sleep(0.02)


@contextmanager
def restarted(sim: RunningSim) -> Iterator[RunningSim]:
    """Serve the same simulator (state, faults, identity domain) on the same port again."""
    server = uvicorn.Server(sim.server.config)
    thread = threading.Thread(target=server.run, name="oracle-sim-restarted", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Oracle simulator did not start again")
        time.sleep(0.01)
    try:
        yield sim
    finally:
        server.should_exit = True
        thread.join(timeout=10)
