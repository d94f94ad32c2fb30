"""Turn ORM rows into API bodies (explicitly, so no lazy load can happen after the transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api import repository as repo
from api import schemas
from classifier import registry
from classifier.models import Label
from classifier.ocr import service as ocr_service
from classifier.ocr.models import MediaTextStatus
from ingest import service as ingest_service
from ingest.models import (
    HonourLevel,
    Media,
    MessageKind,
    MessageReason,
    RawMessage,
    RawStatus,
    Report,
    ReportPhoto,
    Unit,
)
from wenming import audit
from wenming.audit import AuditKind
from wenming.queue import service as queue_service
from wenming.queue.models import JobKind, JobStatus
from wenming.settings import Settings


def unit_out(unit: Unit) -> schemas.UnitOut:
    level = HonourLevel(unit.honour_level)
    return schemas.UnitOut(
        id=unit.id,
        name=unit.name,
        aliases=list(unit.aliases or []),
        honour_level=level,
        honour_level_zh=level.zh,
        category=unit.category,
        headcount=unit.headcount,
        active=unit.active,
        created_at=unit.created_at,
    )


def label_zh(label: str | None) -> str | None:
    return None if label is None else Label.zh_of(label)


def confidence_zh(confidence: float | None) -> str:
    """The model's confidence as staff read it: 高 (≥ 0.8), 中 (≥ 0.5) or 低; the number stays on hover."""
    if confidence is None:
        return ""
    return "高" if confidence >= 0.8 else "中" if confidence >= 0.5 else "低"


def report_out(report: Report, unit_name: str | None, sender_name: str | None) -> schemas.ReportOut:
    return schemas.ReportOut(
        id=report.id,
        unit_id=report.unit_id,
        unit_name=unit_name,
        group_id=report.group_id,
        sender_id=report.sender_id,
        sender_name=sender_name,
        post_date=report.post_date,
        activity_date=report.activity_date,
        first_message_at=report.first_message_at,
        text=report.text,
        photo_count=report.photo_count,
        status=report.status,  # type: ignore[arg-type]
        label=report.label,  # type: ignore[arg-type]
        label_zh=label_zh(report.label),
        confidence=report.confidence,
        possible_repost=report.possible_repost,
    )


def report_list_out(row: Any) -> schemas.ReportOut:
    """A row of ``repository.report_list_query`` (columns, not a loaded Report) as the list shows it."""
    return schemas.ReportOut(**row._mapping, label_zh=label_zh(row.label))


def message_out(raw: RawMessage, unit_id: int | None, unit_name: str | None, group: str | None) -> schemas.MessageOut:
    """A kept message as the 消息 list shows it."""
    return schemas.MessageOut(
        id=raw.id,
        group_id=raw.group_id,
        group_name=group,
        sender_id=raw.sender_id,
        sender_name=raw.sender_name,
        unit_id=unit_id,
        unit_name=unit_name,
        sent_at=raw.sent_at,
        kind=MessageKind(raw.kind),
        kind_zh=MessageKind.zh_of(raw.kind),
        text=raw.text,
        media_id=raw.media_id,
        thumb_url=f"/api/v1/media/{raw.media_id}?size=thumb" if raw.media_id else None,
        status=RawStatus(raw.status),
        status_zh=RawStatus.zh_of(raw.status),
        reason=MessageReason(raw.reason) if raw.reason in MessageReason.names() else None,
        reason_zh=MessageReason.zh_of(raw.reason) or None,
        error=raw.error,
        promotable=ingest_service.promotable(raw),
    )


def photo_out(photo: ReportPhoto, media: Media) -> schemas.PhotoOut:
    return schemas.PhotoOut(
        media_id=media.id,
        url=f"/api/v1/media/{media.id}",
        thumb_url=f"/api/v1/media/{media.id}?size=thumb",
        width=media.width,
        height=media.height,
        posted_at=photo.posted_at,
        possible_repost=photo.repost_of_media_id is not None,
    )


def report_detail(session: Session, report: Report, unit_name: str | None, sender: str | None) -> schemas.ReportDetail:
    base = report_out(report, unit_name, sender)
    photos = repo.report_photos(session, [report.id])[report.id]
    classification = repo.current_classification(session, report.id)
    evidence = repo.photo_evidence(session, [report.id]).get(report.id)
    return schemas.ReportDetail(
        **base.model_dump(),
        photos=[photo_out(p, m) for p, m in photos],
        photo_evidence=schemas.PhotoEvidenceOut.model_validate(evidence) if evidence else None,
        classification=schemas.ClassificationOut.model_validate(classification) if classification else None,
        tags=repo.report_tags(session, report.id),
        corrections=[schemas.AuditEntryOut.model_validate(c) for c in repo.report_corrections(session, report.id)],
    )


DEAD_SHOWN = 20


def jobs_overview(db: Session, settings: Settings) -> schemas.JobsOverview:
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
