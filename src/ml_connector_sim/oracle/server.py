"""Run the simulator on loopback in a background thread, for tests, the demo and the CLI.

uvicorn is driven programmatically so the simulator can see each connection's transport: that
is what lets a fault cut the socket after the document was committed, with no response at all.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ml_connector_sim.oracle.app import Transports, create_app
from ml_connector_sim.oracle.context import SimContext, SimOptions
from ml_connector_sim.oracle.faults import Fault, FaultBook
from ml_connector_sim.oracle.state import SimState
from ml_connector_sim.oracle.tenant import TenantSetup, default_setup

HOST = "127.0.0.1"


def _tracking_protocol(transports: Transports) -> type[H11Protocol]:
    class TrackingProtocol(H11Protocol):
        """Remembers each connection's transport by peer address, for drop faults."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            peer = transport.get_extra_info("peername")
            if peer:
                transports[(peer[0], peer[1])] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            peer = self.transport.get_extra_info("peername") if self.transport else None
            if peer:
                transports.pop((peer[0], peer[1]), None)
            super().connection_lost(exc)

    return TrackingProtocol


@dataclass
class RunningSim:
    """A live simulator: where it listens and what it has booked."""

    base_url: str
    context: SimContext
    server: uvicorn.Server

    @property
    def state(self) -> SimState:
        return self.context.state

    @property
    def faults(self) -> FaultBook:
        return self.context.faults

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/v1/token"

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/fscmRestApi/resources/11.13.18.05"

    def add_fault(self, fault: Fault) -> None:
        self.context.faults.add(fault)

    def expire_tokens(self) -> None:
        self.context.identity.expire_all()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def build_server(
    setup: TenantSetup, options: SimOptions, port: int, log_level: str = "warning"
) -> tuple[uvicorn.Server, SimContext]:
    context = SimContext.build(setup, options)
    transports: dict[tuple[str, int], Any] = {}
    app = create_app(setup, options, context=context, transports=transports)
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        log_level=log_level,
        lifespan="off",
        http=_tracking_protocol(transports),
        access_log=False,
    )
    return uvicorn.Server(config), context


@contextmanager
def running_oracle_sim(
    setup: TenantSetup | None = None,
    options: SimOptions | None = None,
    *,
    port: int | None = None,
) -> Iterator[RunningSim]:
    """Serve the simulator on 127.0.0.1 (a free port unless given) until the block exits."""
    port = port or _free_port()
    server, context = build_server(setup or default_setup(), options or SimOptions(), port)
    thread = threading.Thread(target=server.run, name=f"oracle-sim-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the Oracle simulator did not start on {HOST}:{port}")
        time.sleep(0.01)
    try:
        yield RunningSim(f"http://{HOST}:{port}", context, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
