"""Fixtures for bot tests that commit: a migrated private database and a real ingest sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.onebot import media
from tests.support import cli_settings
from wenming.db import create_db_engine, make_session_factory

PUBLIC_ADDRESS = "93.184.215.14"  # any public address: image hosts in these tests are served by MockTransport


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bot tests never ask the real DNS; every image host resolves to a public address (tests/security checks
    the refusals with its own resolver)."""

    async def resolve(host: str) -> list[str]:
        return [PUBLIC_ADDRESS]

    monkeypatch.setattr(media, "resolve_host", resolve)


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
    env = {"database_url": fresh_database_url, "data_dir": tmp_path / "cli-data", "media_dir": tmp_path / "cli-media"}
    with cli_settings(monkeypatch, **env):
        yield committed_factory
