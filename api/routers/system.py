"""The background work queue: what is waiting, what failed and why, and putting a failed job back."""

from __future__ import annotations

from fastapi import APIRouter

from api import presenters, schemas
from api.deps import Admin, AppSettings, DbSession, ResourceId, Viewer
from api.errors import ApiError, ErrorResponse
from classifier import jobs as classifier_jobs
from classifier import registry
from classifier import service as classifier_service
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


@router.get("/classifier/versions", response_model=schemas.ModelVersionsOut)
def model_versions(settings: AppSettings, _me: Viewer) -> schemas.ModelVersionsOut:
    """Every classifier version with held-out metrics, review load and why it is (not) active."""
    versions = classifier_service.list_versions(settings)
    return schemas.ModelVersionsOut(
        current=registry.current_version(settings),
        versions=[schemas.ModelVersionOut.model_validate(v.model_dump()) for v in versions],
    )


@router.post(
    "/classifier/versions/{version}/activate",
    response_model=schemas.VersionActivated,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def activate_version(
    version: str, body: schemas.ActivateVersionIn, db: DbSession, settings: AppSettings, me: Admin
) -> schemas.VersionActivated:
    """Activate or roll back to a version (``confirm`` must be true); audited, reports re-classified after."""
    if not body.confirm:
        raise ApiError(422, "启用或回退模型版本需要确认（confirm 为 true）")
    previous = registry.current_version(settings)
    try:
        info, jobs = classifier_jobs.request_activation(db, me.actor, settings, version, reason=body.reason)
    except registry.VersionError as exc:
        raise ApiError(404, str(exc)) from exc
    return schemas.VersionActivated(version=info.version, previous=previous, reclassify_jobs=jobs)
