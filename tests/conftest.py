"""Test database built by ``alembic upgrade head``; every test runs inside a rolled-back transaction.

Set ``WENMING_DATABASE_URL`` to a PostgreSQL URL to run the suite there; otherwise a SQLite file in a
temporary directory is used (never the developer's own ``./var`` database).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from wenming import schema
from wenming.db import create_db_engine, make_session_factory
from wenming.settings import Settings

if TYPE_CHECKING:
    from bot.sink import IngestSink

_ENV_URL = os.environ.get("WENMING_DATABASE_URL", "")
USE_POSTGRES = _ENV_URL.startswith("postgresql")


def _reset_postgres(url: str) -> None:
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if USE_POSTGRES:
        _reset_postgres(_ENV_URL)
        return _ENV_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    schema.upgrade(database_url)
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session joined into an outer transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a private media directory; the database URL is the test one."""
    return Settings(
        database_url=_ENV_URL or "sqlite:///unused.db",
        data_dir=tmp_path / "data",
        media_dir=tmp_path / "media",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty, un-migrated database of the same backend, for tests that commit or run processes."""
    if not USE_POSTGRES:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(_ENV_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    url = make_url(_ENV_URL).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def committed_factory(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on an empty, migrated database (for code that commits at its edge: workers, bots)."""
    schema.upgrade(fresh_database_url)
    engine = create_db_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def live_settings(settings: Settings, fresh_database_url: str) -> Settings:
    """Settings for code that opens its own sessions (sink, processes) on the fresh committed database."""
    return settings.model_copy(update={"database_url": fresh_database_url})


@pytest.fixture
def sink(committed_factory: sessionmaker[Session], live_settings: Settings) -> IngestSink:
    """The bot's ingest sink over committed transactions, as the adapters use it."""
    from bot.sink import IngestSink

    return IngestSink(committed_factory, live_settings)
