"""``ml-connector sim amazon|oracle``: start a simulator as a real HTTP server."""

from __future__ import annotations

import typer

from ml_connector_sim.amazon.cli import serve as serve_amazon
from ml_connector_sim.oracle.cli import serve as serve_oracle

app = typer.Typer(
    help="Start a simulator of Amazon SP-API or Oracle Fusion on loopback, for tests and demos.",
    no_args_is_help=True,
)
app.command("amazon")(serve_amazon)
app.command("oracle")(serve_oracle)
