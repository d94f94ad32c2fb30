"""Appeals: a unit disputes a report's label, a report that was not counted, or a staff record.

Filed from the unit's page (or by staff after a phone call) within the office's window; staff accept — the
change flows into the score through the existing correction, assignment and void services, each audited — or
reject with a reason. Open appeals block closing the period they are about.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifier import service as classifier_service
from classifier.models import Label
from ingest import service as ingest_service
from ingest.models import Report, Unit
from scoring import records
from scoring import service as scoring_service
from scoring.errors import ScoringError
from scoring.models import Appeal, AppealStatus, AppealTarget
from scoring.periods import today
from scoring.schemas import AppealIn, AppealOut, AppealResolveIn
from wenming import audit
from wenming.audit import AuditKind
from wenming.db import utcnow
from wenming.errors import Conflict, NotFound, RateLimited
from wenming.settings import Settings


class AppealNotFound(NotFound, ScoringError):
    """No appeal (or no evidence of this unit) has that number."""


class AppealRefused(Conflict, ScoringError):
    """Too late, too many open, or already resolved."""


class AppealRateLimited(RateLimited, ScoringError):
    """One link filed too many appeals within the hour."""


def _label_zh(code: str | None) -> str:
    return Label.zh_of(code) if code else ""


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _evidence_day(session: Session, unit_id: int, data: AppealIn) -> date:
    """The day the disputed evidence is about; evidence of another unit is "not found", never revealed."""
    if data.target is AppealTarget.REPORT:
        report = session.get(Report, data.report_id) if data.report_id else None
        if report is None or report.unit_id != unit_id:
            raise AppealNotFound("找不到该单位的这条报送")
        if data.wanted_label is not None and data.wanted_label not in Label.names():
            raise ScoringError("请选择正确的分类")
        return report.activity_date or report.post_date
    if data.target is AppealTarget.RECORD:
        rtype = records.record_type(data.record_kind or "")
        record = session.get(rtype.model, data.record_id) if data.record_id else None
        if record is None or record.unit_id != unit_id:
            raise AppealNotFound("找不到该单位的这条记录")
        on = rtype.on(record)
        if on is None:  # quarterly figures: the quarter's last day
            quarter = getattr(record, "quarter", None) or 4
            on = _month_end(date(record.year, quarter * 3, 1))
        return on
    if data.happened_on is None:
        raise ScoringError("请填写漏计活动的日期")
    return data.happened_on


def _check_limits(
    session: Session, settings: Settings, unit_id: int, link_id: int | None, day: date, now: date
) -> None:
    if day > now:
        raise ScoringError("日期不能晚于今天")
    deadline = _month_end(day) + timedelta(days=settings.appeal_window_days)
    if now > deadline:
        raise AppealRefused(f"已超过申诉期限（{day.year}年{day.month}月的申诉截至 {deadline:%Y-%m-%d}）")
    open_now = session.scalar(
        select(func.count()).where(Appeal.unit_id == unit_id, Appeal.status == AppealStatus.OPEN.value)
    )
    if (open_now or 0) >= settings.appeal_open_limit:
        raise AppealRefused(f"待处理的申诉已有 {open_now} 条，请等待文明办处理后再提交")
    if link_id is not None:
        recent = session.scalar(
            select(func.count()).where(Appeal.link_id == link_id, Appeal.created_at >= utcnow() - timedelta(hours=1))
        )
        if (recent or 0) >= settings.appeal_rate_per_hour:
            raise AppealRateLimited("提交过于频繁，请一小时后再试")


def file(
    session: Session,
    settings: Settings,
    unit_id: int,
    data: AppealIn,
    filed_by: str,
    *,
    link_id: int | None = None,
    now: date | None = None,
) -> AppealOut:
    """Record an appeal in the review queue (one audit row)."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise AppealNotFound(f"没有编号为 {unit_id} 的单位")
    day = _evidence_day(session, unit_id, data)
    _check_limits(session, settings, unit_id, link_id, day, now or today(settings))
    appeal = Appeal(
        unit_id=unit_id,
        target=data.target.value,
        report_id=data.report_id if data.target is AppealTarget.REPORT else None,
        record_kind=data.record_kind if data.target is AppealTarget.RECORD else None,
        record_id=data.record_id if data.target is AppealTarget.RECORD else None,
        wanted_label=data.wanted_label,
        happened_on=day,
        reason=data.reason,
        status=AppealStatus.OPEN.value,
        filed_by=filed_by,
        link_id=link_id,
        created_at=utcnow(),
    )
    session.add(appeal)
    session.flush()
    out = _out(appeal, unit.name)
    after = {"unit_id": unit_id, "target": appeal.target, "subject": out.subject, "status": appeal.status}
    audit.record(session, filed_by, AuditKind.APPEAL, subject=("appeal", appeal.id), after=after, reason=data.reason)
    return out


def _subject(appeal: Appeal) -> str:
    if appeal.target == AppealTarget.REPORT.value:
        wanted = f"，应为「{_label_zh(appeal.wanted_label)}」" if appeal.wanted_label else ""
        return f"报送 #{appeal.report_id}（{appeal.happened_on}）分类有误{wanted}"
    if appeal.target == AppealTarget.RECORD.value:
        kind = records.record_type(appeal.record_kind or "").zh if appeal.record_kind else "记录"
        return f"{kind} #{appeal.record_id}（{appeal.happened_on}）"
    return f"{appeal.happened_on} 的活动未计入"


def _out(appeal: Appeal, unit_name: str | None) -> AppealOut:
    return AppealOut(
        id=appeal.id,
        unit_id=appeal.unit_id,
        unit_name=unit_name,
        target=appeal.target,
        target_zh=AppealTarget.zh_of(appeal.target),
        subject=_subject(appeal),
        report_id=appeal.report_id,
        wanted_label=appeal.wanted_label,
        happened_on=appeal.happened_on,
        reason=appeal.reason,
        status=appeal.status,
        status_zh=AppealStatus.zh_of(appeal.status),
        filed_by=appeal.filed_by,
        created_at=appeal.created_at,
        resolved_by=appeal.resolved_by,
        resolved_at=appeal.resolved_at,
        resolution=appeal.resolution,
    )


def list_appeals(
    session: Session, *, status: str | None = None, unit_id: int | None = None, limit: int = 200
) -> list[AppealOut]:
    """Appeals newest first (open ones are the review queue)."""
    query = select(Appeal, Unit.name).join(Unit, Unit.id == Appeal.unit_id)
    if status:
        query = query.where(Appeal.status == status)
    if unit_id is not None:
        query = query.where(Appeal.unit_id == unit_id)
    rows = session.execute(query.order_by(Appeal.created_at.desc(), Appeal.id.desc()).limit(limit))
    return [_out(appeal, name) for appeal, name in rows]


def open_count(session: Session, start: date, end: date) -> int:
    """Open appeals about evidence in [start, end): they block closing that period."""
    query = select(func.count()).where(
        Appeal.status == AppealStatus.OPEN.value, Appeal.happened_on >= start, Appeal.happened_on < end
    )
    return int(session.scalar(query) or 0)


def resolved_since(session: Session, unit_ids: Iterable[int], start: date, end: date, since: datetime) -> list[Appeal]:
    query = select(Appeal).where(
        Appeal.unit_id.in_(list(unit_ids)),
        Appeal.resolved_at > since,
        Appeal.happened_on >= start,
        Appeal.happened_on < end,
    )
    return list(session.scalars(query.order_by(Appeal.id)))


def _apply(session: Session, appeal: Appeal, actor: str, data: AppealResolveIn) -> str:
    """Accepting changes the evidence through the services that own it; returns what was done."""
    why = f"申诉 #{appeal.id}：{data.note}"
    if appeal.target == AppealTarget.REPORT.value:
        wanted = data.label or appeal.wanted_label
        if not wanted:
            raise ScoringError("采纳分类申诉请选择正确的分类")
        classifier_service.correct_classification(session, appeal.report_id or 0, label=wanted, actor=actor, reason=why)
        return f"报送 #{appeal.report_id} 更正为「{_label_zh(wanted)}」"
    if appeal.target == AppealTarget.RECORD.value:
        scoring_service.void_record(session, appeal.record_kind or "", appeal.record_id or 0, actor, why)
        return f"{records.record_type(appeal.record_kind or '').zh} #{appeal.record_id} 已作废"
    if data.report_id is None:
        raise ScoringError("采纳漏计申诉请填写应计入的报送编号（如需补录，请先将群消息转为报送）")
    ingest_service.assign_report_unit(session, data.report_id, appeal.unit_id, actor=actor, reason=why)
    return f"报送 #{data.report_id} 已计入该单位"


def resolve(session: Session, appeal_id: int, actor: str, data: AppealResolveIn) -> AppealOut:
    """Accept (the evidence changes, audited by its own service) or reject, with a note the unit sees."""
    actor = (actor or "").strip()
    if not actor:
        raise ScoringError("请注明处理人")
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise AppealNotFound(f"没有编号为 {appeal_id} 的申诉")
    if appeal.status != AppealStatus.OPEN.value:
        raise AppealRefused(f"申诉 #{appeal_id} {AppealStatus.zh_of(appeal.status)}")
    done = _apply(session, appeal, actor, data) if data.accept else None
    appeal.status = (AppealStatus.ACCEPTED if data.accept else AppealStatus.REJECTED).value
    appeal.resolved_by, appeal.resolved_at = actor, utcnow()
    appeal.resolution = data.note + (f"（{done}）" if done else "")
    session.flush()
    audit.record(
        session,
        actor,
        AuditKind.APPEAL,
        subject=("appeal", appeal.id),
        before={"status": AppealStatus.OPEN.value},
        after={"status": appeal.status, "resolution": appeal.resolution},
        reason=data.note,
    )
    return _out(appeal, session.scalar(select(Unit.name).where(Unit.id == appeal.unit_id)))
