"""Queries behind the API's lists and details; every list is filtered and paged in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select, union
from sqlalchemy.orm import Session

from accounts.models import StaffUser
from classifier.models import Classification, Label, ReportTag
from classifier.ocr.models import ReportPhotoEvidence
from ingest.models import (
    ChatGroup,
    Media,
    Member,
    MemberName,
    RawMessage,
    RawStatus,
    Report,
    ReportPhoto,
    ReportStatus,
    Unit,
)
from wenming import audit
from wenming.audit import AuditEntry, AuditKind

T = TypeVar("T")


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` literally anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def paged(session: Session, stmt: Select[Any], offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of ``stmt`` and the total number of matches."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.execute(stmt.offset(offset).limit(limit)).all())
    return rows, int(total)


# --- units -----------------------------------------------------------------------------------------


def unit_query(
    session: Session,
    q: str | None = None,
    honour_level: str | None = None,
    category: str | None = None,
    active: bool | None = None,
) -> Select[Any]:
    stmt = select(Unit)
    if q:
        by_alias = [uid for uid, aliases in session.execute(select(Unit.id, Unit.aliases)) if _alias_hit(q, aliases)]
        stmt = stmt.where(or_(Unit.name.like(_like(q), escape="\\"), Unit.id.in_(by_alias)))
    if honour_level:
        stmt = stmt.where(Unit.honour_level == honour_level)
    if category:
        stmt = stmt.where(Unit.category == category)
    if active is not None:
        stmt = stmt.where(Unit.active.is_(active))
    return stmt.order_by(Unit.name, Unit.id)


def _alias_hit(q: str, aliases: list[str] | None) -> bool:
    """Aliases are a JSON list (escaped differently per backend), so they are matched in Python."""
    return any(q in alias for alias in aliases or [])


def unit_names(session: Session, unit_ids: Sequence[int | None]) -> dict[int, str]:
    ids = {i for i in unit_ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).tuples().all())


def active_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)))


# --- groups and members ----------------------------------------------------------------------------


def group_query(platform: str | None = None, q: str | None = None) -> Select[Any]:
    counts = select(Report.group_id, func.count().label("n")).group_by(Report.group_id).subquery()
    stmt = select(ChatGroup, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.group_id == ChatGroup.id)
    if platform:
        stmt = stmt.where(ChatGroup.platform == platform)
    if q:
        stmt = stmt.where(ChatGroup.name.like(_like(q), escape="\\"))
    return stmt.order_by(ChatGroup.name, ChatGroup.id)


def group_names(session: Session, group_ids: Iterable[int]) -> dict[int, str | None]:
    ids = set(group_ids)
    if not ids:
        return {}
    return dict(session.execute(select(ChatGroup.id, ChatGroup.name).where(ChatGroup.id.in_(ids))).tuples().all())


def member_query(
    unit_id: int | None = None,
    unassigned: bool | None = None,
    platform: str | None = None,
    q: str | None = None,
) -> Select[Any]:
    stmt = select(Member, Unit.name).outerjoin(Unit, Unit.id == Member.unit_id)
    if unit_id is not None:
        stmt = stmt.where(Member.unit_id == unit_id)
    if unassigned is True:
        stmt = stmt.where(Member.unit_id.is_(None), Member.is_staff.is_(False))
    elif unassigned is False:
        stmt = stmt.where(Member.unit_id.is_not(None))
    if platform:
        stmt = stmt.where(Member.platform == platform)
    if q:
        pattern = _like(q)
        names = select(MemberName.member_id).where(MemberName.name.like(pattern, escape="\\"))
        stmt = stmt.where(
            or_(
                Member.display_name.like(pattern, escape="\\"),
                Member.platform_user_id == q,
                Member.id.in_(names),
            )
        )
    return stmt.order_by(Member.last_seen_at.desc(), Member.id.desc())


def member_names(session: Session, member_id: int) -> list[MemberName]:
    stmt = select(MemberName).where(MemberName.member_id == member_id).order_by(MemberName.last_seen_at.desc())
    return list(session.scalars(stmt))


def member_unit_history(session: Session, member_id: int) -> list[AuditEntry]:
    return audit.history(session, ("member", member_id), AuditKind.MEMBER_UNIT)


# --- reports ---------------------------------------------------------------------------------------


@dataclass
class ReportFilter:
    """Every way a report list can be narrowed."""

    unit_id: int | None = None
    unassigned: bool | None = None
    label: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    group_id: int | None = None
    sender_id: int | None = None
    statuses: list[str] = field(default_factory=list)


def _report_conditions(f: ReportFilter) -> list[Any]:
    """The WHERE clauses of a report filter, on the reports table alone (so counting needs no join)."""
    conds: list[Any] = []
    if f.unit_id is not None:
        conds.append(Report.unit_id == f.unit_id)
    if f.unassigned is True:
        conds.append(Report.unit_id.is_(None))
    elif f.unassigned is False:
        conds.append(Report.unit_id.is_not(None))
    if f.label:
        conds.append(Report.id.in_(select(ReportTag.report_id).where(ReportTag.label == f.label)))
    if f.status:
        conds.append(Report.status == f.status)
    if f.date_from:
        conds.append(Report.post_date >= f.date_from)
    if f.date_to:
        conds.append(Report.post_date <= f.date_to)
    if f.q:
        conds.append(Report.text.like(_like(f.q), escape="\\"))
    if f.group_id is not None:
        conds.append(Report.group_id == f.group_id)
    if f.sender_id is not None:
        conds.append(Report.sender_id == f.sender_id)
    return conds


def _review_ids() -> Any:
    """Ids of reports staff must look at: unsure classifications and unattributed reports that may score.

    Two indexed lookups (status, unit_id) joined back by primary key, instead of an OR over every report.
    """
    unsure = select(Report.id.label("id")).where(Report.status == ReportStatus.NEEDS_REVIEW.value)
    # confident chatter without a unit cannot score, so it is left out
    unattributed = select(Report.id.label("id")).where(
        Report.unit_id.is_(None),
        or_(Report.label.is_(None), Report.label != Label.OTHER.value),
        Report.status != ReportStatus.WITHDRAWN.value,  # recalled by its sender: nothing left to decide
    )
    return union(unsure, unattributed).subquery("review_ids")


def _review_from(stmt: Select[Any], unit_id: int | None) -> Select[Any]:
    ids = _review_ids()
    stmt = (
        stmt.select_from(ids)
        .join(Report, Report.id == ids.c.id)
        .join(Member, Member.id == Report.sender_id)
        .where(Member.is_staff.is_(False))  # staff's own notices are never queued
    )
    return stmt.where(Report.unit_id == unit_id) if unit_id is not None else stmt


def _with_names(conds: list[Any]) -> Select[Any]:
    return (
        select(Report, Unit.name, Member.display_name)
        .outerjoin(Unit, Unit.id == Report.unit_id)
        .join(Member, Member.id == Report.sender_id)
        .where(*conds)
    )


def report_query(f: ReportFilter, newest_first: bool = True) -> Select[Any]:
    """Reports with their unit and sender names; newest first uses ix_reports_first_message_at_id."""
    stmt = _with_names(_report_conditions(f))
    if newest_first:
        return stmt.order_by(Report.first_message_at.desc(), Report.id.desc())
    return stmt.order_by(Report.first_message_at, Report.id)


LIST_COLUMNS = (
    Report.id,
    Report.unit_id,
    Report.group_id,
    Report.sender_id,
    Report.post_date,
    Report.activity_date,
    Report.first_message_at,
    Report.text,
    Report.photo_count,
    Report.status,
    Report.label,
    Report.confidence,
    Report.possible_repost,
    Unit.name.label("unit_name"),
    Member.display_name.label("sender_name"),
)  # what the report list shows; loading whole Report objects cost more than the query


def report_list_query(f: ReportFilter, after: tuple[datetime, int] | None = None) -> Select[Any]:
    """The report list's columns, newest first; ``after`` continues after a row (keyset: no OFFSET to skip)."""
    conds = _report_conditions(f)
    if after is not None:
        at, report_id = after
        conds.append(or_(Report.first_message_at < at, and_(Report.first_message_at == at, Report.id < report_id)))
    stmt = select(*LIST_COLUMNS).outerjoin(Unit, Unit.id == Report.unit_id).join(Member, Member.id == Report.sender_id)
    return stmt.where(*conds).order_by(Report.first_message_at.desc(), Report.id.desc())


def review_query(unit_id: int | None = None) -> Select[Any]:
    """Reports staff must look at, oldest first."""
    stmt = _review_from(select(Report, Unit.name, Member.display_name), unit_id)
    return stmt.outerjoin(Unit, Unit.id == Report.unit_id).order_by(Report.first_message_at, Report.id)


def count_reports(session: Session, f: ReportFilter | None = None) -> int:
    """The number of reports matching a filter, counted on the reports table only."""
    conds = _report_conditions(f) if f is not None else []
    return int(session.scalar(select(func.count()).select_from(Report).where(*conds)) or 0)


def count_review(session: Session, unit_id: int | None = None) -> int:
    return int(session.scalar(_review_from(select(func.count()), unit_id)) or 0)


def page_rows(session: Session, stmt: Select[Any], offset: int, limit: int) -> list[Any]:
    """One page of a query whose total is counted separately (see ``count_reports``)."""
    return list(session.execute(stmt.offset(offset).limit(limit)).all())


def report_row(session: Session, report_id: int) -> tuple[Report, str | None, str | None] | None:
    stmt = (
        select(Report, Unit.name, Member.display_name)
        .outerjoin(Unit, Unit.id == Report.unit_id)
        .join(Member, Member.id == Report.sender_id)
        .where(Report.id == report_id)
    )
    row = session.execute(stmt).first()
    return None if row is None else (row[0], row[1], row[2])


def photo_evidence(session: Session, report_ids: Sequence[int]) -> dict[int, ReportPhotoEvidence]:
    """The photo evidence signals (OCR, distinct photos) of many reports in one query; absent until read."""
    if not report_ids:
        return {}
    stmt = select(ReportPhotoEvidence).where(ReportPhotoEvidence.report_id.in_(report_ids))
    return {row.report_id: row for row in session.scalars(stmt)}


def report_photos(session: Session, report_ids: Sequence[int]) -> dict[int, list[tuple[ReportPhoto, Media]]]:
    """Photos of many reports in one query, in posting order."""
    out: dict[int, list[tuple[ReportPhoto, Media]]] = {i: [] for i in report_ids}
    if not report_ids:
        return out
    stmt = (
        select(ReportPhoto, Media)
        .join(Media, Media.id == ReportPhoto.media_id)
        .where(ReportPhoto.report_id.in_(report_ids))
        .order_by(ReportPhoto.posted_at, ReportPhoto.id)
    )
    for photo, media in session.execute(stmt).tuples():
        out[photo.report_id].append((photo, media))
    return out


def current_classifications(session: Session, report_ids: Iterable[int]) -> dict[int, Classification]:
    """The current classification of each report, in one query (review cards show its secondary labels and facts)."""
    ids = list(report_ids)
    if not ids:
        return {}
    stmt = (
        select(Classification)
        .where(Classification.report_id.in_(ids), Classification.is_current.is_(True))
        .order_by(Classification.created_at, Classification.id)
    )
    return {c.report_id: c for c in session.scalars(stmt)}  # the newest wins


def current_classification(session: Session, report_id: int) -> Classification | None:
    stmt = (
        select(Classification)
        .where(Classification.report_id == report_id, Classification.is_current.is_(True))
        .order_by(Classification.created_at.desc(), Classification.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def report_tags(session: Session, report_id: int) -> list[str]:
    stmt = (
        select(ReportTag.label)
        .where(ReportTag.report_id == report_id)
        .order_by(ReportTag.is_primary.desc(), ReportTag.label)
    )
    return list(session.scalars(stmt))


def report_corrections(session: Session, report_id: int) -> list[AuditEntry]:
    return audit.history(session, ("report", report_id))


def media_reports(session: Session, media_id: int) -> list[int]:
    """Reports that show a media item (a photo is visible to whoever may see one of them)."""
    return list(session.scalars(select(ReportPhoto.report_id).where(ReportPhoto.media_id == media_id)))


# --- messages that are not reports -----------------------------------------------------------------

MESSAGE_STATUSES = (RawStatus.CHATTER.value, RawStatus.IGNORED.value, RawStatus.REJECTED.value)


@dataclass
class MessageFilter:
    """Every way the 消息 list can be narrowed; by default the members' messages kept as messages."""

    status: str | None = RawStatus.CHATTER.value
    reason: str | None = None
    kind: str | None = None
    unit_id: int | None = None
    unassigned: bool | None = None
    group_id: int | None = None
    sender_id: int | None = None
    since: datetime | None = None  # sent at or after (aware)
    until: datetime | None = None  # sent before (aware)
    q: str | None = None


def message_filter(
    tz: tzinfo,
    *,
    status: str | None,
    reason: str | None = None,
    kind: str | None = None,
    unit_id: int | None = None,
    unassigned: bool | None = None,
    group_id: int | None = None,
    sender_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    q: str | None = None,
) -> MessageFilter:
    """The 消息 filter for the office's local days (inclusive), shared by the API and the console."""
    since = datetime.combine(date_from, time.min, tz) if date_from else None
    until = datetime.combine(date_to + timedelta(days=1), time.min, tz) if date_to else None
    return MessageFilter(
        status=status,
        reason=reason,
        kind=kind,
        unit_id=unit_id,
        unassigned=unassigned,
        group_id=group_id,
        sender_id=sender_id,
        since=since,
        until=until,
        q=q,
    )


def _message_conditions(f: MessageFilter) -> list[Any]:
    conds: list[Any] = [RawMessage.status.in_([f.status] if f.status else MESSAGE_STATUSES)]
    if f.reason:
        conds.append(RawMessage.reason == f.reason)
    if f.kind:
        conds.append(RawMessage.kind == f.kind)
    if f.unit_id is not None:
        conds.append(Member.unit_id == f.unit_id)
    if f.unassigned is True:
        conds.append(Member.unit_id.is_(None))
    if f.group_id is not None:
        conds.append(RawMessage.group_id == f.group_id)
    if f.sender_id is not None:
        conds.append(RawMessage.sender_id == f.sender_id)
    if f.since is not None:
        conds.append(RawMessage.sent_at >= f.since)
    if f.until is not None:
        conds.append(RawMessage.sent_at < f.until)
    if f.q:
        conds.append(RawMessage.text.like(_like(f.q), escape="\\"))
    return conds


def _message_rows() -> Select[Any]:
    """(raw message, sender's unit id, unit name, group name): what the 消息 list shows of a message."""
    return (
        select(RawMessage, Member.unit_id, Unit.name, ChatGroup.name)
        .outerjoin(Member, Member.id == RawMessage.sender_id)
        .outerjoin(Unit, Unit.id == Member.unit_id)
        .outerjoin(ChatGroup, ChatGroup.id == RawMessage.group_id)
    )


def message_query(f: MessageFilter) -> Select[Any]:
    """The filtered messages, newest first."""
    return _message_rows().where(*_message_conditions(f)).order_by(RawMessage.sent_at.desc(), RawMessage.id.desc())


def count_messages(session: Session, f: MessageFilter) -> int:
    stmt = (
        select(func.count())
        .select_from(RawMessage)
        .outerjoin(Member, Member.id == RawMessage.sender_id)
        .where(*_message_conditions(f))
    )
    return int(session.scalar(stmt) or 0)


def message_rows(session: Session, ids: Sequence[int]) -> list[Any]:
    """The same rows as ``message_query`` for given raw message ids (after a demotion)."""
    stmt = _message_rows().where(RawMessage.id.in_(list(ids))).order_by(RawMessage.sent_at, RawMessage.id)
    return list(session.execute(stmt).all())


def unit_message_count(session: Session, unit_id: int) -> int:
    """The unit's members' messages kept as messages (收到, stickers…): shown apart from its reports."""
    stmt = (
        select(func.count())
        .select_from(RawMessage)
        .join(Member, Member.id == RawMessage.sender_id)
        .where(Member.unit_id == unit_id, RawMessage.status == RawStatus.CHATTER.value)
    )
    return int(session.scalar(stmt) or 0)


def media_in_messages(session: Session, media_id: int) -> bool:
    """A photo kept in a message (a demoted report's photo) is visible to staff like a report photo."""
    stmt = select(RawMessage.id).where(RawMessage.media_id == media_id, RawMessage.status.in_(MESSAGE_STATUSES))
    return session.scalar(stmt.limit(1)) is not None


# --- audit -----------------------------------------------------------------------------------------


def audit_query(
    kind: str | None = None,
    actor: str | None = None,
    report_id: int | None = None,
    member_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Any]:
    stmt = audit.query(kind=kind, actor=actor, since=since, until=until)
    if report_id is not None:
        stmt = stmt.where(AuditEntry.report_id == report_id)
    if member_id is not None:
        stmt = stmt.where(AuditEntry.member_id == member_id)
    return stmt


# --- dashboard -------------------------------------------------------------------------------------


def dashboard_counts(session: Session, today: date) -> dict[str, int]:
    """The console's tiles: this month's reports (recalled ones not counted), the review queue, senders without
    a unit (office staff excepted) and the active units."""
    start = today.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    month_reports = select(func.count()).where(
        Report.post_date >= start, Report.post_date < end, Report.status != ReportStatus.WITHDRAWN.value
    )
    unassigned_members = select(func.count()).where(Member.unit_id.is_(None), Member.is_staff.is_(False))
    return {
        "month_reports": int(session.scalar(month_reports) or 0),
        "review": count_review(session),
        "unassigned_members": int(session.scalar(unassigned_members) or 0),
        "units": int(session.scalar(select(func.count()).where(Unit.active.is_(True))) or 0),
    }


def month_reporting_units(session: Session, day: date) -> int:
    """How many units have a counted report in the month of ``day``."""
    start = day.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    stmt = select(func.count(func.distinct(Report.unit_id))).where(
        Report.post_date >= start,
        Report.post_date < end,
        Report.unit_id.is_not(None),
        Report.status != ReportStatus.WITHDRAWN.value,
    )
    return int(session.scalar(stmt) or 0)


def data_day(session: Session, today: date) -> date:
    """The day the console's "this month" views open on: today once a quarter of the active units have reported
    this month; before that the last day of the latest earlier month with reports (a demo, or the first days of a
    month, should not open on a table of zeros)."""
    active = int(session.scalar(select(func.count()).where(Unit.active.is_(True))) or 0)
    if active == 0 or month_reporting_units(session, today) * 4 >= active:
        return today
    counted = (Report.unit_id.is_not(None), Report.status != ReportStatus.WITHDRAWN.value)
    latest = session.scalar(select(func.max(Report.post_date)).where(Report.post_date < today.replace(day=1), *counted))
    return latest or today


def unit_monthly_counts(session: Session, unit_id: int, year: int) -> list[int]:
    """Reports per month of one year for one unit (recalled ones not counted): the unit page's trend chart."""
    month = func.extract("month", Report.post_date)
    rows = session.execute(
        select(month, func.count())
        .where(
            Report.unit_id == unit_id,
            Report.post_date >= date(year, 1, 1),
            Report.post_date < date(year + 1, 1, 1),
            Report.status != ReportStatus.WITHDRAWN.value,
        )
        .group_by(month)
    ).all()
    counts = [0] * 12
    for m, n in rows:
        counts[int(m) - 1] = int(n)
    return counts


def count_review_high(session: Session, threshold: float = 0.8) -> int:
    """Reports waiting for review that already have a unit and a label the model is sure of (bulk confirm)."""
    stmt = _review_from(select(func.count(Report.id)), None).where(
        Report.unit_id.is_not(None), Report.label.is_not(None), Report.confidence >= threshold
    )
    return int(session.scalar(stmt) or 0)


def unassigned_senders(
    session: Session, limit: int, offset: int = 0
) -> tuple[list[tuple[Member, int, int | None]], int]:
    """Senders with no unit (office staff excepted), most unassigned reports first: (member, reports, newest id)."""
    waiting = (
        select(Report.sender_id, func.count(Report.id).label("n"), func.max(Report.id).label("newest"))
        .where(Report.unit_id.is_(None))
        .group_by(Report.sender_id)
        .subquery()
    )
    base = select(Member.id).where(Member.unit_id.is_(None), Member.is_staff.is_(False))
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    stmt = (
        select(Member, func.coalesce(waiting.c.n, 0), waiting.c.newest)
        .outerjoin(waiting, waiting.c.sender_id == Member.id)
        .where(Member.unit_id.is_(None), Member.is_staff.is_(False))
        .order_by(func.coalesce(waiting.c.n, 0).desc(), Member.last_seen_at.desc(), Member.id)
        .offset(offset)
        .limit(limit)
    )
    return [(m, int(n), newest) for m, n, newest in session.execute(stmt).all()], total


def staff_users(session: Session) -> list[StaffUser]:
    """Every console account, active ones first (用户管理)."""
    return list(session.scalars(select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.username)))
