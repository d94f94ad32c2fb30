"""Alembic owns the schema: upgrade it, and refuse to run against an outdated database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class SchemaOutdatedError(RuntimeError):
    """The database is missing or behind the code's migrations."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    heads = ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()
    return heads[0] if len(heads) == 1 else ",".join(sorted(heads))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Raise a clear, Chinese error when the database has not been migrated to head."""
    current = current_revision(engine)
    head = head_revision()
    if current is None:
        raise SchemaOutdatedError("数据库尚未初始化，请先运行：wenming db upgrade")
    if current != head:
        raise SchemaOutdatedError(f"数据库结构版本 {current} 落后于程序版本 {head}，请先运行：wenming db upgrade")
