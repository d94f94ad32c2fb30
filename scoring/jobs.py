"""Scheduled scoring upkeep: keep the standing tables' stored parts current, so that a read costs only what changed.

The API serves tables from read-only sessions, which can use stored parts but cannot store new ones; this job
consumes the changes and stores the parts of the tables the console, the leaderboards and the bot's posts open:
the current and the just-closed month, quarter and year.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from scoring import repository, score_cache, service
from scoring.periods import month_start, quarter_of, today
from wenming.db import transaction, utcnow
from wenming.settings import Settings

KEEP_PARTS = timedelta(days=7)  # a part neither read here nor recomputed for this long is dropped (an old as-of day)


def standing_periods(day: date) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[int]]:
    """The months, quarters and years staff and the bot open: the current ones and the ones just closed."""
    last_month = month_start(day.year, day.month - 1)
    quarter = quarter_of(day.month)
    last_quarter = (day.year, quarter - 1) if quarter > 1 else (day.year - 1, 4)
    months = [(day.year, day.month), (last_month.year, last_month.month)]
    return months, [(day.year, quarter), last_quarter], [day.year, day.year - 1]


def refresh_standing_tables(factory: sessionmaker[Session], settings: Settings) -> int:
    """Bring the default rubric's standing tables up to date; returns the old parts dropped.

    A closed period's parts are keyed on its last day (``service``), so after their first computation they are
    read, not recomputed, until a change reaches them; pruning keeps every key read here. One transaction per
    table: SQLite's write lock (PostgreSQL: the parts' advisory lock) is held for one table at a time.
    """
    rubric = service.load_rubric(settings.api_default_rubric)
    months, quarters, years = standing_periods(today(settings))
    tables: list[Callable[[Session], object]] = [
        *(partial(service.monthly_ranking, settings=settings, rubric=rubric, year=y, month=m) for y, m in months),
        *(partial(service.quarter_table, settings=settings, rubric=rubric, year=y, quarter=q) for y, q in quarters),
        *(partial(service.annual_scores, settings=settings, rubric=rubric, year=y) for y in years),
    ]
    read: set[str] = set()
    for table in tables:
        with transaction(factory) as session:
            table(session)
            read |= score_cache.keys_read(session)
    with transaction(factory) as session:
        return repository.prune_score_cache(session, utcnow() - KEEP_PARTS, keep=read)
