"""Queue queries: insert once per key, claim under a lease, renew, finish, fail, and reap dead workers' jobs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from wenming.db import utcnow
from wenming.queue.models import Job, JobStatus

LEASE_EXPIRED_ERROR = "租约过期：工作进程中断或失去响应，任务已重新排队"


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_job(session: Session, values: dict[str, Any]) -> tuple[Job, bool]:
    """Insert a job; with an idempotency key an existing job of that key is returned instead (False: not new)."""
    key = values.get("idempotency_key")
    if key is None:
        job = Job(**values)
        session.add(job)
        session.flush()
        return job, True
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    stmt = insert(Job).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(Job.id)
    created = session.execute(stmt).scalar_one_or_none() is not None
    job = session.scalars(select(Job).where(Job.idempotency_key == key).execution_options(populate_existing=True)).one()
    return job, created


def claim(session: Session, worker_id: str, lease_seconds: float, kinds: list[str] | None = None) -> Job | None:
    """Atomically take the next due job; PostgreSQL skips rows other workers hold, SQLite serialises writers."""
    now = utcnow()
    candidate = select(Job.id).where(Job.status == JobStatus.QUEUED.value, Job.run_after <= now)
    if kinds:
        candidate = candidate.where(Job.kind.in_(kinds))
    candidate = candidate.order_by(Job.priority.desc(), Job.run_after, Job.id).limit(1)
    if _dialect(session) == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    stmt = (
        update(Job)
        .where(Job.id == candidate.scalar_subquery(), Job.status == JobStatus.QUEUED.value)
        .values(
            status=JobStatus.RUNNING.value,
            attempts=Job.attempts + 1,
            locked_by=worker_id[:200],
            lease_token=uuid.uuid4().hex,
            locked_until=now + timedelta(seconds=lease_seconds),
            heartbeat_at=now,
            started_at=now,
        )
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    job_id = session.execute(stmt).scalar_one_or_none()
    if job_id is None:
        return None
    return session.get(Job, job_id, populate_existing=True)


def renew_lease(session: Session, job_id: int, token: str, lease_seconds: float) -> bool:
    """Extend a running job's lease; False means another worker has taken it over."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.RUNNING.value)
        .values(locked_until=now + timedelta(seconds=lease_seconds), heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def mark_done(session: Session, job_id: int, token: str, result: dict[str, Any] | None) -> bool:
    """Finish a job in the handler's own transaction, only while this worker still holds the lease."""
    outcome = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.RUNNING.value)
        .values(
            status=JobStatus.DONE.value,
            finished_at=utcnow(),
            result=result,
            locked_until=None,
            lease_token=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return outcome.rowcount == 1  # type: ignore[attr-defined]


def mark_failed(
    session: Session, job_id: int, token: str, error: str, *, permanent: bool, retry_at: datetime
) -> str | None:
    """Queue the job again at ``retry_at`` or move it to the dead letters; returns the new status."""
    job = session.scalars(
        select(Job).where(Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.RUNNING.value)
    ).one_or_none()
    if job is None:
        return None
    job.last_error = error[:4000]
    job.locked_until = None
    job.lease_token = None
    if permanent or job.attempts >= job.max_attempts:
        job.status = JobStatus.DEAD.value
        job.finished_at = utcnow()
    else:
        job.status = JobStatus.QUEUED.value
        job.run_after = retry_at
    session.flush()
    return job.status


def reap_expired(session: Session) -> int:
    """Return jobs whose worker stopped renewing the lease to the queue (or to the dead letters)."""
    now = utcnow()
    expired = (Job.status == JobStatus.RUNNING.value, Job.locked_until < now)
    cleared = {"locked_until": None, "lease_token": None, "last_error": LEASE_EXPIRED_ERROR}
    dead = session.execute(
        update(Job)
        .where(*expired, Job.attempts >= Job.max_attempts)
        .values(status=JobStatus.DEAD.value, finished_at=now, **cleared)
        .execution_options(synchronize_session=False)
    )
    requeued = session.execute(
        update(Job)
        .where(*expired)
        .values(status=JobStatus.QUEUED.value, run_after=now, **cleared)
        .execution_options(synchronize_session=False)
    )
    return dead.rowcount + requeued.rowcount  # type: ignore[attr-defined]


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Number of jobs per (kind, status)."""
    rows = session.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status))
    return {(kind, status): n for kind, status, n in rows}


def oldest_due(session: Session) -> datetime | None:
    return session.scalar(
        select(func.min(Job.run_after)).where(Job.status == JobStatus.QUEUED.value, Job.run_after <= utcnow())
    )


def jobs_with_status(session: Session, status: JobStatus, limit: int = 20) -> list[Job]:
    stmt = select(Job).where(Job.status == status.value).order_by(Job.finished_at.desc(), Job.id.desc())
    return list(session.scalars(stmt.limit(limit)))
