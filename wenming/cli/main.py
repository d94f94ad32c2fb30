"""Root of the ``wenming`` command; each area contributes one sub-app."""

from __future__ import annotations

import typer

from wenming.cli import classifier, db, demo, ingest, reports, units, worker

app = typer.Typer(help="文明单位动态管理：采集、分类、计分", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(db.app, name="db")
app.add_typer(units.app, name="units")
app.add_typer(ingest.app, name="ingest")
app.add_typer(reports.app, name="reports")
app.add_typer(classifier.app, name="classifier")
worker.register(app)
app.command("demo")(demo.demo)
