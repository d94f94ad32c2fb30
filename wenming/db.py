"""Engine, session factory, declarative base and schema-version checks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, Row, Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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


READ_ONLY = "wenming_read_only"  # session.info flag: the session never commits, so caches must not write through it


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for read-only work: DEFERRED on SQLite, so they never wait for a writer."""
    return sessionmaker(bind=engine, expire_on_commit=False, info={READ_ONLY: True})


def is_read_only(session: Session) -> bool:
    """Whether ``session`` ends in a rollback (``read_transaction``, the API's read sessions)."""
    return bool(session.info.get(READ_ONLY))


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
    session.info[READ_ONLY] = True
    try:
        session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})  # never waits for a writer
        yield session
        session.expunge_all()
    finally:
        session.rollback()
        session.close()


def _with_defaults(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """The row with the Python-side column defaults (``default=utcnow``…) a Core insert would have added."""
    filled = dict(row)
    for column in table.columns:
        default = column.default
        if column.name in filled or column.primary_key or default is None or not hasattr(default, "arg"):
            continue
        filled[column.name] = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
    return filled


IDS_PER_IN_LIST = 900  # bound parameters per IN list: far below every backend's limit


def id_chunks(ids: Iterable[int]) -> list[list[int]]:
    """Distinct ids, sorted, in lists short enough for one ``IN (…)`` each."""
    ordered = sorted(set(ids))
    return [ordered[start : start + IDS_PER_IN_LIST] for start in range(0, len(ordered), IDS_PER_IN_LIST)]


MAX_ROWS_PER_INSERT = 500  # rows of one multi-row INSERT; SQLAlchemy takes fewer when they would exceed the bind limit


def insert_many_ignoring_conflicts(
    session: Session,
    model: type[Base],
    rows: list[dict[str, Any]],
    key: list[str],
    returning: tuple[str, ...] = ("id",),
) -> list[Row[Any]]:
    """Multi-row ``INSERT … ON CONFLICT (key) DO NOTHING RETURNING …``: one statement per page of rows.

    A batch of messages stores its new groups, members, names, media and raw messages with a handful of statements
    instead of one per row. On SQLite, SQLAlchemy's "insertmanyvalues" turns the executemany into multi-row
    ``VALUES`` pages of at most ``MAX_ROWS_PER_INSERT`` rows, under the bound-parameter limit; PostgreSQL takes
    the whole batch as arrays (``_insert_from_arrays``). Only the rows actually inserted come back (in no promised
    order: callers match them by the returned columns); a row that conflicts with a stored one, or with an earlier
    row of the same statement, is skipped. JSON values of ``None`` are stored as SQL NULL, as the ORM stores an
    unset attribute.
    """
    if not rows:
        return []
    table: Table = model.__table__  # type: ignore[assignment]
    rows = [_with_defaults(table, row) for row in rows]
    columns = _columns(rows)
    if session.get_bind().dialect.name == "postgresql":
        return list(session.execute(_insert_from_arrays(table, rows, columns, tuple(key), returning)).all())
    statement = _insert_many_statement(table, columns, tuple(key), returning)
    options = {"insertmanyvalues_page_size": MAX_ROWS_PER_INSERT}
    return list(session.execute(statement, rows, execution_options=options).all())


def _insert_many_statement(
    table: Table, columns: tuple[str, ...], key: tuple[str, ...], returning: tuple[str, ...]
) -> Any:
    """SQLite's ``INSERT … ON CONFLICT DO NOTHING RETURNING`` with JSON ``None`` bound as SQL NULL."""
    binds = {name: bindparam(name, type_=_null_json(table.c[name].type)) for name in columns}
    return (
        sqlite_insert(table)
        .values(binds)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(*(table.c[name] for name in returning))
    )


def _insert_from_arrays(
    table: Table, rows: list[dict[str, Any]], columns: tuple[str, ...], key: tuple[str, ...], returning: tuple[str, ...]
) -> Any:
    """PostgreSQL: ``INSERT … SELECT FROM unnest(arrays) ORDER BY position``, one short statement for any batch.

    A page of multi-row ``VALUES`` is a long text with thousands of placeholders that SQLAlchemy compiles and
    psycopg parses again for every page; one array per column keeps the statement short and cached. The rows are
    inserted in the given order, so new ids follow it as ``VALUES`` pages would give them.
    """
    incoming = _unnest(table, rows, columns, ordinality=True)
    source = select(*(incoming.c[name] for name in columns)).order_by(incoming.c.position)
    return (
        postgresql_insert(table)
        .from_select(list(columns), source)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(*(table.c[name] for name in returning))
    )


def update_many(session: Session, table: Table, rows: list[dict[str, Any]], key: str = "id") -> None:
    """Set each row's values on the row of ``table`` whose ``key`` matches, in one statement on PostgreSQL.

    PostgreSQL: ``UPDATE … FROM unnest(arrays)``, one short statement compiled and parsed once (an executemany
    costs it a pipelined statement per row, a ``VALUES`` list a new compilation per batch). SQLite: an executemany,
    which runs in process. Every row needs the same columns; of rows with the same key the last one wins.
    """
    if not rows:
        return
    rows = list({row[key]: row for row in rows}.values())  # as an executemany would leave it
    columns = _columns(rows)
    changed = [name for name in columns if name != key]
    if session.get_bind().dialect.name != "postgresql":
        by_key = update(table).where(table.c[key] == bindparam(f"match_{key}"))
        by_key = by_key.values({name: bindparam(f"new_{name}") for name in changed})
        session.execute(by_key, [{f"match_{key}": row[key]} | {f"new_{n}": row[n] for n in changed} for row in rows])
        return
    incoming = _unnest(table, rows, columns, ordinality=False)
    session.execute(
        update(table).where(table.c[key] == incoming.c[key]).values({name: incoming.c[name] for name in changed})
    )


def _unnest(table: Table, rows: list[dict[str, Any]], columns: tuple[str, ...], *, ordinality: bool) -> Any:
    """PostgreSQL ``unnest(array, …) AS incoming(columns)``: one array per column, typed as the table's column."""
    arrays = [
        bindparam(f"column_{n}", [row[name] for row in rows], type_=ARRAY(_null_json(table.c[name].type), dimensions=1))
        for n, name in enumerate(columns)
    ]
    valued = func.unnest(*arrays).table_valued(*columns, with_ordinality="position" if ordinality else None)
    return valued.render_derived("incoming")


def _columns(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """The columns every row of a multi-row statement sets, refusing rows that set others or another order."""
    columns = tuple(rows[0])
    if any(tuple(row) != columns for row in rows):
        raise ValueError("every row of a multi-row statement needs the same columns, in the same order")
    return columns


def _null_json(column_type: Any) -> Any:
    """A JSON column's type that binds ``None`` as SQL NULL (the column's own type binds it as JSON ``null``)."""
    if isinstance(column_type, JSON):
        variant = column_type.__class__(none_as_null=True)
        return variant.with_variant(JSONB(none_as_null=True), "postgresql")
    return column_type
