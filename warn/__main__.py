"""``python -m warn`` runs the CLI."""

from warn.cli.main import app

app()
