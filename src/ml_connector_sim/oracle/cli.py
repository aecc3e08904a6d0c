"""``ml-connector sim oracle``: serve the Oracle Fusion simulator on loopback until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ml_connector_sim.oracle.context import SimOptions
from ml_connector_sim.oracle.faults import parse_fault
from ml_connector_sim.oracle.print_config import connection_toml
from ml_connector_sim.oracle.server import HOST, build_server
from ml_connector_sim.oracle.tenant import SetupError, default_setup, load_setup

DEFAULT_PORT = 8100  # the Amazon simulator's is 8600: both can run side by side


def serve(
    port: int = typer.Option(DEFAULT_PORT, help="TCP port on 127.0.0.1."),
    setup: Path | None = typer.Option(None, "--setup", help="Tenant setup JSON (see docs)."),
    faults: list[str] = typer.Option(
        [],
        "--faults",
        # Escaped: rich would take [@PATH] and [xTIMES|x*] for markup and drop them.
        help=escape("Fault spec KIND[=SECONDS][%PERCENT][@PATH][xTIMES|x*]; repeatable."),
    ),
    strict_auth: bool = typer.Option(False, help="Only accept the setup's OAuth clients."),
    time_scale: float = typer.Option(1.0, help="Multiplier for ESS job durations."),
    fault_seed: int | None = typer.Option(
        None, "--fault-seed", help="Seed for probabilistic faults (same draws every run)."
    ),
    print_config: bool = typer.Option(
        False,
        "--print-config",
        # Escaped: rich would take [oracle] for markup and drop it.
        help=escape(
            "Print the [oracle] TOML block of a connection to this simulator (its port, the "
            "setup's business unit, ledger, sources and types, accepted credentials) and exit."
        ),
    ),
) -> None:
    """Start the Oracle Fusion simulator (identity domain, REST, FBDI imports, ESS jobs).

    The token endpoint is /oauth2/v1/token, REST is under /fscmRestApi/resources/11.13.18.05,
    FBDI imports go through .../erpintegrations (docs/oracle-setup.md).

    Accepted credentials: any non-empty client id and client secret (client_credentials, or a
    jwt-bearer assertion signed RS256 for audience https://identity.oraclecloud.com/), unless
    --strict-auth; then only the OAuth clients of the setup file's auth.clients (the default
    setup's: client id ml-connector, client secret sim-oracle-secret). The scope must
    end with urn:opc:resource:consumer::all (or a scope the setup lists). REST also accepts
    Basic user:password under the same rule, unless the setup sets auth.allow_basic_auth false.

    Point a connection at it with oracle.base_url = "http://127.0.0.1:8100" and
    oracle.identity_domain_url = "http://127.0.0.1:8100"; --print-config prints the whole
    \\[oracle] block for the port and setup given (docs/cli.md).

    Examples:

      ml-connector sim oracle

      ml-connector sim oracle --port 8100 --setup tenant.json --strict-auth

      ml-connector sim oracle --port 8100 --print-config > oracle.toml

      ml-connector sim oracle --faults 503@receivablesInvoicesx2 --faults slow=1.5x*
    """
    try:
        tenant = load_setup(setup) if setup else default_setup()
        armed = [parse_fault(spec) for spec in faults]
    except (SetupError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if print_config:
        typer.echo(connection_toml(tenant, port=port, strict_auth=strict_auth), nl=False)
        return
    options = SimOptions(
        time_scale=time_scale, strict_auth=strict_auth, faults=armed, fault_seed=fault_seed
    )
    server, _ = build_server(tenant, options, port, log_level="info")
    typer.echo(
        f"Oracle Fusion simulator on http://{HOST}:{port} "
        f"(REST root /fscmRestApi/resources/11.13.18.05, token /oauth2/v1/token)"
    )
    server.run()
