"""Queries the classifier needs: current classifications, staff-labelled reports, reports to reclassify."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from classifier.models import Classification, ClassificationSource, ReportTag
from classifier.ocr.models import ReportPhotoEvidence
from ingest.models import Report


def current_classification(session: Session, report_id: int) -> Classification | None:
    return session.scalars(
        select(Classification)
        .where(Classification.report_id == report_id, Classification.is_current.is_(True))
        .order_by(Classification.id.desc())
        .limit(1)
    ).first()


def retire_classifications(session: Session, report_id: int) -> None:
    session.execute(
        update(Classification)
        .where(Classification.report_id == report_id, Classification.is_current.is_(True))
        .values(is_current=False)
    )


def replace_tags(session: Session, report_id: int, tags: Sequence[tuple[str, bool, float]]) -> None:
    """Rewrite the effective labels of a report: (label, is_primary, score) rows."""
    session.execute(delete(ReportTag).where(ReportTag.report_id == report_id))
    session.add_all(
        ReportTag(report_id=report_id, label=label, is_primary=primary, score=score) for label, primary, score in tags
    )


def tags_of(session: Session, report_id: int) -> list[ReportTag]:
    return list(
        session.scalars(
            select(ReportTag)
            .where(ReportTag.report_id == report_id)
            .order_by(ReportTag.is_primary.desc(), ReportTag.label)
        )
    )


def staff_labelled(session: Session) -> list[tuple[Classification, Report]]:
    """Every report whose current classification was set by staff, with the report (for its text)."""
    rows = session.execute(
        select(Classification, Report)
        .join(Report, Report.id == Classification.report_id)
        .where(Classification.is_current.is_(True), Classification.source == ClassificationSource.STAFF.value)
        .order_by(Classification.id)
    )
    return [(c, r) for c, r in rows.tuples()]


def report_ids(session: Session, only: Sequence[int] | None = None) -> list[int]:
    query = select(Report.id).order_by(Report.id)
    if only is not None:
        query = query.where(Report.id.in_(list(only)))
    return list(session.scalars(query))


def banner_lines(session: Session, report_id: int) -> list[str]:
    """Banner/slide lines already read from the report's photos (empty until OCR has run)."""
    lines = session.scalar(select(ReportPhotoEvidence.banner_lines).where(ReportPhotoEvidence.report_id == report_id))
    return list(lines or [])
