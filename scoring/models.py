"""Staff-entered records that chat cannot show; each says who entered it and when; voided, never deleted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from classifier.models import OutletLevel
from wenming.db import Base, JSONType, UTCDateTime, utcnow
from wenming.names import ZhEnum

__all__ = ["OutletLevel"]  # declared with the classifier's facts, which name the same levels


class CheckKind(ZhEnum):
    """The 西乡 细则 items that staff verify by hand (查阅资料 / 查证资料 / 电话调查 / 系统评价)."""

    ANNUAL_PLAN = "annual_plan", "年度活动计划一览表"
    ANNUAL_SUMMARY = "annual_summary", "年度工作总结"
    MATERIALS = "materials", "资料上传（报送）"
    TEAM_FLAG = "team_flag", "志愿服务队队旗"
    UNIFORMS = "uniforms", "志愿者服装满足需要"
    UNIFORM_WORN = "uniform_worn", "着装参与志愿活动"
    TRAINING = "training", "志愿者队伍培训"
    BRAND_PLAN = "brand_plan", "品牌活动实施方案"
    BRAND_PROMOTED = "brand_promoted", "创新做法、案例在全县推广"
    AWARENESS = "awareness", "知晓率电话调查"
    SATISFACTION = "satisfaction", "满意率评价"
    MONTHLY_SUMMARY = "monthly_summary", "月度活动小结"

    @property
    def scope(self) -> str:
        """``year``: holds for every quarter of the year; ``quarter``; ``month`` (monthly summary)."""
        return CHECK_SCOPES.get(self.value, "quarter")


CHECK_SCOPES: dict[str, str] = {
    "annual_plan": "year",
    "annual_summary": "year",
    "team_flag": "year",
    "uniforms": "year",
    "brand_plan": "year",
    "brand_promoted": "year",
    "monthly_summary": "month",
}


class AdjustmentKind(ZhEnum):
    """Bonus (加分) and deduction (扣分) items of the 西乡 办法."""

    HOSTED_EVENT = "hosted_event", "承办县新时代文明实践中心会议、活动"
    RESEARCH_VISIT = "research_visit", "承接调研组现场调研指导"
    LEADER_INSTRUCTION = "leader_instruction", "做法受到领导批示"
    MATERIALS_MISSING = "materials_missing", "未按要求报送资料"
    PERFUNCTORY = "perfunctory", "志愿服务活动敷衍了事、形式主义"
    FALSIFICATION = "falsification", "志愿服务涉嫌造假经核实属实"
    OTHER = "other", "其他"

    @property
    def is_bonus(self) -> bool:
        return self in (
            AdjustmentKind.HOSTED_EVENT,
            AdjustmentKind.RESEARCH_VISIT,
            AdjustmentKind.LEADER_INSTRUCTION,
        )


class RecordKind(ZhEnum):
    """The kinds of record staff enter by hand (``scoring.records`` holds what each one is made of)."""

    CRITICISM = "criticism", "通报批评"
    MEDIA_ADOPTION = "media_adoption", "稿件录用"
    PAIRING_SHEET = "pairing_sheet", "结对共建情况表"
    VOLUNTEER_STATS = "volunteer_stats", "志愿者注册统计"
    CHECK = "check", "西乡考核核查"
    ADJUSTMENT = "adjustment", "加分与扣分"
    ANNUAL_SCORE = "annual_score", "历史年度得分"


class AuditMixin:
    """Who entered a record and when; voiding keeps the row for the audit trail."""

    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_by: Mapped[str | None] = mapped_column(String(100))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)


class Criticism(AuditMixin, Base):
    """通报批评: one −5 under 长兴 重点工作配合."""

    __tablename__ = "scoring_criticisms"
    __table_args__ = (Index("ix_scoring_criticisms_unit_date", "unit_id", "occurred_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    occurred_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(String(200))  # 督查通报 文号


class MediaAdoption(AuditMixin, Base):
    """An article adopted (录用/刊登) by a medium; deduplicated by ``title_key`` at scoring time."""

    __tablename__ = "scoring_media_adoptions"
    __table_args__ = (Index("ix_scoring_media_adoptions_unit_date", "unit_id", "published_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    title_key: Mapped[str] = mapped_column(String(500), index=True)
    outlet: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    published_on: Mapped[date] = mapped_column(Date)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    url: Mapped[str | None] = mapped_column(String(1000))


class PairingSheet(AuditMixin, Base):
    """《文明单位结对共建情况表》 for one quarter."""

    __tablename__ = "scoring_pairing_sheets"
    __table_args__ = (Index("ix_scoring_pairing_sheets_unit_year", "unit_id", "year", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    partner: Mapped[str] = mapped_column(String(200))  # 行政村（居）
    activity_count: Mapped[int] = mapped_column(Integer, default=1)
    activity_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


class VolunteerStats(AuditMixin, Base):
    """Volunteer registration figures from the 志愿服务 system; the newest row per unit and quarter wins."""

    __tablename__ = "scoring_volunteer_stats"
    __table_args__ = (Index("ix_scoring_volunteer_stats_unit_year", "unit_id", "year", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    headcount: Mapped[int] = mapped_column(Integer)  # 员工总数 / 在编在岗总数
    registered: Mapped[int] = mapped_column(Integer)  # 注册志愿者
    active: Mapped[int] = mapped_column(Integer)  # 参加志愿服务活动的注册志愿者
    service_projects: Mapped[int | None] = mapped_column(Integer)  # 点单服务项目数
    service_hours: Mapped[float | None] = mapped_column(Float)  # 本季度志愿服务总时长（小时）


class XixiangCheck(AuditMixin, Base):
    """A 西乡 细则 item verified by staff; ``value`` holds a percentage, ``grade`` a satisfaction grade."""

    __tablename__ = "scoring_checks"
    __table_args__ = (Index("ix_scoring_checks_unit_year", "unit_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int | None] = mapped_column(Integer)
    month: Mapped[int | None] = mapped_column(Integer)
    done_on: Mapped[date] = mapped_column(Date)  # date of the document, survey or submission
    value: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


class Adjustment(AuditMixin, Base):
    """A bonus (加分) or deduction (扣分) entry; bonus points come from the rubric's table at scoring time."""

    __tablename__ = "scoring_adjustments"
    __table_args__ = (Index("ix_scoring_adjustments_unit_date", "unit_id", "occurred_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[str | None] = mapped_column(String(20))
    points: Mapped[float | None] = mapped_column(Float)  # deductions: the points staff decided (酌情扣分)
    occurred_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)


class AnnualScoreRecord(AuditMixin, Base):
    """A unit's official annual score for a year before the system (the two-year rule reads it)."""

    __tablename__ = "scoring_annual_scores"
    __table_args__ = (Index("ix_scoring_annual_scores_unit_year", "unit_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    document: Mapped[str | None] = mapped_column(String(200))  # where the figure comes from (文号、年度通报)


class PeriodKind(ZhEnum):
    MONTH = "month", "月度"
    QUARTER = "quarter", "季度"
    YEAR = "year", "年度"


class PeriodState(ZhEnum):
    OPEN = "open", "未关账"
    CLOSED = "closed", "已关账"
    PUBLISHED = "published", "已公布"


class ScoringPeriod(Base):
    """A month, quarter or year of one rubric and where it stands: open → closed → published."""

    __tablename__ = "scoring_periods"
    __table_args__ = (UniqueConstraint("rubric", "kind", "year", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rubric: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)  # month 1–12, quarter 1–4, 0 for a year
    state: Mapped[str] = mapped_column(String(12), default=PeriodState.OPEN.value)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snapshot_id: Mapped[int | None] = mapped_column(Integer)  # the snapshot taken at the last close
    published_snapshot_id: Mapped[int | None] = mapped_column(Integer)  # what posts and unit pages show
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PeriodSnapshot(Base):
    """Every unit's counts, points and explanation at a close; never changed afterwards."""

    __tablename__ = "scoring_snapshots"
    __table_args__ = (Index("ix_scoring_snapshots_period", "period_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("scoring_periods.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was taken again (override, re-close after reopen)


class AppealTarget(ZhEnum):
    REPORT = "report", "报送分类"
    MISSING = "missing", "漏计报送"
    RECORD = "record", "台账记录"


class AppealStatus(ZhEnum):
    OPEN = "open", "待处理"
    ACCEPTED = "accepted", "已采纳"
    REJECTED = "rejected", "已驳回"


class Appeal(Base):
    """A unit disputes a report's label, a report that was not counted, or a staff record."""

    __tablename__ = "scoring_appeals"
    __table_args__ = (
        Index("ix_scoring_appeals_status", "status", "created_at"),
        Index("ix_scoring_appeals_unit", "unit_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(10))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    record_kind: Mapped[str | None] = mapped_column(String(30))
    record_id: Mapped[int | None] = mapped_column(Integer)
    wanted_label: Mapped[str | None] = mapped_column(String(20))  # what the unit says the report is
    happened_on: Mapped[date] = mapped_column(Date)  # the day the disputed evidence is about
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=AppealStatus.OPEN.value)
    filed_by: Mapped[str] = mapped_column(String(100))  # unit-link:<id> or a staff actor
    link_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class UnitLink(Base):
    """A signed read-only link to one unit's page; only a hash of its signature is stored."""

    __tablename__ = "scoring_unit_links"
    __table_args__ = (UniqueConstraint("token_hash"), Index("ix_scoring_unit_links_unit", "unit_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScoreChange(Base):
    """A unit whose scoring inputs changed, written by database triggers (migration 0015) on every write path.

    Append-only, so writers never wait on each other; the score cache consumes the rows (``scoring.score_cache``).
    """

    __tablename__ = "score_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer)


class ScoreCacheEntry(Base):
    """One unit's computed part of a table (its columns, its liveliness counts) under a key naming all other inputs."""

    __tablename__ = "score_cache"
    __table_args__ = (Index("ix_score_cache_unit", "unit_id"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
