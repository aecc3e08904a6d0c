"""`ml-connector sim oracle`: placeholder until the oracle simulator lands."""

from __future__ import annotations

import typer


def serve(port: int = typer.Option(8000, help="TCP port on 127.0.0.1.")) -> None:
    """Start the oracle simulator (not built yet)."""
    raise typer.Exit(code=2)
