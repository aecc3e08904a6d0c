"""Both simulators on free ports, and the configuration blocks they print (`--print-config`).

Used by the tests that add a connection from a configuration a user would copy (the printed
blocks, the docs' examples) and run `connection test` on it.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from typer.testing import CliRunner

from ml_connector_sim.amazon import SimOptions, running_amazon_sim
from ml_connector_sim.amazon.generator import GeneratorParams, generate_world
from ml_connector_sim.cli import app as sim_app
from ml_connector_sim.oracle import running_oracle_sim

runner = CliRunner()


@dataclass(frozen=True)
class Sims:
    amazon_port: int
    oracle_port: int


@contextmanager
def both_simulators(*, strict_amazon: bool = True) -> Iterator[Sims]:
    """The Amazon simulator (seed 1, as `sim amazon` starts it; with ``strict_amazon`` it accepts
    only the generated world's credentials) and the Oracle simulator on its default tenant."""
    world = generate_world(GeneratorParams(seed=1, orders=40, days=10))
    with (
        running_amazon_sim(world, SimOptions(strict_credentials=strict_amazon)) as amazon,
        running_oracle_sim() as oracle,
    ):
        yield Sims(amazon.port, int(oracle.base_url.rsplit(":", 1)[1]))


def printed_config(side: str, port: int, *extra: str) -> str:
    """What `ml-connector sim SIDE --print-config --port PORT` prints (asserted to exit 0).

    The `sim` group is the simulators' own app (`ml-connector` adds it from an entry point)."""
    result = runner.invoke(sim_app, [side, "--print-config", "--port", str(port), *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def exported(block: str) -> dict[str, str]:
    """The ``export NAME=value`` lines of a printed block's comments, as the shell reads them."""
    found: dict[str, str] = {}
    for line in block.splitlines():
        words = shlex.split(line.lstrip("# ")) if line.startswith("#   export ") else []
        for word in words[1:]:
            name, _, value = word.partition("=")
            found[name] = value
    return found
