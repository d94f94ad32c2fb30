"""Scheduled scoring upkeep: keep the default tables' stored parts current, so that a read costs only what changed.

The API serves tables from read-only sessions, which can use stored parts but cannot store new ones; this job
consumes the changes and stores the parts of the tables the console and the leaderboards open by default.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from scoring import repository, service
from scoring.periods import quarter_of, today
from wenming.db import transaction, utcnow
from wenming.settings import Settings

KEEP_PARTS = timedelta(days=7)  # a part not recomputed for this long is dropped (an old as-of day, an old rubric)


def refresh_standing_tables(factory: sessionmaker[Session], settings: Settings) -> int:
    """Bring the default rubric's current month, quarter and year up to date; returns the old parts dropped."""
    day = today(settings)
    with transaction(factory) as session:
        rubric = service.load_rubric(settings.api_default_rubric)
        service.monthly_ranking(session, settings, rubric, day.year, day.month)
        service.quarter_table(session, settings, rubric, day.year, quarter_of(day.month))
        service.annual_scores(session, settings, rubric, day.year)
        return repository.prune_score_cache(session, utcnow() - KEEP_PARTS)
