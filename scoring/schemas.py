"""What scoring answers (rankings, tables, scores, explanations) and the staff record inputs it accepts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from scoring.models import AdjustmentKind, AppealTarget, CheckKind, OutletLevel


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class MonthlyRankingRow(_Out):
    rank: int
    unit_id: int
    unit_name: str
    honour_level: str
    practice_count: int  # reports counted by the practice item (practice + volunteer under 长兴)
    label_counts: dict[str, int]  # reports per effective label (practice/pairing/news/volunteer/other)
    active_days: int
    photos: int  # non-repost photos of liveliness reports, before the daily cap
    liveliness: float
    meets_minimum: bool


class MonthlyRanking(_Out):
    rubric: str
    year: int
    month: int
    start: date
    end: date  # exclusive
    formula: str  # the liveliness formula, in Chinese
    tie_rule: str
    rows: list[MonthlyRankingRow]
    no_data: list[str] = []  # units whose counting starts after this month: not ranked, never reminded


class TableColumn(_Out):
    key: str
    title: str
    max_points: float | None


class QuarterRow(_Out):
    rank: int
    unit_id: int
    unit_name: str
    honour_level: str
    items: dict[str, float]
    total: float


class QuarterTable(_Out):
    rubric: str
    title: str
    year: int
    quarter: int
    columns: list[TableColumn]
    rows: list[QuarterRow]
    no_data: list[str] = []  # units with no covered month in the quarter (计分起始月份之前): not ranked


class VolunteerCompliance(_Out):
    """长兴 §四.2 ratios as flags; ``None`` ratios mean no statistics were entered."""

    stats_record_id: int | None
    headcount: int | None
    registered: int | None
    active: int | None
    registered_ratio: float | None
    required_registered_ratio: float
    registered_ok: bool | None
    active_ratio: float | None
    required_active_ratio: float
    active_ok: bool | None


class AnnualScore(_Out):
    rank: int
    unit_id: int
    unit_name: str
    honour_level: str
    year: int
    score: float
    items: dict[str, float]
    warning: bool  # below the rubric's warning line
    rectification: bool  # 限期整改: below the line in this and the previous year(s)
    previous_score: float | None  # None when the system holds no data for the previous year
    year_over_year: float | None
    two_year_average: float | None  # mean of this and the previous year, the basis for the next 晋级/复评
    review_component: float | None  # the share of that average in the next 晋级/复评 score (50% under 长兴)
    volunteer: VolunteerCompliance | None
    previous_source: str | None = None  # "published" (closed and published year) | "entered" (historic record)
    provisional: bool = False  # the year is not closed: score is the full-year projection, flags are 预计
    coverage: str | None = None  # the months counted at all, e.g. "2026年8—12月"
    through: str | None = None  # 截至: the last month started by the as-of date, e.g. "2026年6月"
    running_total: float | None = None  # points earned so far on the full-year scale (months not begun add 0)


class LineItem(_Out):
    key: str
    title: str
    max_points: float | None
    points: float
    lines: list[str]
    report_ids: list[int] = []
    record_ids: list[str] = []  # "<kind>:<id>", e.g. "criticism:3"


class UnitExplanation(_Out):
    rubric: str
    unit_id: int
    unit_name: str
    honour_level: str
    year: int
    total: float | None  # None: no covered month in the year (无数据)
    items: list[LineItem]
    notes: list[str]
    provisional: bool = False
    coverage: str | None = None
    through: str | None = None


class RecordOut(_Out):
    kind: str
    id: int
    unit_id: int
    unit_name: str | None = None
    on: date | None = None  # the day the record is about (None when it is about a quarter)
    summary: str
    created_by: str
    created_at: datetime
    voided_by: str | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)


def _not_in_future(value: date) -> date:
    """A record is about something that happened; a day after tomorrow is a typo (one day of slack for time zones)."""
    if value > date.today() + timedelta(days=1):
        raise ValueError(f"日期 {value.isoformat()} 还没到，请检查年份")
    return value


PastDate = Annotated[date, AfterValidator(_not_in_future)]

MAX_ID = 2**31 - 1  # ids are 32-bit integers in every supported database
UnitId = Annotated[int, Field(ge=1, le=MAX_ID)]


class CriticismIn(_In):
    unit_id: UnitId
    occurred_on: PastDate
    reason: str = Field(min_length=1, max_length=2000)
    document: str | None = Field(None, max_length=200)


class MediaAdoptionIn(_In):
    unit_id: UnitId
    title: str = Field(min_length=1, max_length=500)
    outlet: str = Field(min_length=1, max_length=200)
    level: OutletLevel
    published_on: PastDate
    report_id: int | None = Field(None, ge=1, le=MAX_ID)
    url: str | None = Field(None, max_length=1000)

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return OutletLevel.parse(value) if isinstance(value, str) else value


class PairingSheetIn(_In):
    unit_id: UnitId
    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)
    partner: str = Field(min_length=1, max_length=200)
    activity_count: int = Field(1, ge=0, le=1000)
    activity_date: PastDate | None = None
    note: str | None = None


class VolunteerStatsIn(_In):
    unit_id: UnitId
    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)
    headcount: int = Field(gt=0, le=1_000_000)
    registered: int = Field(ge=0, le=1_000_000)
    active: int = Field(ge=0, le=1_000_000)
    service_projects: int | None = Field(None, ge=0, le=100_000)
    service_hours: float | None = Field(None, ge=0, le=10_000_000)

    @field_validator("active")
    @classmethod
    def _active_within_registered(cls, value: int, info) -> int:  # type: ignore[no-untyped-def]
        registered = info.data.get("registered")
        if registered is not None and value > registered:
            raise ValueError("参加服务人数不能超过注册志愿者人数")
        return value


class XixiangCheckIn(_In):
    unit_id: UnitId
    kind: CheckKind
    year: int = Field(ge=2000, le=2100)
    quarter: int | None = Field(None, ge=1, le=4)
    month: int | None = Field(None, ge=1, le=12)
    done_on: PastDate
    value: float | None = Field(None, ge=0, le=100)
    grade: str | None = Field(None, max_length=20)
    note: str | None = None


class AdjustmentIn(_In):
    unit_id: UnitId
    kind: AdjustmentKind
    level: OutletLevel | None = None
    points: float | None = Field(None, gt=0, le=100)
    occurred_on: PastDate
    reason: str = Field(min_length=1, max_length=2000)

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return OutletLevel.parse(value) if isinstance(value, str) else value


class AnnualScoreIn(_In):
    """An official annual score for a year before the system (the two-year rule reads it)."""

    unit_id: UnitId
    year: int = Field(ge=2000, le=2100)
    score: float = Field(ge=0, le=200)
    document: str | None = Field(None, max_length=200)


class PeriodOut(_Out):
    id: int
    rubric: str
    kind: str  # month | quarter | year
    year: int
    number: int  # month, quarter, or 0 for a year
    label: str  # 2026年10月 / 2026年第3季度 / 2026年度
    state: str  # open | closed | published
    state_zh: str
    closed_by: str | None
    closed_at: datetime | None
    published_by: str | None
    published_at: datetime | None


class PeriodRow(_Out):
    unit_id: int
    unit_name: str
    rank: int | None
    published: float | None  # the published figure (None before publication)
    current: float | None  # what the figure is today
    delta: float | None
    adjustment: str | None  # "现为 x（±d）" when today's figure differs from the published one
    explanation: str | None
    reasons: list[str] = []  # audited changes and accepted appeals since publication


class PeriodResult(_Out):
    period: PeriodOut | None  # None: never closed
    label: str
    rows: list[PeriodRow]
    adjusted: int  # units whose figure changed since publication


class AppealIn(_In):
    """What a unit disputes (from its page) or staff enter for it (from a phone call)."""

    target: AppealTarget
    report_id: int | None = Field(None, ge=1, le=MAX_ID)
    record_kind: str | None = Field(None, max_length=30)
    record_id: int | None = Field(None, ge=1, le=MAX_ID)
    wanted_label: str | None = Field(None, max_length=20)
    happened_on: date | None = None  # a missing report: the day of the activity
    reason: str = Field(min_length=2, max_length=1000)


class AppealOut(_Out):
    id: int
    unit_id: int
    unit_name: str | None
    target: str
    target_zh: str
    subject: str  # one Chinese line: which report, record or day
    report_id: int | None = None
    wanted_label: str | None
    happened_on: date
    reason: str
    status: str
    status_zh: str
    filed_by: str
    created_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None


class AppealResolveIn(_In):
    accept: bool
    note: str = Field(min_length=1, max_length=1000)
    label: str | None = Field(None, max_length=20)  # report appeals: the label staff settle on
    report_id: int | None = Field(None, ge=1, le=MAX_ID)  # missing-report appeals: the report to count


class UnitLinkOut(_Out):
    id: int
    unit_id: int
    unit_name: str
    url: str | None  # only when just issued: the token is not stored
    expires_at: datetime
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
