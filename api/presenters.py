"""Turn ORM rows into API bodies (explicitly, so no lazy load can happen after the transaction)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api import repository as repo
from api import schemas
from classifier.models import Label
from ingest.models import HonourLevel, Media, Report, ReportPhoto, Unit


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
