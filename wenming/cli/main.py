"""Root of the ``wenming`` command; each area contributes one sub-app."""

from __future__ import annotations

import typer

from wenming.cli import classifier, db, score, serve, users, worker

app = typer.Typer(help="文明单位动态管理：采集、分类、计分", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(db.app, name="db")
app.add_typer(classifier.app, name="classifier")
app.add_typer(score.app, name="score")
app.add_typer(serve.app, name="serve")
app.add_typer(users.app, name="users")
worker.register(app)
