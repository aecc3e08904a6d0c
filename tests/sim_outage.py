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
from ml_connector_sim.oracle.state import SimState


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


@contextmanager
def silent(sim: RunningSim) -> Iterator[list[socket.socket]]:
    """Stop the simulator and listen on its port without ever answering, as a hung pod or a
    proxy in front of a dead one does: connections are accepted, no byte comes back. Yields the
    accepted connections (one per request that reached the port)."""
    stop(sim)
    held: list[socket.socket] = []
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port_of(sim)))
    listener.listen(64)

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:  # the listener was closed
                return

    thread = threading.Thread(target=accept, name="oracle-silent", daemon=True)
    thread.start()
    try:
        yield held
    finally:
        # shutdown wakes the blocked accept(); close alone leaves the port bound meanwhile.
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=5)
        for conn in held:
            conn.close()


@contextmanager
def restarted_empty(sim: RunningSim) -> Iterator[RunningSim]:
    """Serve the simulator again on the same port with empty books whose ids start over, as a
    refreshed (or restored) Oracle pod does. Stops it first if it is still serving."""
    if not refuses(port_of(sim)):
        stop(sim)
    sim.context.state = SimState(sim.state.clock)
    with restarted(sim):
        yield sim
