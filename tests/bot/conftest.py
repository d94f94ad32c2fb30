"""Fixtures for bot tests that commit: a migrated private database and a real ingest sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.sink import IngestSink
from wenming.db import create_db_engine, make_session_factory
from wenming.settings import Settings


@pytest.fixture
def live_settings(settings: Settings, fresh_database_url: str) -> Settings:
    return settings.model_copy(update={"database_url": fresh_database_url})


@pytest.fixture
def sink(committed_factory: sessionmaker[Session], live_settings: Settings) -> IngestSink:
    return IngestSink(committed_factory, live_settings)


@pytest.fixture
def unreachable_factory() -> Iterator[sessionmaker[Session]]:
    """A factory whose database refuses connections, as during an outage."""
    engine = create_db_engine("postgresql+psycopg://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 1})
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def cli_env(
    committed_factory: sessionmaker[Session], fresh_database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    """Run `wenming` commands in-process against the fresh database; yields a factory to inspect it."""
    from wenming.cli import common
    from wenming.settings import get_settings

    monkeypatch.setenv("WENMING_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("WENMING_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("WENMING_MEDIA_DIR", str(tmp_path / "cli-media"))
    get_settings.cache_clear()
    common._engine = None
    yield committed_factory
    if common._engine is not None:
        common._engine.dispose()
    common._engine = None
    get_settings.cache_clear()
