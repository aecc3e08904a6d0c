"""The operator commands of ``ml-connector``, one module per command group.

``register`` attaches them to the root app; the pipeline commands (``sync``, ``run``,
``backfill``, ``replay``, ``reconcile``, ``review resolve``, ``demo``) are added by their own
modules. Commands read the global ``--db``/``--key-file`` through ``common.runtime(ctx)``.
"""

from __future__ import annotations

import typer

from ml_connector.run.commands import audit, connection, key, review, sync
from ml_connector.run.commands import replay as replay_cmd
from ml_connector.run.commands.common import global_callback, global_options, runtime
from ml_connector.run.commands.demo import demo
from ml_connector.run.commands.serve import serve
from ml_connector.run.commands.setup import init

__all__ = ["global_options", "register", "runtime"]


def register(app: typer.Typer) -> None:
    """Add the global options and every command group of this package to ``app``."""
    app.callback()(global_callback)
    app.command("init")(init)
    app.add_typer(key.app, name="key")
    app.add_typer(connection.app, name="connection")
    app.add_typer(review.app, name="review")
    app.add_typer(audit.app, name="audit")
    app.command("serve")(serve)
    app.command("sync")(sync.sync)
    app.command("backfill")(sync.backfill)
    app.command("run")(sync.run)
    # DESIGN.md §6 calls the scale-out process a worker: the same loop, leases keep it safe.
    app.command("worker", help="Same as `run`: poll connections; run many on shared PostgreSQL.")(
        sync.run
    )
    app.command("replay")(replay_cmd.replay_command)
    app.command("reconcile")(replay_cmd.reconcile_command)
    review.app.command("resolve")(replay_cmd.resolve_command)
    app.command("demo")(demo)
