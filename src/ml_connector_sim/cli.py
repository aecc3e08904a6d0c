"""``ml-connector sim amazon|oracle``: start a simulator as a real HTTP server."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Start a simulator of Amazon SP-API or Oracle Fusion on loopback, for tests and demos.",
    no_args_is_help=True,
)
