"""Queue operations for producers and staff: enqueue once, see the backlog and failures, retry dead jobs."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wenming.db import utcnow
from wenming.queue import repository
from wenming.queue.models import Job, JobStatus
from wenming.settings import Settings


class QueueError(ValueError):
    """A staff action on the queue that cannot be done; the message is Chinese."""


DEFAULT_MAX_ATTEMPTS = 5


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    priority: int = 0,
    delay_seconds: float = 0.0,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Add a job; the same ``key`` never makes a second job, whatever state the first one is in."""
    values: dict[str, Any] = {
        "kind": kind,
        "payload": payload or {},
        "idempotency_key": key,
        "status": JobStatus.QUEUED.value,
        "priority": priority,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": utcnow() + timedelta(seconds=delay_seconds),
        "created_at": utcnow(),
    }
    return repository.insert_job(session, values)


def retry_delay(settings: Settings, attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with up to 20% jitter so failed jobs do not retry in lock-step."""
    base = settings.queue_retry_base_seconds * (2 ** max(attempts - 1, 0))
    delay = min(base, settings.queue_retry_max_seconds)
    return delay * (1.0 + 0.2 * (rng or random).random())


@dataclass
class DeadJob:
    id: int
    kind: str
    attempts: int
    error: str | None
    finished_at: datetime | None


@dataclass
class QueueStatus:
    """What staff see: backlog per kind, running work, failures."""

    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    oldest_due_at: datetime | None = None
    dead: list[DeadJob] = field(default_factory=list)

    def total(self, status: JobStatus) -> int:
        return sum(counts.get(status.value, 0) for counts in self.by_kind.values())

    @property
    def backlog(self) -> int:
        """Jobs not finished yet: queued (due or waiting for a retry) plus running."""
        return self.total(JobStatus.QUEUED) + self.total(JobStatus.RUNNING)


def queue_status(session: Session, *, dead_limit: int = 10) -> QueueStatus:
    """Counts per kind and status, the oldest due job, and the newest dead letters with their errors."""
    status = QueueStatus()
    for (kind, state), n in sorted(repository.counts(session).items()):
        status.by_kind.setdefault(kind, {})[state] = n
    status.oldest_due_at = repository.oldest_due(session)
    status.dead = [
        DeadJob(job.id, job.kind, job.attempts, job.last_error, job.finished_at)
        for job in repository.jobs_with_status(session, JobStatus.DEAD, dead_limit)
    ]
    return status


def retry_dead(session: Session, job_id: int | None = None) -> list[int]:
    """Put one dead job (or all of them) back in the queue with a fresh set of attempts."""
    stmt = select(Job).where(Job.status == JobStatus.DEAD.value)
    if job_id is not None:
        stmt = stmt.where(Job.id == job_id)
    jobs = list(session.scalars(stmt.order_by(Job.id)))
    if job_id is not None and not jobs:
        raise QueueError(f"找不到处于失败状态的任务 {job_id}")
    for job in jobs:
        job.status = JobStatus.QUEUED.value
        job.attempts = 0
        job.run_after = utcnow()
        job.finished_at = None
    session.flush()
    return [job.id for job in jobs]


def prune_done(session: Session, older_than_days: int) -> int:
    """Delete finished jobs older than the given age; their idempotency keys become free again."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = session.execute(delete(Job).where(Job.status == JobStatus.DONE.value, Job.finished_at < cutoff))
    return result.rowcount  # type: ignore[attr-defined]
