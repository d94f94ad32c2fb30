"""Background jobs of the classifier: retraining on staff corrections, and re-classifying reports in batches.

Both are CPU work that must not hold up capture or a staff request: the API and the CLI queue them, a worker
runs them. Handlers only flush; the worker commits their effects together with the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from classifier import registry, repository
from classifier import service as classifier_service
from wenming import audit
from wenming.audit import AuditKind
from wenming.db import read_transaction
from wenming.queue import service as queue_service
from wenming.queue.models import Job, JobKind
from wenming.queue.worker import JobContext, PermanentJobError
from wenming.settings import Settings

TRAIN_JOB = JobKind.CLASSIFIER_TRAIN.value
RECLASSIFY_JOB = JobKind.CLASSIFIER_RECLASSIFY.value
# Reports per re-classification job: a few hundred milliseconds of work, so one job never holds SQLite's write
# lock for long, and a failure repeats little.
RECLASSIFY_CHUNK = 200


def enqueue_training(session: Session, *, activate: bool = True, reclassify: bool = True) -> Job:
    """Queue a retraining on the corrections made so far; asking again before a new correction queues nothing."""
    return _submit_training(session, activate, reclassify).job


def request_training(session: Session, actor: str, *, activate: bool = True) -> queue_service.Queued:
    """Staff ask for a retraining (console, API, ``classifier train --background``): audited when it is new."""
    queued = _submit_training(session, activate, reclassify=True, actor=actor)
    queue_service.record_request(session, actor, TRAIN_JOB, [queued], activate=activate)
    return queued


def _submit_training(
    session: Session, activate: bool, reclassify: bool, actor: str | None = None
) -> queue_service.Queued:
    latest = audit.last_id(session, AuditKind.CLASSIFICATION)
    payload: dict[str, Any] = {"activate": activate, "reclassify": reclassify and activate}
    if actor:
        payload["actor"] = actor  # who the new version is recorded for, once trained
    key = f"classifier:train:{latest}:{int(activate)}:{int(payload['reclassify'])}"
    return queue_service.submit(session, TRAIN_JOB, payload, key=key, max_attempts=2)


def request_activation(
    session: Session, actor: str, settings: Settings, version: str, *, reason: str | None = None
) -> tuple[registry.VersionInfo, int]:
    """Staff activate (or roll back to) a version from the console or the API: audited, then every existing
    report is re-classified in the background; returns the version and the number of jobs queued."""
    info = classifier_service.switch_version(session, actor, settings, version, reason=reason)
    return info, len(enqueue_reclassify(session, settings))


def enqueue_reclassify(session: Session, settings: Settings, report_ids: Sequence[int] | None = None) -> list[Job]:
    """Queue re-classification with the current model in chunks (all reports, or these); once per model version."""
    return [queued.job for queued in _submit_reclassify(session, settings, report_ids)]


def request_reclassify(
    session: Session, actor: str, settings: Settings, report_ids: Sequence[int] | None = None
) -> list[queue_service.Queued]:
    """Staff ask for re-classification in the background (``reports reclassify --background``): one audit row."""
    queued = _submit_reclassify(session, settings, report_ids)
    reports = sum(len(q.job.payload.get("report_ids", [])) for q in queued if q.created)
    queue_service.record_request(session, actor, RECLASSIFY_JOB, queued, reports=reports)
    return queued


def _submit_reclassify(
    session: Session, settings: Settings, report_ids: Sequence[int] | None
) -> list[queue_service.Queued]:
    version = registry.current_version(settings)
    ids = repository.report_ids(session, report_ids)
    queued = []
    for start in range(0, len(ids), RECLASSIFY_CHUNK):
        chunk = ids[start : start + RECLASSIFY_CHUNK]
        key = f"classifier:reclassify:{version}:{chunk[0]}-{chunk[-1]}:{len(chunk)}"
        queued.append(queue_service.submit(session, RECLASSIFY_JOB, {"report_ids": chunk}, key=key, max_attempts=3))
    return queued


def handle_train(ctx: JobContext) -> dict[str, Any]:
    """Read the corrections, train with no transaction open, switch every process to the new version, then
    queue the re-classification that lets the new model reach existing reports."""
    activate = bool(ctx.payload.get("activate", True))
    before = registry.current_version(ctx.settings)
    with read_transaction(ctx.factory) as session:
        corrections = classifier_service.correction_examples(session, ctx.settings)
    try:
        info = classifier_service.train_from(ctx.settings, corrections, activate=activate)
    except ValueError as exc:  # e.g. a corpus the trainer refuses: retrying cannot help
        raise PermanentJobError(f"模型训练失败：{exc}") from exc
    actor = str(ctx.payload.get("actor") or f"job:{ctx.job_id}")
    classifier_service.record_version(
        ctx.session, actor, info, before=before, reason=f"后台任务 #{ctx.job_id} 重新训练"
    )
    queued = 0
    if info.current and ctx.payload.get("reclassify", True):
        queued = len(enqueue_reclassify(ctx.session, ctx.settings))
    return {
        "version": info.version,
        "examples": info.examples,
        "corrections": info.corrections,
        "heldout_macro_f1": info.heldout_macro_f1,
        "activated": info.current,
        "gate": info.gate_reason,
        "reclassify_jobs": queued,
    }


def handle_reclassify(ctx: JobContext) -> dict[str, Any]:
    """Re-classify one chunk with the current model; staff corrections and withdrawn reports stay as they are."""
    ids = ctx.payload.get("report_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise PermanentJobError(f"任务参数应为报送编号列表：{ctx.payload!r}")
    changed = classifier_service.reclassify(ctx.session, ctx.settings, ids)
    return {"reports": len(ids), "reclassified": changed}
