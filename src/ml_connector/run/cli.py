"""The ``ml-connector`` command line.

Sub-commands contributed by other installed packages (the simulators' ``sim``) are loaded from the
``ml_connector.commands`` entry-point group, so this package never imports them directly.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from ml_connector.run import commands
from ml_connector.run.commands.common import reflow_app_help

app = typer.Typer(
    name="ml-connector",
    help=(
        "Keep an Amazon seller's books in Oracle Fusion Cloud ERP in step with Seller Central.\n\n"
        "Shipped Amazon orders become Receivables invoices, settlements become balanced GL "
        "journals, refunds become credit memos. Start with `ml-connector demo`."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
commands.register(app)
reflow_app_help(app)


def _load_plugins() -> None:
    for ep in entry_points(group="ml_connector.commands"):
        sub = ep.load()
        if isinstance(sub, typer.Typer):
            reflow_app_help(sub)
            app.add_typer(sub, name=ep.name)


def main() -> None:
    """Console-script entry point."""
    _load_plugins()
    app()
