"""`ml-connector sim amazon`: placeholder until the amazon simulator lands."""

from __future__ import annotations

import typer


def serve(port: int = typer.Option(8000, help="TCP port on 127.0.0.1.")) -> None:
    """Start the amazon simulator (not built yet)."""
    raise typer.Exit(code=2)
