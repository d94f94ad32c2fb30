"""Queries the classifier needs: current classifications, staff-labelled reports, reports to reclassify."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from classifier.models import Classification, ClassificationSource, ReportTag
from classifier.ocr.models import ReportPhotoEvidence
from ingest.models import Report
from wenming.db import update_many, utcnow

# The report columns a classification sets.
LABEL_COLUMNS = ("label", "confidence", "status", "activity_date")


def current_classification(session: Session, report_id: int) -> Classification | None:
    return session.scalars(
        select(Classification)
        .where(Classification.report_id == report_id, Classification.is_current.is_(True))
        .order_by(Classification.id.desc())
        .limit(1)
    ).first()


def current_sources(session: Session, report_ids: Sequence[int]) -> dict[int, str]:
    """Who set each report's current classification (model or staff), for many reports in one query."""
    rows = session.execute(
        select(Classification.report_id, Classification.source)
        .where(Classification.report_id.in_(report_ids), Classification.is_current.is_(True))
        .order_by(Classification.id)
    )
    return {report_id: source for report_id, source in rows.tuples()}  # the newest current one wins, as one by one


def retire_classifications(session: Session, report_id: int) -> None:
    session.execute(
        update(Classification)
        .where(Classification.report_id == report_id, Classification.is_current.is_(True))
        .values(is_current=False)
    )


def retire_classifications_of(session: Session, report_ids: Sequence[int]) -> None:
    """``retire_classifications`` for many reports in one UPDATE."""
    session.execute(
        update(Classification)
        .where(Classification.report_id.in_(report_ids), Classification.is_current.is_(True))
        .values(is_current=False)
    )


def replace_tags(session: Session, report_id: int, tags: Sequence[tuple[str, bool, float]]) -> None:
    """Rewrite the effective labels of a report: (label, is_primary, score) rows."""
    session.execute(delete(ReportTag).where(ReportTag.report_id == report_id))
    session.add_all(
        ReportTag(report_id=report_id, label=label, is_primary=primary, score=score) for label, primary, score in tags
    )


def replace_tags_of(session: Session, tags: dict[int, Sequence[tuple[str, bool, float]]]) -> None:
    """``replace_tags`` for many reports: one DELETE and one multi-row INSERT."""
    session.execute(delete(ReportTag).where(ReportTag.report_id.in_(list(tags))))
    rows = [
        {"report_id": report_id, "label": label, "is_primary": primary, "score": score}
        for report_id, chosen in tags.items()
        for label, primary, score in chosen
    ]
    if rows:
        session.execute(insert(ReportTag), rows)


def add_classifications(session: Session, rows: Sequence[dict[str, Any]]) -> dict[int, Classification]:
    """Insert new classifications (at most one per report) in one statement; the rows by report id.

    Not ``session.add_all``: the ORM must match each generated id to its object, and on SQLite it can only do that
    one row per statement. Here the returned rows are matched by report id instead. (On PostgreSQL this multi-row
    ``VALUES`` measured faster than ``INSERT … SELECT FROM unnest``, unlike the raw messages' insert.)
    """
    if not rows:
        return {}
    added = session.scalars(insert(Classification).returning(Classification), list(rows))
    return {row.report_id: row for row in added}


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


def banner_lines_of(session: Session, report_ids: Sequence[int]) -> dict[int, list[str]]:
    """``banner_lines`` of many reports in one query (reports without photo evidence are absent)."""
    rows = session.execute(
        select(ReportPhotoEvidence.report_id, ReportPhotoEvidence.banner_lines).where(
            ReportPhotoEvidence.report_id.in_(report_ids)
        )
    )
    return {report_id: list(lines or []) for report_id, lines in rows.tuples()}


def write_report_labels(session: Session, changes: Sequence[tuple[Report, dict[str, Any]]]) -> None:
    """Label, confidence, status and activity date of many reports in one UPDATE (``wenming.db.update_many``).

    The ORM would group the rows by which columns changed and send one statement per run of equal groups; here
    every row sets all four, and the loaded reports take the values as their committed state.
    """
    if not changes:
        return
    now = utcnow()
    rows = [
        {"id": report.id, "updated_at": now, **{name: values[name] for name in LABEL_COLUMNS}}
        for report, values in changes
    ]
    update_many(session, Report.__table__, rows)
    for report, values in changes:
        for name, value in (*values.items(), ("updated_at", now)):
            set_committed_value(report, name, value)
