"""Close and publish scoring periods: a snapshot staff can stand behind, and later changes kept beside it.

A month, quarter or year of one rubric goes open → closed (a snapshot of every unit's counts, points and
explanation, with who and when) → published (posts, exports and unit pages show that snapshot). A correction
that changes a published period afterwards shows as an adjustment "现为 x（±d）" beside the published figure
until staff re-publish. Open appeals about the period block closing unless staff override with a reason.
Every transition writes one audit row.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ingest.models import Report
from scoring import appeals, history, records
from scoring import service as scoring_service
from scoring.errors import ScoringError
from scoring.models import (
    AppealStatus,
    PeriodKind,
    PeriodSnapshot,
    PeriodState,
    ScoringPeriod,
)
from scoring.periods import month_start, quarter_first_month, today
from scoring.schemas import AnnualScore, PeriodOut, PeriodResult, PeriodRow
from wenming import audit
from wenming.audit import AuditEntry, AuditKind
from wenming.db import utcnow
from wenming.errors import Conflict, NotFound
from wenming.settings import Settings

PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})|\s*[Qq](\d))?$")


class PeriodConflict(Conflict, ScoringError):
    """The period is not in a state that allows this step (close twice, publish before close …)."""


class PeriodNotFound(NotFound, ScoringError):
    """Nothing was ever closed for that period."""


Key = tuple[PeriodKind, int, int]


def parse_period(text: str) -> Key:
    """``2026-10`` (month), ``2026Q3`` (quarter) or ``2026`` (year)."""
    cleaned = text.strip().replace("年第", "Q").replace("季度", "").replace("年", "-").removesuffix("月")
    cleaned = cleaned.removesuffix("-")
    match = PERIOD_RE.match(cleaned)
    if match:
        year = int(match.group(1))
        if match.group(2) and 1 <= int(match.group(2)) <= 12:
            return PeriodKind.MONTH, year, int(match.group(2))
        if match.group(3) and 1 <= int(match.group(3)) <= 4:
            return PeriodKind.QUARTER, year, int(match.group(3))
        if not match.group(2) and not match.group(3):
            return PeriodKind.YEAR, year, 0
    raise ScoringError(f"考核期应写作 2026-10（月）、2026Q3（季度）或 2026（年），收到 {text!r}")


def label(kind: str, year: int, number: int) -> str:
    if kind == PeriodKind.MONTH.value:
        return f"{year}年{number}月"
    if kind == PeriodKind.QUARTER.value:
        return f"{year}年第{number}季度"
    return f"{year}年度"


def bounds(kind: str, year: int, number: int) -> tuple[date, date]:
    """First local day and exclusive end of a period."""
    if kind == PeriodKind.MONTH.value:
        return month_start(year, number), month_start(year, number + 1)
    if kind == PeriodKind.QUARTER.value:
        first = quarter_first_month(number)
        return month_start(year, first), month_start(year, first + 3)
    return date(year, 1, 1), date(year + 1, 1, 1)


def _out(row: ScoringPeriod) -> PeriodOut:
    return PeriodOut(
        id=row.id,
        rubric=row.rubric,
        kind=row.kind,
        year=row.year,
        number=row.number,
        label=label(row.kind, row.year, row.number),
        state=row.state,
        state_zh=PeriodState.zh_of(row.state),
        closed_by=row.closed_by,
        closed_at=row.closed_at,
        published_by=row.published_by,
        published_at=row.published_at,
    )


def _row(session: Session, rubric: str, key: Key) -> ScoringPeriod | None:
    return history.period_row(session, rubric, *key)


def _board(session: Session, settings: Settings, rubric: Any, key: Key, as_of: date) -> BaseModel | list[AnnualScore]:
    kind, year, number = key
    if kind is PeriodKind.MONTH:
        return scoring_service.monthly_ranking(session, settings, rubric, year, number)
    if kind is PeriodKind.QUARTER:
        return scoring_service.quarter_table(session, settings, rubric, year, number, as_of)
    return scoring_service.annual_scores(session, settings, rubric, year, as_of)


def _rows_of(key: Key, board: Any) -> list[dict[str, Any]]:
    """Per unit: rank, the total the period is ranked by, counts/items, and one explanation line."""
    kind = key[0]
    if kind is PeriodKind.MONTH:
        return [
            {
                "unit_id": r.unit_id,
                "unit_name": r.unit_name,
                "rank": r.rank,
                "score": r.liveliness,
                "counts": {**r.label_counts, "active_days": r.active_days, "photos": r.photos},
                "explanation": f"实践 {r.practice_count} 次，活跃 {r.active_days} 天，照片 {r.photos} 张 → 活跃度 "
                f"{r.liveliness:g}",
            }
            for r in board.rows
        ]
    if kind is PeriodKind.QUARTER:
        titles = {c.key: c.title for c in board.columns}
        return [
            {
                "unit_id": r.unit_id,
                "unit_name": r.unit_name,
                "rank": r.rank,
                "score": r.total,
                "items": r.items,
                "explanation": "，".join(f"{titles.get(k, k)} {v:g}" for k, v in r.items.items())
                + f"；合计 {r.total:g}",
            }
            for r in board.rows
        ]
    return [
        {
            "unit_id": r.unit_id,
            "unit_name": r.unit_name,
            "rank": r.rank,
            "score": r.score,
            "items": r.items,
            "warning": r.warning,
            "rectification": r.rectification,
            "explanation": "，".join(f"{k} {v:g}" for k, v in r.items.items()) + f"；年度得分 {r.score:g}",
        }
        for r in board
    ]


def _explanations(session: Session, settings: Settings, rubric: Any, year: int, as_of: date, rows: list[Any]) -> None:
    """Year closes keep each unit's line-by-line explanation as it stood."""
    for row in rows:
        result = scoring_service.explain_unit(session, settings, rubric, row["unit_id"], year, as_of)
        row["lines"] = [f"{i.title}：{i.points:g} 分" for i in result.items] + list(result.notes)


def compute(session: Session, settings: Settings, rubric: Any, key: Key, as_of: date) -> dict[str, Any]:
    """What a snapshot holds: the board as the API returns it and one row per unit."""
    board = _board(session, settings, rubric, key, as_of)
    rows = _rows_of(key, board)
    if key[0] is PeriodKind.YEAR:
        _explanations(session, settings, rubric, key[1], as_of, rows)
        dumped: Any = [r.model_dump(mode="json") for r in board]  # type: ignore[union-attr]
    else:
        dumped = board.model_dump(mode="json")  # type: ignore[union-attr]
    return {"kind": key[0].value, "board": dumped, "rows": rows}


def _transition(
    session: Session,
    row: ScoringPeriod,
    actor: str,
    before: str,
    reason: str | None = None,
    **extra: Any,
) -> None:
    row.updated_at = utcnow()
    session.flush()
    after = {"state": row.state, "period": label(row.kind, row.year, row.number), "rubric": row.rubric, **extra}
    audit.record(
        session,
        actor,
        AuditKind.SCORING_PERIOD,
        subject=("scoring_period", row.id),
        before={"state": before},
        after=after,
        reason=reason,
    )


def _check_actor(actor: str) -> str:
    if not actor or not actor.strip():
        raise ScoringError("请注明操作人")
    return actor.strip()


def _open_appeals(session: Session, key: Key) -> int:
    start, end = bounds(key[0].value, key[1], key[2])
    return appeals.open_count(session, start, end)


def _snapshot(
    session: Session,
    settings: Settings,
    rubric: Any,
    row: ScoringPeriod,
    key: Key,
    as_of: date,
    actor: str,
    reason: str | None,
) -> PeriodSnapshot:
    snap = PeriodSnapshot(
        period_id=row.id,
        as_of=as_of,
        data=compute(session, settings, rubric, key, as_of),
        created_by=actor,
        created_at=utcnow(),
        reason=reason,
    )
    session.add(snap)
    session.flush()
    return snap


def close(
    session: Session,
    settings: Settings,
    rubric: Any,
    period: str,
    actor: str,
    *,
    as_of: date | None = None,
    override: str | None = None,
) -> PeriodOut:
    """Close a period that has ended: store every unit's counts, points and explanation with who and when."""
    actor = _check_actor(actor)
    key = parse_period(period)
    day = as_of or today(settings)
    end = bounds(key[0].value, key[1], key[2])[1]
    if day < end:
        raise ScoringError(f"{label(key[0].value, key[1], key[2])}尚未结束（截至 {end:%Y-%m-%d}），不能关账")
    row = _row(session, rubric.name, key)
    if row is not None and row.state != PeriodState.OPEN.value:
        raise PeriodConflict(f"{label(row.kind, row.year, row.number)}{PeriodState.zh_of(row.state)}，如需更改请先重开")
    pending = _open_appeals(session, key)
    override = (override or "").strip() or None
    if pending and override is None:
        raise PeriodConflict(f"该期间还有 {pending} 条待处理的申诉：请先处理，或注明理由强制关账")
    if row is None:
        row = ScoringPeriod(rubric=rubric.name, kind=key[0].value, year=key[1], number=key[2])
        session.add(row)
        session.flush()
    before = row.state
    row.state, row.closed_by, row.closed_at = PeriodState.CLOSED.value, actor, utcnow()
    session.flush()  # closed before the snapshot is computed: a closed year's figures are final, not 预计
    snap = _snapshot(session, settings, rubric, row, key, day, actor, override)
    row.snapshot_id = snap.id
    extra = {"snapshot_id": snap.id, "open_appeals": pending}
    _transition(session, row, actor, before, reason=override, **extra)
    return _out(row)


def _existing(session: Session, rubric: str, period: str) -> tuple[ScoringPeriod, Key]:
    key = parse_period(period)
    row = _row(session, rubric, key)
    if row is None:
        raise PeriodNotFound(f"{label(key[0].value, key[1], key[2])}尚未关账")
    return row, key


def publish(session: Session, rubric: Any, period: str, actor: str) -> PeriodOut:
    """Publish the closed snapshot: from now on posts, exports and unit pages show it."""
    actor = _check_actor(actor)
    row, _key = _existing(session, rubric.name, period)
    if row.state != PeriodState.CLOSED.value:
        raise PeriodConflict(f"只有已关账的期间可以公布（当前：{PeriodState.zh_of(row.state)}）")
    before = row.state
    row.state, row.published_by, row.published_at = PeriodState.PUBLISHED.value, actor, utcnow()
    row.published_snapshot_id = row.snapshot_id
    _transition(session, row, actor, before, snapshot_id=row.snapshot_id)
    return _out(row)


def republish(
    session: Session,
    settings: Settings,
    rubric: Any,
    period: str,
    actor: str,
    reason: str,
    *,
    as_of: date | None = None,
    override: str | None = None,
) -> PeriodOut:
    """Take the adjustments into a new published snapshot (the old one stays, audited)."""
    actor = _check_actor(actor)
    if not reason.strip():
        raise ScoringError("重新公布请说明原因")
    row, key = _existing(session, rubric.name, period)
    if row.state != PeriodState.PUBLISHED.value:
        raise PeriodConflict(f"只有已公布的期间可以重新公布（当前：{PeriodState.zh_of(row.state)}）")
    pending = _open_appeals(session, key)
    if pending and not (override or "").strip():
        raise PeriodConflict(f"该期间还有 {pending} 条待处理的申诉：请先处理，或注明理由强制重新公布")
    old = row.published_snapshot_id
    snap = _snapshot(session, settings, rubric, row, key, as_of or today(settings), actor, reason.strip())
    row.snapshot_id = row.published_snapshot_id = snap.id
    row.published_by, row.published_at = actor, utcnow()
    _transition(session, row, actor, row.state, reason=reason.strip(), snapshot_id=snap.id, replaced_snapshot_id=old)
    return _out(row)


def reopen(session: Session, rubric: Any, period: str, actor: str, reason: str) -> PeriodOut:
    """Open a closed or published period again; what was published stays published until the next publish."""
    actor = _check_actor(actor)
    if not reason.strip():
        raise ScoringError("重开考核期请说明原因")
    row, _key = _existing(session, rubric.name, period)
    if row.state == PeriodState.OPEN.value:
        raise PeriodConflict(f"{label(row.kind, row.year, row.number)}未关账，无需重开")
    before = row.state
    row.state = PeriodState.OPEN.value
    _transition(session, row, actor, before, reason=reason.strip())
    return _out(row)


def list_periods(session: Session, rubric: str | None = None, year: int | None = None) -> list[PeriodOut]:
    query = select(ScoringPeriod)
    if rubric:
        query = query.where(ScoringPeriod.rubric == rubric)
    if year:
        query = query.where(ScoringPeriod.year == year)
    rows = session.scalars(query.order_by(ScoringPeriod.year.desc(), ScoringPeriod.kind, ScoringPeriod.number.desc()))
    return [_out(r) for r in rows]


def period_history(session: Session, rubric: str, period: str) -> list[AuditEntry]:
    """Every transition of the period, oldest first."""
    row, _key = _existing(session, rubric, period)
    return list(reversed(audit.history(session, ("scoring_period", row.id), AuditKind.SCORING_PERIOD)))


def published_board(session: Session, rubric: str, period: str) -> tuple[Any, PeriodOut] | None:
    """The published board (MonthlyRanking, QuarterTable or list of AnnualScore) and its period, if published."""
    key = parse_period(period)
    snapshot = history.published_snapshot(session, rubric, key)
    row = _row(session, rubric, key)
    if snapshot is None or row is None:
        return None
    return history.board_of(key[0], snapshot), _out(row)


def _changes_since(session: Session, key: Key, unit_ids: set[int], since: datetime | None) -> dict[int, list[str]]:
    """Why figures moved after publication: audited report changes and accepted appeals, per unit."""
    if since is None or not unit_ids:
        return {}
    start, end = bounds(key[0].value, key[1], key[2])
    day = func.coalesce(Report.activity_date, Report.post_date)
    reports = dict(
        session.execute(
            select(Report.id, Report.unit_id).where(Report.unit_id.in_(unit_ids), day >= start, day < end)
        ).all()
    )
    found: dict[int, list[str]] = {}
    kinds = [AuditKind.CLASSIFICATION.value, AuditKind.REPORT_UNIT.value, AuditKind.REPORT_WITHDRAWN.value]
    query = select(AuditEntry).where(
        AuditEntry.kind.in_(kinds), AuditEntry.subject_type == "report", AuditEntry.created_at > since
    )
    for entry in session.scalars(query.order_by(AuditEntry.id)):
        report_id = int(entry.subject_id or 0)
        if report_id in reports:
            text = f"报送 #{report_id} {AuditKind.zh_of(entry.kind)}（{entry.actor}）" + (
                f"：{entry.reason}" if entry.reason else ""
            )
            found.setdefault(reports[report_id], []).append(text)
    for unit_id, text in _record_changes(session, key, unit_ids, since):
        found.setdefault(unit_id, []).append(text)
    for appeal in appeals.resolved_since(session, unit_ids, start, end, since):
        if appeal.status == AppealStatus.ACCEPTED.value:
            found.setdefault(appeal.unit_id, []).append(f"申诉 #{appeal.id} 已采纳：{appeal.resolution}")
    return found


def _record_changes(session: Session, key: Key, unit_ids: set[int], since: datetime) -> list[tuple[int, str]]:
    """Staff records about the period entered or voided after publication, as (unit, one line)."""
    start, end = bounds(key[0].value, key[1], key[2])
    changes = []
    for rtype in records.TYPES.values():
        model = rtype.model
        query = select(model).where(model.unit_id.in_(unit_ids), or_(model.created_at > since, model.voided_at > since))
        if rtype.date_field:
            column = getattr(model, rtype.date_field)
            query = query.where(column >= start, column < end)
        elif rtype.year_field:
            query = query.where(getattr(model, rtype.year_field) == key[1])
        for record in session.scalars(query.order_by(model.id)):
            if record.voided_at is not None and record.voided_at > since:
                text = f"{rtype.zh}已作废（{record.voided_by}）：{rtype.describe(record)}；{record.void_reason}"
            else:
                text = f"新录入{rtype.zh}（{record.created_by}）：{rtype.describe(record)}"
            changes.append((record.unit_id, text))
    return changes


def result(session: Session, settings: Settings, rubric: Any, period: str, as_of: date | None = None) -> PeriodResult:
    """The published figures with today's figures beside them: "现为 x（±d）" wherever they differ."""
    key = parse_period(period)
    row = _row(session, rubric.name, key)
    day = as_of or today(settings)
    current = {r["unit_id"]: r for r in _rows_of(key, _board(session, settings, rubric, key, day))}
    published: dict[int, dict[str, Any]] = {}
    if row is not None and row.published_snapshot_id is not None:
        snap = session.get(PeriodSnapshot, row.published_snapshot_id)
        published = {r["unit_id"]: r for r in (snap.data["rows"] if snap else [])}
    changed = {
        uid
        for uid in set(current) | set(published)
        if published and (published.get(uid) or {}).get("score") != (current.get(uid) or {}).get("score")
    }
    reasons = _changes_since(session, key, changed, row.published_at if row else None)
    rows = []
    for uid in sorted(set(current) | set(published), key=lambda u: _order(published or current, u)):
        pub, cur = published.get(uid), current.get(uid)
        rows.append(_result_row(uid, pub, cur, bool(published), reasons.get(uid, [])))
    return PeriodResult(
        period=_out(row) if row else None,
        label=label(key[0].value, key[1], key[2]),
        rows=rows,
        adjusted=sum(1 for r in rows if r.adjustment),
    )


def _order(rows: dict[int, dict[str, Any]], uid: int) -> tuple[int, str]:
    found = rows.get(uid)
    return (found["rank"], found["unit_name"]) if found else (10**9, "")


def _result_row(
    uid: int, pub: dict[str, Any] | None, cur: dict[str, Any] | None, has_published: bool, reasons: list[str]
) -> PeriodRow:
    shown = pub if has_published else cur
    published_score = pub.get("score") if pub else None
    current_score = cur.get("score") if cur else None
    delta = None
    adjustment = None
    if has_published and published_score != current_score:
        if current_score is None:
            adjustment = "现为 无数据"
        else:
            delta = round(current_score - (published_score or 0), 2)
            adjustment = f"现为 {current_score:g}（{delta:+g}）"
    return PeriodRow(
        unit_id=uid,
        unit_name=(shown or cur or pub or {}).get("unit_name", ""),
        rank=(shown or {}).get("rank"),
        published=published_score,
        current=current_score,
        delta=delta,
        adjustment=adjustment,
        explanation=(shown or {}).get("explanation"),
        reasons=reasons,
    )
