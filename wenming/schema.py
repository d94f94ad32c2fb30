"""Alembic owns the schema: upgrade it, and refuse to run against an outdated database."""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class SchemaOutdatedError(RuntimeError):
    """The database is missing or behind the code's migrations."""


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # alembic is imported only by commands that migrate (start-up time)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def _revision_ids(path: Path) -> tuple[str | None, tuple[str, ...]]:
    """A migration file's ``revision`` and ``down_revision`` ids, read from its source without importing it."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and node.value is not None:
            found[target.id] = ast.literal_eval(node.value)
    down = found.get("down_revision")
    downs = tuple(down) if isinstance(down, (tuple, list)) else ((down,) if isinstance(down, str) else ())
    revision = found.get("revision")
    return (revision if isinstance(revision, str) else None), downs


@functools.cache
def head_revision() -> str:
    """The newest migration, from the migration files' sources: what alembic calls head, without importing it
    (every command checks the schema, and importing alembic's script machinery cost a fifth of a second)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        revision, downs = _revision_ids(path)
        if revision is not None:
            revisions.add(revision)
            parents.update(downs)
    heads = sorted(revisions - parents)
    return heads[0] if len(heads) == 1 else ",".join(heads)


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in ``alembic_version`` (None before the first upgrade)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        versions = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if len(versions) > 1:
        raise SchemaOutdatedError(f"数据库记录了多个结构版本：{', '.join(versions)}，请检查迁移")
    return versions[0] if versions else None


def ensure_current(engine: Engine) -> None:
    """Raise a clear, Chinese error when the database has not been migrated to head."""
    current = current_revision(engine)
    head = head_revision()
    if current is None:
        raise SchemaOutdatedError("数据库尚未初始化，请先运行：wenming db upgrade")
    if current != head:
        raise SchemaOutdatedError(f"数据库结构版本 {current} 落后于程序版本 {head}，请先运行：wenming db upgrade")
