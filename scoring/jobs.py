"""Scheduled scoring upkeep: keep the standing tables' stored parts current, so that a read costs only what changed.

The API serves tables from read-only sessions, which can use stored parts but cannot store new ones; this job
consumes the changes and stores the parts of the tables the console, the leaderboards and the bot's posts open:
the current and the just-closed month, quarter and year, as of today and (computed ahead) as of tomorrow.
"""

from __future__ import annotations

from datetime import date, timedelta

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


Table = tuple[str, int, int, date | None]  # "month" / "quarter" / "year", year, month or quarter (0), as-of day


def standing_tables(day: date) -> list[Table]:
    """The standing tables as of ``day`` and as of the next day: computed ahead, a new day finds its parts stored
    (a part is a function of the rows and the as-of day, and any later change to a unit's rows drops its parts)."""
    found: list[Table] = []
    for as_of in (day, day + timedelta(days=1)):
        months, quarters, years = standing_periods(as_of)
        for table in [
            *(("month", year, month, None) for year, month in months),  # a month's ranking has no as-of day
            *(("quarter", year, quarter, as_of) for year, quarter in quarters),
            *(("year", year, 0, as_of) for year in years),
        ]:
            if table not in found:
                found.append(table)
    return found


def _read(session: Session, settings: Settings, rubric: service.Rubric, table: Table) -> object:
    """One standing table, read in a writable session: that is what stores the parts it lacks."""
    kind, year, number, as_of = table
    if kind == "month":
        return service.monthly_ranking(session, settings, rubric, year, number)
    if kind == "quarter":
        return service.quarter_table(session, settings, rubric, year, number, as_of)
    return service.annual_scores(session, settings, rubric, year, as_of)


def refresh_standing_tables(factory: sessionmaker[Session], settings: Settings) -> int:
    """Bring the default rubric's standing tables up to date; returns the old parts dropped.

    A closed period's parts are keyed on its last day (``service``), so after their first computation they are
    read, not recomputed, until a change reaches them; pruning keeps every key read here. One transaction per
    table: SQLite's write lock (PostgreSQL: the parts' advisory lock) is held for one table at a time.
    """
    rubric = service.load_rubric(settings.api_default_rubric)
    read: set[str] = set()
    for table in standing_tables(today(settings)):
        with transaction(factory) as session:
            _read(session, settings, rubric, table)
            read |= score_cache.keys_read(session)
    with transaction(factory) as session:
        return repository.prune_score_cache(session, utcnow() - KEEP_PARTS, keep=read)
