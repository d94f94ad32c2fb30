"""One audit trail: every staff-visible change appends one row here, whichever door it came through.

Services call :func:`record` (the API, the console, the CLI and background jobs reach the same services), so a
change leaves the same row whether staff made it in the console or from a terminal. Rows are never updated.
The subject names what changed as a (type, id) pair: ``("report", 12)``, ``("unit", 3)``, ``("criticism", 7)``,
``("model", "v4")``; it is not a foreign key, so the trail outlives what it describes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Index, Integer, Select, String, Text, and_, func, select
from sqlalchemy.ext.hybrid import Comparator, hybrid_property
from sqlalchemy.orm import Mapped, Session, mapped_column

from wenming import versions
from wenming.db import Base, JSONType, UTCDateTime, utcnow
from wenming.errors import DomainError
from wenming.names import ZhEnum

Subject = tuple[str, int | str]


class AuditKind(ZhEnum):
    """What kind of change a row records; the audit page filters by it."""

    CLASSIFICATION = "classification", "分类更正"
    REPORT_UNIT = "report_unit", "报送归属"
    MEMBER_UNIT = "member_unit", "发送人归属"
    REPORT_WITHDRAWN = "report_withdrawn", "报送撤回"
    REPORT_PHOTO_WITHDRAWN = "report_photo_withdrawn", "图片撤回"
    MESSAGE_PROMOTED = "message_promoted", "消息转为报送"
    REPORT_DEMOTED = "report_demoted", "报送改为消息"
    UNIT = "unit", "单位信息"
    UNIT_IMPORT = "unit_import", "名册导入"
    GROUP = "group", "群信息"
    STAFF_USER = "staff_user", "用户管理"
    API_TOKEN = "api_token", "访问令牌"
    RECORD = "record", "台账记录"
    JOB = "job", "后台任务"
    CLASSIFIER_VERSION = "classifier_version", "分类模型版本"
    RECLASSIFY = "reclassify", "重新分类"
    POST_POLICY = "post_policy", "发布策略"
    CAPTURE_AGENT = "capture_agent", "采集代理"
    CAPTURE_WATCH = "capture_watch", "采集缺口告警设置"
    SCORING_PERIOD = "scoring_period", "考核期"
    APPEAL = "appeal", "申诉"
    UNIT_LINK = "unit_link", "单位查看链接"
    UNIT_COVERAGE = "unit_coverage", "计分起始月份"


RANKING_KINDS = frozenset(
    {
        AuditKind.CLASSIFICATION,
        AuditKind.REPORT_UNIT,
        AuditKind.MEMBER_UNIT,
        AuditKind.REPORT_WITHDRAWN,
        AuditKind.REPORT_PHOTO_WITHDRAWN,
        AuditKind.MESSAGE_PROMOTED,
        AuditKind.REPORT_DEMOTED,
        AuditKind.UNIT,
        AuditKind.UNIT_IMPORT,
        AuditKind.GROUP,
        AuditKind.RECORD,
        AuditKind.RECLASSIFY,
        AuditKind.SCORING_PERIOD,
        AuditKind.APPEAL,
        AuditKind.UNIT_COVERAGE,
    }
)  # changes that can move a ranking: their transaction bumps the rankings version (wenming.versions)


class AuditEntry(Base):
    """Who changed what, when, from what to what, and why."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject", "subject_type", "subject_id"),
        Index("ix_audit_log_kind_created_at", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))  # staff:<user> | cli:<login> | a name given with --actor
    subject_type: Mapped[str | None] = mapped_column(String(30))
    subject_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def _subject_int(self, kind: str) -> int | None:
        return int(self.subject_id) if self.subject_type == kind and (self.subject_id or "").isdigit() else None

    @hybrid_property
    def report_id(self) -> int | None:
        """The report this row is about (``AuditEntry.report_id == 5`` filters on the subject index)."""
        return self._subject_int("report")

    @report_id.inplace.comparator
    @classmethod
    def _report_id_comparator(cls) -> _SubjectIs:
        return _SubjectIs(cls, "report")

    @hybrid_property
    def member_id(self) -> int | None:
        return self._subject_int("member")

    @member_id.inplace.comparator
    @classmethod
    def _member_id_comparator(cls) -> _SubjectIs:
        return _SubjectIs(cls, "member")


class _SubjectIs(Comparator[int]):
    """``AuditEntry.report_id == 5`` as ``subject_type = 'report' AND subject_id = '5'``."""

    def __init__(self, entity: type[AuditEntry], kind: str) -> None:
        super().__init__(entity.subject_id)
        self.entity, self.kind = entity, kind

    def __eq__(self, other: object) -> ColumnElement[bool]:  # type: ignore[override]
        return and_(self.entity.subject_type == self.kind, self.entity.subject_id == str(other))


def _jsonable(value: Any) -> Any:
    """Snapshots hold dates and enums; the JSON column gets their ISO and code forms."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)
    return value


def record(
    session: Session,
    actor: str,
    kind: AuditKind,
    *,
    subject: Subject | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Append one audit row; services call this for every change staff can see (it only flushes)."""
    actor = (actor or "").strip()
    if not actor:
        raise DomainError("请注明操作人")
    row = AuditEntry(
        kind=AuditKind(kind).value,
        actor=actor[:100],
        subject_type=subject[0] if subject else None,
        subject_id=str(subject[1]) if subject else None,
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        reason=reason,
    )
    session.add(row)
    session.flush()
    if AuditKind(kind) in RANKING_KINDS:
        versions.touch(session, versions.RANKINGS)
    return row


def query(
    *,
    kind: str | None = None,
    actor: str | None = None,
    subject: Subject | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Any]:
    """Audit rows matching the filters, newest first."""
    stmt = select(AuditEntry)
    if kind:
        stmt = stmt.where(AuditEntry.kind == kind)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if subject is not None:
        stmt = stmt.where(AuditEntry.subject_type == subject[0], AuditEntry.subject_id == str(subject[1]))
    if since is not None:
        stmt = stmt.where(AuditEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.created_at < until)
    return stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def history(session: Session, subject: Subject, kind: AuditKind | None = None) -> list[AuditEntry]:
    """Everything recorded about one subject, newest first."""
    return list(session.scalars(query(subject=subject, kind=kind.value if kind else None)))


def count(session: Session, kind: AuditKind) -> int:
    return int(session.scalar(select(func.count()).where(AuditEntry.kind == kind.value)) or 0)


def last_id(session: Session, kind: AuditKind) -> int:
    """The newest row of a kind (0 when none): a cheap "has anything changed since" marker."""
    return int(session.scalar(select(func.max(AuditEntry.id)).where(AuditEntry.kind == kind.value)) or 0)
