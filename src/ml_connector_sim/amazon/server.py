"""Run the simulator on a free loopback port in a background thread, for tests and the demo."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from ml_connector_sim.amazon.app import create_app
from ml_connector_sim.amazon.context import SimContext, SimOptions
from ml_connector_sim.amazon.generator import GeneratorParams, generate_world
from ml_connector_sim.amazon.world import AmazonWorld


@dataclass(frozen=True)
class RunningSim:
    """A started simulator. `base_url` serves every region; `region_url("eu")` one region."""

    base_url: str
    port: int
    app: FastAPI
    world: AmazonWorld

    @property
    def context(self) -> SimContext:
        """Runtime state (issued tokens, reports): tests use it to force faults such as expiry."""
        context = self.app.state.sim
        assert isinstance(context, SimContext)
        return context

    def region_url(self, region: str) -> str:
        return f"{self.base_url}/{region}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/auth/o2/token"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_amazon_sim(
    world: AmazonWorld | None = None,
    options: SimOptions | None = None,
    port: int | None = None,
) -> Iterator[RunningSim]:
    """Serve the simulator on 127.0.0.1 until the block ends.

    Without a world, a small default seller is generated (seed 1, 60 orders, 30 days).

        with running_amazon_sim(world, SimOptions(time_scale=1000)) as sim:
            httpx.post(sim.token_url, data={...})
    """
    world = world or generate_world(GeneratorParams(seed=1, orders=60, days=30))
    app = create_app(world, options)
    port = port or _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"amazon-sim-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the Amazon simulator did not start on 127.0.0.1:{port}")
        time.sleep(0.01)
    try:
        yield RunningSim(f"http://127.0.0.1:{port}", port, app, world)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
