"""``python -m ml_connector`` runs the CLI."""

from ml_connector.run.cli import main

main()
