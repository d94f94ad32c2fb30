"""The background work queue: what is waiting, what failed and why, and putting a failed job back."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import repository as repo
from api import schemas
from api.deps import Admin, AppSettings, DbSession, ResourceId, Viewer
from api.errors import ApiError, ErrorResponse
from classifier import jobs as classifier_jobs
from classifier import registry
from classifier.ocr import service as ocr_service
from classifier.ocr.models import MediaTextStatus
from wenming import audit
from wenming.audit import AuditKind
from wenming.queue import service as queue_service
from wenming.queue.models import Job, JobKind, JobStatus
from wenming.settings import Settings

router = APIRouter(tags=["后台任务"])

DEAD_SHOWN = 20


def overview(db: Session, settings: Settings) -> schemas.JobsOverview:
    """Queue counts per kind, the newest dead letters and the OCR summary, in one shape for API and console."""
    status = queue_service.queue_status(db, dead_limit=DEAD_SHOWN)
    ocr = ocr_service.ocr_summary(db)
    media = ocr.media_by_status
    corrections = audit.count(db, AuditKind.CLASSIFICATION)
    return schemas.JobsOverview(
        model_version=registry.current_version(settings),
        corrections=corrections,
        backlog=status.backlog,
        dead=status.total(JobStatus.DEAD),
        oldest_due_at=status.oldest_due_at,
        kinds=[
            schemas.JobKindOut(
                kind=kind, name=JobKind.zh_of(kind), **{s.value: counts.get(s.value, 0) for s in JobStatus}
            )
            for kind, counts in status.by_kind.items()
        ],
        dead_jobs=[
            schemas.DeadJobOut(
                id=job.id,
                kind=job.kind,
                name=JobKind.zh_of(job.kind),
                attempts=job.attempts,
                error=(job.error or "").splitlines()[0] if job.error else None,
                finished_at=job.finished_at,
            )
            for job in status.dead
        ],
        ocr=schemas.OcrOut(
            enabled=settings.ocr_enabled,
            media_read=media.get(MediaTextStatus.READ.value, 0),
            media_refused=media.get(MediaTextStatus.REFUSED.value, 0),
            media_missing=media.get(MediaTextStatus.MISSING.value, 0),
            lines=ocr.lines,
            banner_reports=ocr.banner_reports,
            disagreeing_reports=ocr.disagreeing_reports,
        ),
    )


@router.get("/jobs", response_model=schemas.JobsOverview)
def jobs_overview(db: DbSession, settings: AppSettings, _me: Viewer) -> schemas.JobsOverview:
    """Backlog and failures of the background queue (photo reading and the like)."""
    return overview(db, settings)


def retry(db: Session, job_id: int, actor: str) -> schemas.JobRetried:
    """Put one failed job back in the queue with fresh attempts; recorded in the audit log."""
    try:
        [retried] = queue_service.retry_dead(db, job_id)
    except queue_service.QueueError as exc:
        raise ApiError(404, str(exc)) from None
    repo.record_change(db, "job", actor, {"job": retried, "status": "dead"}, {"job": retried, "status": "queued"})
    return schemas.JobRetried(id=retried, status=JobStatus.QUEUED.value)


@router.post("/jobs/{job_id}/retry", response_model=schemas.JobRetried, responses={404: {"model": ErrorResponse}})
def retry_job(job_id: ResourceId, db: DbSession, me: Admin) -> schemas.JobRetried:
    """Put a failed (dead-letter) job back in the queue, e.g. after fixing a missing photo file."""
    return retry(db, job_id, me.actor)


def queue_training(db: Session, actor: str) -> schemas.JobQueued:
    """Queue retraining on every staff correction so far, then re-classification with the new model."""
    before = db.scalar(select(func.max(Job.id)))
    job = classifier_jobs.enqueue_training(db)
    duplicate = before is not None and job.id <= before
    if not duplicate:
        repo.record_change(db, "job", actor, {}, {"job": job.id, "kind": job.kind})
    return schemas.JobQueued(id=job.id, kind=job.kind, status=job.status, duplicate=duplicate)


@router.post("/classifier/train", response_model=schemas.JobQueued, status_code=202)
def train_classifier(db: DbSession, me: Admin) -> schemas.JobQueued:
    """Retrain the classifier on staff corrections in the background; existing reports are re-classified after."""
    return queue_training(db, me.actor)
