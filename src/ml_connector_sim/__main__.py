"""``python -m ml_connector_sim amazon|oracle ...``: the same as ``ml-connector sim``."""

from ml_connector_sim.cli import app

app()
