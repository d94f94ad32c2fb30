"""The root command lists every area without importing it, and each area still runs as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import typer
from typer.core import TyperGroup

from wiring.cli.main import COMMANDS, app

HEAVY = ("alembic", "jieba", "numpy", "scipy", "pkg_resources", "rapidocr_onnxruntime", "onnxruntime", "fastapi")


def _imported_by(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The heavy top-level packages a fresh ``wenming …`` process has loaded when it exits."""
    code = (
        "import sys\n"
        f"sys.argv = ['wenming', *{list(args)!r}]\n"
        "from wiring.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:' + ','.join(name for name in {HEAVY!r} if name in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    line = next(line for line in done.stdout.splitlines() if line.startswith("HEAVY:"))
    return set(filter(None, line.removeprefix("HEAVY:").split(",")))


def test_help_lists_every_area_with_its_own_help_line() -> None:
    root = typer.main.get_command(app)
    ctx = click.Context(root)
    for name, (line, _load) in COMMANDS.items():
        command = root.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=200) == line
        assert "install_completion" not in {p.name for p in command.params}


def test_help_and_db_current_import_no_heavy_library(tmp_path: Path) -> None:
    assert _imported_by("--help") == set()
    env = os.environ | {"WENMING_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "WENMING_DATA_DIR": str(tmp_path)}
    assert _imported_by("db", "current", env=env) == set()


def test_score_keeps_the_period_commands() -> None:
    root = typer.main.get_command(app)
    score = root.get_command(click.Context(root), "score")
    assert isinstance(score, TyperGroup)
    assert {"close", "publish", "reopen", "periods"} <= set(score.list_commands(click.Context(score)))


def test_reports_keeps_reclassify_from_the_classifier_area() -> None:
    root = typer.main.get_command(app)
    reports = root.get_command(click.Context(root), "reports")
    assert isinstance(reports, TyperGroup)
    assert {"stats", "retriage", "reclassify"} <= set(reports.list_commands(click.Context(reports)))
