"""Classifier fixtures: one shared data dir (seed model built once), report rows made via the ORM."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ingest.models import ChatGroup, Member, Report, Unit
from tests.conftest import _ENV_URL
from wenming.settings import Settings


def _settings(data_dir: Path) -> Settings:
    return Settings(
        database_url=_ENV_URL or "sqlite:///unused.db",
        data_dir=data_dir,
        media_dir=data_dir / "media",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("classifier-data")


@pytest.fixture
def settings(shared_data_dir: Path) -> Settings:
    """Settings sharing one data dir across tests, so the seed model is trained once per run."""
    return _settings(shared_data_dir)


@pytest.fixture
def isolated_settings(tmp_path: Path) -> Settings:
    """A private data dir for tests that train or switch versions."""
    return _settings(tmp_path / "data")


_counter = itertools.count(1)


@pytest.fixture
def make_report(session: Session) -> Callable[..., Report]:
    """Create a report (with its unit, group and sender) directly through the ORM."""
    n = next(_counter)
    unit = Unit(name=f"县测试局{n}")
    group = ChatGroup(platform="wechat", platform_id=f"group-{n}", name="文明单位群")
    member = Member(platform="wechat", platform_user_id=f"user-{n}", display_name="测试局-小王")
    session.add_all([unit, group, member])
    session.flush()

    def make(text: str | None, *, photo_count: int = 3, post_date: date = date(2026, 4, 25)) -> Report:
        sent = datetime(post_date.year, post_date.month, post_date.day, 2, 0, tzinfo=UTC)
        report = Report(
            unit_id=unit.id,
            group_id=group.id,
            sender_id=member.id,
            first_message_at=sent,
            last_message_at=sent,
            text_message_at=sent,
            post_date=post_date,
            text=text,
            photo_count=photo_count,
        )
        session.add(report)
        session.flush()
        return report

    return make
