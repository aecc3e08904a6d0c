"""``ml-connector sim oracle``: serve the Oracle Fusion simulator on loopback until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import typer

from ml_connector_sim.oracle.context import SimOptions
from ml_connector_sim.oracle.faults import parse_fault
from ml_connector_sim.oracle.server import HOST, build_server
from ml_connector_sim.oracle.tenant import SetupError, default_setup, load_setup


def serve(
    port: int = typer.Option(8000, help="TCP port on 127.0.0.1."),
    setup: Path | None = typer.Option(None, "--setup", help="Tenant setup JSON (see docs)."),
    faults: list[str] = typer.Option(
        [], "--faults", help="Fault spec KIND[=SECONDS][%PERCENT][@PATH][xTIMES|x*]; repeatable."
    ),
    strict_auth: bool = typer.Option(False, help="Only accept the setup's OAuth clients."),
    time_scale: float = typer.Option(1.0, help="Multiplier for ESS job durations."),
    fault_seed: int | None = typer.Option(
        None, "--fault-seed", help="Seed for probabilistic faults (same draws every run)."
    ),
) -> None:
    """Start the Oracle Fusion simulator (identity domain, REST, FBDI imports, ESS jobs)."""
    try:
        tenant = load_setup(setup) if setup else default_setup()
        armed = [parse_fault(spec) for spec in faults]
    except (SetupError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    options = SimOptions(
        time_scale=time_scale, strict_auth=strict_auth, faults=armed, fault_seed=fault_seed
    )
    server, _ = build_server(tenant, options, port, log_level="info")
    typer.echo(
        f"Oracle Fusion simulator on http://{HOST}:{port} "
        f"(REST root /fscmRestApi/resources/11.13.18.05, token /oauth2/v1/token)"
    )
    server.run()
