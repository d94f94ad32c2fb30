"""APScheduler wiring: jobs persisted in the same database, office time zone, no skipped or double posts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from bot import health
from bot.posts.jobs import KINDS
from wenming.settings import Settings

JOB_FUNC = "bot.posts.jobs:scheduled_post"  # a text reference: the job store pickles it, not a closure
SCORE_REFRESH_ID = "score_refresh"
SCORE_REFRESH_FUNC = "bot.posts.jobs:scheduled_score_refresh"


def triggers(settings: Settings) -> dict[str, CronTrigger]:
    """When each post goes out, in the office's time zone."""
    tz = settings.tz
    return {
        "monthly_ranking": CronTrigger(day=1, hour=9, minute=0, timezone=tz),
        "quarterly_summary": CronTrigger(month="1,4,7,10", day=3, hour=9, minute=0, timezone=tz),
        "reminder": CronTrigger(day=15, hour=9, minute=0, timezone=tz),
        "year_warning": CronTrigger(month=12, day=15, hour=9, minute=0, timezone=tz),
    }


def build_scheduler(
    settings: Settings, engine: Engine, scheduler_cls: type[BaseScheduler] = AsyncIOScheduler, **options: Any
) -> BaseScheduler:
    """Coalesce missed runs into one and still run within the grace time after a restart."""
    return scheduler_cls(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": settings.bot_post_misfire_grace_seconds,
            "max_instances": 1,
        },
        timezone=settings.tz,
        **options,
    )


def start(scheduler: BaseScheduler, settings: Settings) -> None:
    """Start with stored jobs intact: re-adding with replace_existing would reset next_run_time and
    silently skip a post missed while the process was down, so existing jobs are only updated."""
    scheduler.start(paused=True)
    for kind, trigger in triggers(settings).items():
        _keep(scheduler, kind, trigger, JOB_FUNC, [kind], KINDS[kind])
    every = IntervalTrigger(seconds=settings.capture_health_interval_seconds, timezone=settings.tz)
    _keep(scheduler, health.JOB_ID, every, health.JOB_FUNC, [], "采集健康检查")
    refresh = IntervalTrigger(minutes=settings.scoring_refresh_minutes, timezone=settings.tz)
    _keep(scheduler, SCORE_REFRESH_ID, refresh, SCORE_REFRESH_FUNC, [], "评分分项更新")
    # now as well: the API's read-only sessions compute missing parts on every read until the refresh stores them
    scheduler.modify_job(SCORE_REFRESH_ID, next_run_time=datetime.now(settings.tz))
    scheduler.resume()


def _keep(scheduler: BaseScheduler, job_id: str, trigger: Any, func: str, args: list[Any], name: str) -> None:
    """Add a job once; later starts only follow a changed schedule."""
    job = scheduler.get_job(job_id)
    if job is None:
        scheduler.add_job(func, trigger, args=args, id=job_id, name=name)
    elif _schedule(job.trigger) != _schedule(trigger):
        scheduler.reschedule_job(job_id, trigger=trigger)


def _schedule(trigger: Any) -> str:
    """A trigger's schedule: an interval's start date is when it was made, not part of the schedule."""
    return str(trigger.interval) if isinstance(trigger, IntervalTrigger) else str(trigger)
