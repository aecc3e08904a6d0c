"""`serve`: the read-only dashboard over the store, on loopback unless asked otherwise.

The web package and uvicorn are imported inside the command so every other command starts fast
and works even where the web extras are missing.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Annotated

import typer

from ml_connector.run.commands.common import USAGE_EXIT, err, fail, handle_errors, out, runtime


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8080,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A Host name (name or name:port) the dashboard answers to, e.g. the name your "
            "sign-on proxy forwards; repeatable. Default: the bind address and, on loopback, "
            "127.0.0.1 and localhost, at --port.",
        ),
    ] = None,
) -> None:
    """Run the web dashboard: connections, runs, documents, review queue, audit trail.

    It only reads the store. It has no login of its own: keep it on 127.0.0.1 or put it
    behind your single sign-on proxy.

    Requests naming any other Host are refused (400), so a web page cannot reach the dashboard
    by rebinding its DNS name to this machine.

    Example: [bold]ml-connector serve --port 8080[/bold]  then open http://127.0.0.1:8080/
    """
    handle_errors(_serve)(ctx, host, port, allowed_host or [])


def allowed_hosts_for(host: str, port: int, extra: list[str]) -> list[str]:
    """The Host values `serve` answers to: the bind address at the port, the loopback names
    when bound to loopback, and whatever ``--allowed-host`` adds."""
    bind = f"[{host}]" if ":" in host and not host.startswith("[") else host
    hosts = [f"{bind}:{port}"]
    if _is_loopback(host):
        hosts += [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"]
    for entry in extra:
        cleaned = entry.strip()
        if (
            not cleaned
            or any(c in cleaned for c in "/@ ")
            or (cleaned.count(":") > 1 and "[" not in cleaned)
        ):
            fail(f"--allowed-host {entry!r}: give a host name or name:port", code=USAGE_EXIT)
        hosts.append(cleaned)
    return list(dict.fromkeys(hosts))


def _serve(ctx: typer.Context, host: str, port: int, extra_hosts: list[str]) -> None:
    import uvicorn

    from ml_connector.run.web import create_app

    if not _is_loopback(host):
        err().print(
            f"[yellow]warning:[/yellow] listening on {host}: anyone who can reach it sees the "
            "dashboard, which has no login of its own",
            highlight=False,
        )
    with runtime(ctx) as rt:
        app = create_app(rt.sessions, allowed_hosts=allowed_hosts_for(host, port, extra_hosts))
        # Bound here, not by uvicorn: a busy port is one plain line, not uvicorn's log and its
        # own exit code.
        listener = listen(host, port)
        out().print(f"Dashboard on http://{host}:{port}/ (Ctrl+C to stop)", highlight=False)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        with listener:
            server.run(sockets=[listener])


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; `fail`s (exit 1) with one line when it cannot be."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}:{port}: {host!r} does not resolve ({exc.strerror})")
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = (
            " (another program uses it: choose another --port)"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        fail(f"cannot listen on {host}:{port}: {exc.strerror}{hint}")
    return sock
