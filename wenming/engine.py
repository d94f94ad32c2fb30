"""Engines: SQLite tuned for concurrency, PostgreSQL with pre-ping; no ORM, so commands that only need a connection
(``wenming db current``) start without importing it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

# Execution option naming how a SQLite transaction begins. Sessions from ``make_session_factory`` begin
# IMMEDIATE: they take the write lock up front and wait for it (busy_timeout), whereas a DEFERRED transaction that
# reads and then writes fails at once with "database is locked" whenever another connection wrote in between
# (WAL cannot upgrade a stale snapshot). Read-only work (``read_transaction``, ``make_read_session_factory``) and
# bare engine connections begin DEFERRED, so readers never queue behind writers.
SQLITE_BEGIN = "wenming_sqlite_begin"


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, real SAVEPOINT support for pysqlite, and IMMEDIATE transactions for units of work."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(SQLITE_BEGIN) == "IMMEDIATE" else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite files get their directory created and are tuned for concurrency."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)
