"""`ml-connector sim amazon`: serve the SP-API simulator on loopback."""

from __future__ import annotations

from pathlib import Path

import typer
import uvicorn
from rich.markup import escape

from ml_connector_sim.amazon.app import create_app
from ml_connector_sim.amazon.catalog import write_catalog_csv
from ml_connector_sim.amazon.context import SimOptions
from ml_connector_sim.amazon.faults import FAULTS_HELP, parse_faults
from ml_connector_sim.amazon.generator import GeneratorParams, generate_world
from ml_connector_sim.amazon.marketplaces import DEFAULT_CODES
from ml_connector_sim.amazon.print_config import connection_toml
from ml_connector_sim.amazon.scenario import ScenarioError, load_scenario, save_scenario
from ml_connector_sim.amazon.world import seller_catalog

DEFAULT_PORT = 8600  # the Oracle simulator's is 8100: both can run side by side


def serve(
    port: int = typer.Option(DEFAULT_PORT, help="TCP port on 127.0.0.1."),
    scenario: Path | None = typer.Option(
        None, help="Scenario JSON file (docs/scenario.md). Without it a seller is generated."
    ),
    seed: int = typer.Option(1, help="Seed of the generated seller: same seed, same world."),
    orders: int = typer.Option(500, help="Number of generated orders."),
    days: int = typer.Option(30, help="Days of generated history before now."),
    marketplaces: str = typer.Option(
        ",".join(DEFAULT_CODES), help="Comma-separated marketplace codes to sell on."
    ),
    faults: str = typer.Option("", help=FAULTS_HELP),
    strict: bool = typer.Option(
        False, help="Accept only the LWA credentials listed in the scenario."
    ),
    time_scale: float = typer.Option(
        1.0, help="Speed-up of rate-limit refills and report processing (1000 = fast tests)."
    ),
    write_catalog: Path | None = typer.Option(
        None, help="Write the seller's catalog (sku,asin,title,...) as CSV, then serve."
    ),
    write_scenario: Path | None = typer.Option(
        None, help="Write the world as a scenario file, then serve."
    ),
    exit_after_write: bool = typer.Option(
        False, "--exit-after-write", help="Only write the requested files; do not serve."
    ),
    print_config: bool = typer.Option(
        False,
        "--print-config",
        # Escaped: rich would take [amazon] for markup and drop it.
        help=escape(
            "Print the [amazon] TOML block of a connection to this simulator (its port, "
            "marketplaces and accepted credentials) and exit without serving."
        ),
    ),
) -> None:
    """Serve an Amazon SP-API look-alike on 127.0.0.1.

    LWA is at /auth/o2/token; SP-API routes are at the root (all regions) and under /na, /eu,
    /fe (one region each).

    Accepted credentials: any non-empty LWA client id, client secret and refresh token, unless
    --strict. With --strict only those the scenario lists; a generated world lists client id
    amzn1.application-oa2-client.simulator, client secret sim-client-secret and the refresh
    tokens Atzr|sim-refresh-token-na (-eu, -fe).

    Point a connection at it with amazon.base_urls = {NA = "http://127.0.0.1:8600/na"} (/eu,
    /fe), amazon.lwa_token_url = "http://127.0.0.1:8600/auth/o2/token" and, with
    --time-scale N, amazon.rate_limit_scale = N; --print-config prints that block for the
    options given (docs/cli.md).

    Examples:

      ml-connector sim amazon --port 8600

      ml-connector sim amazon --port 8600 --seed 7 --orders 2000 --days 90

      ml-connector sim amazon --port 8600 --scenario seller.json --strict

      ml-connector sim amazon --port 8600 --faults throttle=0.2,errors=0.05,late-postings

      ml-connector sim amazon --port 8600 --print-config > amazon.toml

      ml-connector sim amazon --write-catalog catalog.csv --write-scenario seller.json
      --exit-after-write
    """
    try:
        if scenario is not None:
            world = load_scenario(scenario)
        else:
            codes = tuple(c.strip() for c in marketplaces.split(",") if c.strip())
            world = generate_world(
                GeneratorParams(seed=seed, orders=orders, days=days, marketplaces=codes)
            )
        fault_options = parse_faults(faults, seed=seed)
    except (ScenarioError, KeyError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if print_config:
        typer.echo(
            connection_toml(world, port=port, time_scale=time_scale, strict=strict), nl=False
        )
        return
    if write_catalog is not None:
        write_catalog_csv(seller_catalog(world), write_catalog)
        typer.echo(f"catalog written to {write_catalog}")
    if write_scenario is not None:
        save_scenario(world, write_scenario)
        typer.echo(f"scenario written to {write_scenario}")
    if exit_after_write:
        return
    options = SimOptions(strict_credentials=strict, time_scale=time_scale, faults=fault_options)
    app = create_app(world, options)
    typer.echo(
        f"Amazon SP-API simulator on http://127.0.0.1:{port} "
        f"({len(world.orders)} orders, {len(world.groups)} settlement groups)"
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
