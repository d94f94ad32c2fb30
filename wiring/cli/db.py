"""``wenming db``: schema management."""

from __future__ import annotations

import typer

from wenming import schema
from wiring.cli.common import console, engine, friendly_errors, settings

app = typer.Typer(help="数据库结构管理", no_args_is_help=True)


@app.command("upgrade")
@friendly_errors
def upgrade(revision: str = typer.Argument("head", help="目标版本")) -> None:
    """把数据库结构升级到最新版本。"""
    schema.upgrade(settings().database_url, revision)
    console.print(f"数据库已升级到 {schema.current_revision(engine(check_schema=False))}")


@app.command("current")
@friendly_errors
def current() -> None:
    """显示数据库当前结构版本。"""
    rev = schema.current_revision(engine(check_schema=False))
    console.print(f"当前版本：{rev or '未初始化'}；程序版本：{schema.head_revision()}")
