"""Queue operations for producers and staff: enqueue once, see the backlog and failures, retry dead jobs."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wenming import audit
from wenming.audit import AuditKind
from wenming.db import utcnow
from wenming.errors import DomainError, NotFound
from wenming.queue import repository
from wenming.queue.models import Job, JobKind, JobStatus
from wenming.settings import Settings


class QueueError(DomainError):
    """A staff action on the queue that cannot be done; the message is Chinese."""


class JobNotFound(NotFound, QueueError):
    """No failed job has that number."""


@dataclass(frozen=True)
class Queued:
    """A job handed to the queue; ``created`` is False when the same idempotency key had queued it before."""

    job: Job
    created: bool

    @property
    def duplicate(self) -> bool:
        return not self.created


DEFAULT_MAX_ATTEMPTS = 5


def enqueue(session: Session, kind: str, payload: dict[str, Any] | None = None, **options: Any) -> Job:
    """Add a job (options as for ``submit``); the same ``key`` never makes a second job, whatever its state."""
    return submit(session, kind, payload, **options).job


def submit(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    priority: int = 0,
    delay_seconds: float = 0.0,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Queued:
    """Add a job and say whether it is new, or the one the same ``key`` queued before."""
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
    return Queued(*repository.insert_job(session, values))


def record_request(session: Session, actor: str, kind: str, queued: list[Queued], **details: Any) -> None:
    """Staff asked for background work (retraining, re-classification, reading photos): one audit row when it
    queued anything new; asking again for work already queued changes nothing and records nothing."""
    new = [q.job.id for q in queued if q.created]
    if not new:
        return
    subject = ("job", new[0]) if len(new) == 1 else None
    after = {"kind": kind, "name": JobKind.zh_of(kind), "jobs": new, **details}
    audit.record(session, actor, AuditKind.JOB, subject=subject, after=after)


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


def retry(session: Session, actor: str, job_id: int | None = None) -> list[int]:
    """Staff put one failed job (or every one) back in the queue: one audit row per job."""
    ids = retry_dead(session, job_id)
    for retried in ids:
        before, after = {"job": retried, "status": "dead"}, {"job": retried, "status": "queued"}
        audit.record(session, actor, AuditKind.JOB, subject=("job", retried), before=before, after=after)
    return ids


def retry_dead(session: Session, job_id: int | None = None) -> list[int]:
    """Put one dead job (or all of them) back in the queue with a fresh set of attempts."""
    stmt = select(Job).where(Job.status == JobStatus.DEAD.value)
    if job_id is not None:
        stmt = stmt.where(Job.id == job_id)
    jobs = list(session.scalars(stmt.order_by(Job.id)))
    if job_id is not None and not jobs:
        raise JobNotFound(f"找不到处于失败状态的任务 {job_id}")
    for job in jobs:
        job.status = JobStatus.QUEUED.value
        job.attempts = 0
        job.run_after = utcnow()
        job.finished_at = None
    session.flush()
    return [job.id for job in jobs]


def prune(session: Session, actor: str, older_than_days: int) -> int:
    """Staff clear out old finished jobs: one audit row saying how many went."""
    removed = prune_done(session, older_than_days)
    after = {"removed": removed, "older_than_days": older_than_days}
    audit.record(session, actor, AuditKind.JOB, after=after, reason="清理已完成任务")
    return removed


def prune_done(session: Session, older_than_days: int) -> int:
    """Delete finished jobs older than the given age; their idempotency keys become free again."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = session.execute(delete(Job).where(Job.status == JobStatus.DONE.value, Job.finished_at < cutoff))
    return result.rowcount  # type: ignore[attr-defined]
