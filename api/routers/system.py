"""The background work queue: what is waiting, what failed and why, and putting a failed job back."""

from __future__ import annotations

from fastapi import APIRouter

from api import presenters, schemas
from api.deps import Admin, AppSettings, DbSession, ResourceId, Viewer
from api.errors import ErrorResponse
from classifier import jobs as classifier_jobs
from wenming.queue import service as queue_service
from wenming.queue.models import JobStatus

router = APIRouter(tags=["后台任务"])


@router.get("/jobs", response_model=schemas.JobsOverview)
def jobs_overview(db: DbSession, settings: AppSettings, _me: Viewer) -> schemas.JobsOverview:
    """Backlog and failures of the background queue (photo reading and the like)."""
    return presenters.jobs_overview(db, settings)


@router.post("/jobs/{job_id}/retry", response_model=schemas.JobRetried, responses={404: {"model": ErrorResponse}})
def retry_job(job_id: ResourceId, db: DbSession, me: Admin) -> schemas.JobRetried:
    """Put a failed (dead-letter) job back in the queue, e.g. after fixing a missing photo file."""
    [retried] = queue_service.retry(db, me.actor, job_id)
    return schemas.JobRetried(id=retried, status=JobStatus.QUEUED.value)


@router.post("/classifier/train", response_model=schemas.JobQueued, status_code=202)
def train_classifier(db: DbSession, me: Admin) -> schemas.JobQueued:
    """Retrain the classifier on staff corrections in the background; existing reports are re-classified after."""
    queued = classifier_jobs.request_training(db, me.actor)
    job = queued.job
    return schemas.JobQueued(id=job.id, kind=job.kind, status=job.status, duplicate=queued.duplicate)
