"""The ``ml-connector`` command line.

Sub-commands contributed by other installed packages (the simulators' ``sim``) are loaded from the
``ml_connector.commands`` entry-point group, so this package never imports them directly. Every
command, plugins' included, runs inside ``common.handle_errors`` (``guard_app``): whatever fails
ends as one line and an exit code, the traceback only with ``--debug``.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from ml_connector.run import commands
from ml_connector.run.commands.common import guard_app, reflow_app_help

app = typer.Typer(
    name="ml-connector",
    help=(
        "Keep an Amazon seller's books in Oracle Fusion Cloud ERP in step with Seller Central.\n\n"
        "Shipped Amazon orders become Receivables invoices, settlements become balanced GL "
        "journals, refunds become credit memos. Start with `ml-connector demo`."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    # Tracebacks never reach the screen through typer (they may print local variables, which
    # can hold credentials); guard_app turns every failure into one line first.
    pretty_exceptions_enable=False,
)
commands.register(app)
reflow_app_help(app)
guard_app(app)


def _load_plugins() -> None:
    for ep in entry_points(group="ml_connector.commands"):
        sub = ep.load()
        if isinstance(sub, typer.Typer):
            reflow_app_help(sub)
            guard_app(sub)
            app.add_typer(sub, name=ep.name)


def main() -> None:
    """Console-script entry point."""
    _load_plugins()
    app()
