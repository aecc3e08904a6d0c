"""`serve`: the read-only dashboard over the store, on loopback unless asked otherwise.

The web package and uvicorn are imported inside the command so every other command starts fast
and works even where the web extras are missing.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from ml_connector.run.commands.common import err, handle_errors, out, runtime


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8080,
) -> None:
    """Run the web dashboard: connections, runs, documents, review queue, audit trail.

    It only reads the store. It has no login of its own: keep it on 127.0.0.1 or put it
    behind your single sign-on proxy.

    Example: [bold]ml-connector serve --port 8080[/bold]  then open http://127.0.0.1:8080/
    """
    handle_errors(_serve)(ctx, host, port)


def _serve(ctx: typer.Context, host: str, port: int) -> None:
    import uvicorn

    from ml_connector.run.web import create_app

    if not _is_loopback(host):
        err().print(
            f"[yellow]warning:[/yellow] listening on {host}: anyone who can reach it sees the "
            "dashboard, which has no login of its own",
            highlight=False,
        )
    with runtime(ctx) as rt:
        app = create_app(rt.sessions)
        out().print(f"Dashboard on http://{host}:{port}/ (Ctrl+C to stop)", highlight=False)
        uvicorn.run(app, host=host, port=port, log_level="warning")
