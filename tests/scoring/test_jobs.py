"""The scheduled upkeep keeps the standing tables' stored parts current for the API's read-only sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.posts import scheduler
from ingest.models import ChatGroup, Member, Unit
from scoring import jobs, score_cache, service
from scoring import models as m
from scoring.periods import today
from tests.scoring.conftest import World
from wenming.db import create_db_engine, make_read_session_factory, read_transaction, transaction, utcnow
from wenming.settings import Settings


def _office(factory: sessionmaker[Session], settings: Settings) -> list[int]:
    """Three units reporting this month; committed, as ingest leaves them."""
    day = today(settings)
    with transaction(factory) as session:
        group = ChatGroup(platform="wechat", platform_id="g-1", name="文明单位群")
        session.add(group)
        session.flush()
        world = World(session, group)
        units = [world.unit(name) for name in ("县甲单位", "县乙单位", "县丙单位")]
        for i, unit in enumerate(units):
            for n in range(i + 1):
                world.report(unit, day - timedelta(days=n % day.day), ("practice",), photos=2)
        return [u.id for u in units]


def _counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with read_transaction(factory) as session:
        parts = session.scalar(select(func.count()).select_from(m.ScoreCacheEntry))
        changes = session.scalar(select(func.count()).select_from(m.ScoreChange))
        return int(parts or 0), int(changes or 0)


def _parts(factory: sessionmaker[Session]) -> set[tuple[str, int, Any]]:
    with read_transaction(factory) as session:
        rows = session.execute(select(m.ScoreCacheEntry.key, m.ScoreCacheEntry.unit_id, m.ScoreCacheEntry.computed_at))
        return {tuple(row) for row in rows}  # type: ignore[misc]


def _read_standing_tables(factory: sessionmaker[Session], settings: Settings, day: date) -> None:
    """Every standing table as staff would read it on ``day``, in a writable session (which stores what it lacks)."""
    rubric = service.load_rubric(settings.api_default_rubric)
    months, quarters, years = jobs.standing_periods(day)
    with transaction(factory) as session:
        for year, month in months:
            service.monthly_ranking(session, settings, rubric, year, month)
        for year, quarter in quarters:
            service.quarter_table(session, settings, rubric, year, quarter, day)
        for year in years:
            service.annual_scores(session, settings, rubric, year, day)


def _quarter(session: Session, settings: Settings) -> Any:
    rubric = service.load_rubric(settings.api_default_rubric)
    day = today(settings)
    return service.quarter_table(session, settings, rubric, day.year, (day.month - 1) // 3 + 1)


def test_the_refresh_stores_the_default_tables_and_a_read_only_session_sees_later_reports(
    committed_factory: sessionmaker[Session], live_settings: Settings
) -> None:
    units = _office(committed_factory, live_settings)
    jobs.refresh_standing_tables(committed_factory, live_settings)
    stored = _parts(committed_factory)
    assert _counts(committed_factory)[1] == 0 and len(stored) >= 8 * len(units)
    for day in (today(live_settings), today(live_settings) + timedelta(days=1)):  # today's tables, and tomorrow's
        _read_standing_tables(committed_factory, live_settings, day)
        assert _parts(committed_factory) == stored  # all there: nothing computed, nothing rewritten
    with transaction(committed_factory) as session:
        world = World(session, session.scalars(select(ChatGroup)).one())
        world.members = {member.unit_id: member for member in session.scalars(select(Member))}
        unit = world.session.get(Unit, units[0])
        for _ in range(3):
            world.report(unit, today(live_settings), ("practice",), photos=4)
    reader = make_read_session_factory(committed_factory.kw["bind"])
    with read_transaction(reader) as session:
        seen = _quarter(session, live_settings)
    with read_transaction(committed_factory) as session:
        score_cache.bypass(session)
        assert seen == _quarter(session, live_settings)
    assert _counts(committed_factory)[1] > 0  # the read-only session left the changes for the job
    jobs.refresh_standing_tables(committed_factory, live_settings)
    assert _counts(committed_factory) == (len(stored), 0)


def test_parts_nobody_read_for_a_week_are_dropped_and_the_standing_tables_keep_theirs(
    committed_factory: sessionmaker[Session], live_settings: Settings
) -> None:
    units = _office(committed_factory, live_settings)
    jobs.refresh_standing_tables(committed_factory, live_settings)
    standing = _counts(committed_factory)[0]
    with transaction(committed_factory) as session:  # a table nobody opens again: three years ago
        service.annual_scores(
            session, live_settings, service.load_rubric("changxing-2020"), today(live_settings).year - 3
        )
        session.execute(update(m.ScoreCacheEntry).values(computed_at=utcnow() - timedelta(days=8)))
    assert jobs.refresh_standing_tables(committed_factory, live_settings) == len(units)
    assert _counts(committed_factory) == (standing, 0)  # still read: kept, though computed a week ago


def test_each_standing_table_is_its_own_transaction(
    committed_factory: sessionmaker[Session], live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    units = _office(committed_factory, live_settings)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("年度表计算失败")

    monkeypatch.setattr(service, "annual_scores", broken)
    with pytest.raises(RuntimeError):
        jobs.refresh_standing_tables(committed_factory, live_settings)
    assert _counts(committed_factory)[0] == 4 * len(units)  # today's months and quarters, stored before the year


def test_the_standing_periods_are_this_and_the_last_month_quarter_and_year() -> None:
    assert jobs.standing_periods(date(2027, 1, 4)) == ([(2027, 1), (2026, 12)], [(2027, 1), (2026, 4)], [2027, 2026])
    assert jobs.standing_periods(date(2026, 8, 31)) == ([(2026, 8), (2026, 7)], [(2026, 3), (2026, 2)], [2026, 2025])


def test_the_standing_tables_include_tomorrows_once_each() -> None:
    tables = jobs.standing_tables(date(2026, 12, 31))
    assert len(tables) == len(set(tables))
    assert ("month", 2027, 1, None) in tables and ("month", 2026, 12, None) in tables
    assert ("quarter", 2026, 4, date(2026, 12, 31)) in tables and ("quarter", 2027, 1, date(2027, 1, 1)) in tables
    assert ("year", 2026, 0, date(2027, 1, 1)) in tables  # last year as of tomorrow: keyed as Dec 31, read warm


def test_wenming_run_schedules_the_refresh(
    committed_factory: sessionmaker[Session], fresh_database_url: str, live_settings: Settings
) -> None:
    from tests.bot.test_posts import ManualScheduler

    engine = create_db_engine(fresh_database_url)
    sched = scheduler.build_scheduler(live_settings, engine, scheduler_cls=ManualScheduler)
    scheduler.start(sched, live_settings)
    job = sched.get_job(scheduler.SCORE_REFRESH_ID)
    assert job is not None and job.name == "评分分项更新" and job.trigger.interval == timedelta(minutes=10)
    assert job.next_run_time <= datetime.now(UTC)  # at start-up too, not ten minutes later
    sched.shutdown(wait=False)
    engine.dispose()
