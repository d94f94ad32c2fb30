"""Engine, session factory, declarative base and schema-version checks."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, Table, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from wenming.engine import SQLITE_BEGIN, create_db_engine

__all__ = ["SQLITE_BEGIN", "create_db_engine"]  # re-exported: callers import engines from here as before

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base for every table; one MetaData with a naming convention."""

    metadata = metadata


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work; on SQLite their transactions begin IMMEDIATE, lazily, at first use."""
    return sessionmaker(bind=engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}), expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for read-only work: DEFERRED on SQLite, so they never wait for a writer."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The unit of work at an edge (CLI command, job, request): commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of read-only work (status pages, planning a post, a job's look-up before slow work).

    It ends in a rollback: anything written here is discarded, so writes belong in ``transaction``. What was read
    stays readable afterwards (the objects are detached first, so the rollback does not expire them).
    """
    session = factory()
    try:
        session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})  # never waits for a writer
        yield session
        session.expunge_all()
    finally:
        session.rollback()
        session.close()


def insert_ignoring_conflicts(session: Session, model: type[Base], rows: list[dict[str, Any]], key: list[str]) -> Any:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING id`` on either backend.

    Concurrent writers of the same natural key (two posters announcing one new member) then both succeed: the loser
    inserts nothing and reads the winner's row, instead of failing the whole message with an IntegrityError.
    Returns the result of ``RETURNING id`` (only the rows actually inserted). The statement is a typed ``text()``
    built once per shape: SQLAlchemy cannot cache the dialects' ``on_conflict`` inserts, and compiling one per
    message cost more than running it.
    """
    table: Table = model.__table__  # type: ignore[assignment]
    rows = [_with_defaults(table, row) for row in rows]
    columns = tuple(rows[0])
    statement = _on_conflict_insert(table, columns, tuple(key))
    return session.execute(statement, rows if len(rows) > 1 else rows[0])


def _with_defaults(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """The row with the Python-side column defaults (``default=utcnow``…) a Core insert would have added."""
    filled = dict(row)
    for column in table.columns:
        default = column.default
        if column.name in filled or column.primary_key or default is None or not hasattr(default, "arg"):
            continue
        filled[column.name] = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
    return filled


@functools.lru_cache(maxsize=64)
def _on_conflict_insert(table: Table, columns: tuple[str, ...], key: tuple[str, ...]) -> Any:
    names = ", ".join(columns)
    values = ", ".join(f":{name}" for name in columns)
    sql = (
        f"INSERT INTO {table.name} ({names}) VALUES ({values}) "
        f"ON CONFLICT ({', '.join(key)}) DO NOTHING RETURNING id"
    )
    binds = [bindparam(name, type_=table.c[name].type) for name in columns]
    return text(sql).bindparams(*binds).columns(table.c.id)
