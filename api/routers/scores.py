"""Leaderboards per rubric (monthly liveliness, quarterly table, annual), explained scores, exports, records."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api import exports, schemas
from api import repository as repo
from api.cache import ResultCache
from api.deps import MAX_ID, AppSettings, DbSession, OptionalId, Paging, ResourceId, Reviewer, Viewer
from api.errors import ApiError, NotFound
from ingest.models import Unit
from scoring import models as sm
from scoring import schemas as ss
from scoring import service as scoring_service
from wenming.settings import Settings

router = APIRouter(tags=["排行与计分"])
records_router = APIRouter(prefix="/records", tags=["台账记录"])

MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
QUARTER_RE = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")

RubricName = Annotated[str | None, Query(max_length=100, description="考核细则，如 changxing-2020、xixiang-2022")]
MonthText = Annotated[str | None, Query(max_length=7, description="月份 YYYY-MM，默认本月")]
QuarterText = Annotated[str | None, Query(max_length=7, description="季度 YYYYQn，默认本季度")]
YearNumber = Annotated[int | None, Query(ge=2000, le=2100, description="年份，默认今年")]


def get_rubric(settings: Settings, name: str | None) -> scoring_service.Rubric:
    """A shipped rubric by name; unknown names are a 404 that lists the choices."""
    name = name or settings.api_default_rubric
    if name not in scoring_service.list_rubrics():
        choices = "、".join(scoring_service.list_rubrics())
        raise NotFound(f"没有名为 {name} 的考核细则（可选：{choices}）")
    return scoring_service.load_rubric(name)


def today(settings: Settings) -> date:
    return datetime.now(settings.tz).date()


def parse_month(value: str | None, settings: Settings) -> tuple[int, int]:
    if not value:
        t = today(settings)
        return t.year, t.month
    match = MONTH_RE.match(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise ApiError(422, f"月份格式应为 YYYY-MM（如 2026-10），收到 {value!r}")
    return int(match.group(1)), int(match.group(2))


def parse_quarter(value: str | None, settings: Settings) -> tuple[int, int]:
    if not value:
        t = today(settings)
        return t.year, (t.month - 1) // 3 + 1
    match = QUARTER_RE.match(value.strip())
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ApiError(422, f"季度格式应为 YYYYQn（如 2026Q3），收到 {value!r}")
    return int(match.group(1)), int(match.group(2))


class RubricOut(BaseModel):
    name: str
    title: str


class AnnualBoard(BaseModel):
    rubric: str
    year: int
    rows: list[ss.AnnualScore]


@router.get("/rubrics", response_model=list[RubricOut])
def list_rubrics(_me: Viewer) -> list[RubricOut]:
    return [RubricOut(name=n, title=scoring_service.load_rubric(n).title) for n in scoring_service.list_rubrics()]


def monthly(db: DbSession, settings: Settings, rubric: str | None, month: str | None) -> ss.MonthlyRanking:
    year, m = parse_month(month, settings)
    return scoring_service.monthly_ranking(db, settings, get_rubric(settings, rubric), year, m)


def quarterly(db: DbSession, settings: Settings, rubric: str | None, quarter: str | None) -> ss.QuarterTable:
    year, q = parse_quarter(quarter, settings)
    return scoring_service.quarter_table(db, settings, get_rubric(settings, rubric), year, q)


def annual(db: DbSession, settings: Settings, rubric: str | None, year: int | None) -> AnnualBoard:
    r = get_rubric(settings, rubric)
    y = year or today(settings).year
    return AnnualBoard(rubric=r.name, year=y, rows=scoring_service.annual_scores(db, settings, r, y))


def cached_json(request: Request, key: tuple[Any, ...], build: Callable[[], BaseModel]) -> Response:
    """Serve a leaderboard from the app's cache (see api.cache); the key includes today's date."""
    cache: ResultCache = request.app.state.board_cache
    body = cache.get((*key, today(request.app.state.settings)), lambda: build().model_dump_json().encode())
    return Response(body, media_type="application/json")


@router.get("/leaderboards/monthly", response_model=ss.MonthlyRanking)
def monthly_board(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    _me: Viewer,
    rubric: RubricName = None,
    month: MonthText = None,
) -> Response:
    """活跃度 ranking of every unit for a month, with the formula and the tie rule."""
    key = ("monthly", get_rubric(settings, rubric).name, parse_month(month, settings))
    return cached_json(request, key, lambda: monthly(db, settings, rubric, month))


@router.get("/leaderboards/quarterly", response_model=ss.QuarterTable)
def quarterly_board(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    _me: Viewer,
    rubric: RubricName = None,
    quarter: QuarterText = None,
) -> Response:
    """The quarterly summary table (附件3 under 长兴), ranked."""
    key = ("quarterly", get_rubric(settings, rubric).name, parse_quarter(quarter, settings))
    return cached_json(request, key, lambda: quarterly(db, settings, rubric, quarter))


@router.get("/leaderboards/annual", response_model=AnnualBoard)
def annual_board(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    _me: Viewer,
    rubric: RubricName = None,
    year: YearNumber = None,
) -> Response:
    """Annual scores with the <70 warning, 限期整改, year-over-year and the two-year average."""
    key = ("annual", get_rubric(settings, rubric).name, year or today(settings).year)
    return cached_json(request, key, lambda: annual(db, settings, rubric, year))


@router.get("/units/{unit_id}/score", response_model=ss.UnitExplanation)
def unit_score(
    unit_id: ResourceId,
    db: DbSession,
    settings: AppSettings,
    _me: Viewer,
    rubric: RubricName = None,
    year: YearNumber = None,
) -> ss.UnitExplanation:
    """One unit's score, line item by line item, with the reports and records behind each."""
    if db.get(Unit, unit_id) is None:
        raise NotFound(f"单位 {unit_id} 不存在")
    r = get_rubric(settings, rubric)
    return scoring_service.explain_unit(db, settings, r, unit_id, year or today(settings).year)


@router.get(
    "/exports/{board}.{fmt}",
    response_class=Response,
    responses={200: {"content": {exports.XLSX_MIME: {}, "text/csv": {}}, "description": "表格文件"}},
)
def export_board(
    board: Literal["monthly", "quarterly", "annual"],
    fmt: Literal["xlsx", "csv"],
    db: DbSession,
    settings: AppSettings,
    _me: Viewer,
    rubric: RubricName = None,
    month: MonthText = None,
    quarter: QuarterText = None,
    year: YearNumber = None,
) -> Response:
    """Download a leaderboard as .xlsx (附件3 layout for the quarterly table) or .csv."""
    if board == "monthly":
        sheet = exports.monthly_sheet(monthly(db, settings, rubric, month))
    elif board == "quarterly":
        sheet = exports.quarter_sheet(quarterly(db, settings, rubric, quarter))
    else:
        r = get_rubric(settings, rubric)
        result = annual(db, settings, r.name, year)
        sheet = exports.annual_sheet(result.rows, result.year, r.title, r.name)
    body = exports.to_xlsx(sheet) if fmt == "xlsx" else exports.to_csv(sheet)
    mime = exports.XLSX_MIME if fmt == "xlsx" else exports.CSV_MIME
    return Response(body, media_type=mime, headers={"Content-Disposition": exports.content_disposition(sheet, fmt)})


# --- staff-entered records -------------------------------------------------------------------------

UnitRef = Annotated[int, Field(ge=1, le=MAX_ID)]


class CriticismBody(ss.CriticismIn):
    unit_id: UnitRef


class MediaAdoptionBody(ss.MediaAdoptionIn):
    unit_id: UnitRef
    report_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None


class PairingSheetBody(ss.PairingSheetIn):
    unit_id: UnitRef
    activity_count: Annotated[int, Field(ge=0, le=1000)] = 1


class VolunteerStatsBody(ss.VolunteerStatsIn):
    unit_id: UnitRef
    headcount: Annotated[int, Field(gt=0, le=1_000_000)]
    registered: Annotated[int, Field(ge=0, le=1_000_000)]
    active: Annotated[int, Field(ge=0, le=1_000_000)]
    service_projects: Annotated[int | None, Field(ge=0, le=100_000)] = None
    service_hours: Annotated[float | None, Field(ge=0, le=10_000_000)] = None


class CheckBody(ss.XixiangCheckIn):
    unit_id: UnitRef


class AdjustmentBody(ss.AdjustmentIn):
    unit_id: UnitRef


class VoidBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class RecordRow(BaseModel):
    kind: str
    id: int
    unit_id: int
    unit_name: str | None
    on: date | None
    summary: str
    created_by: str
    created_at: datetime
    voided_at: datetime | None
    void_reason: str | None


RECORD_KINDS: dict[str, Any] = {
    "criticism": sm.Criticism,
    "media_adoption": sm.MediaAdoption,
    "pairing_sheet": sm.PairingSheet,
    "volunteer_stats": sm.VolunteerStats,
    "check": sm.XixiangCheck,
    "adjustment": sm.Adjustment,
}


def _record_summary(kind: str, r: Any) -> tuple[date | None, str]:
    """One Chinese line per record, as staff would say it."""
    if kind == "criticism":
        return r.occurred_on, f"通报批评：{r.reason}"
    if kind == "media_adoption":
        level = sm.OutletLevel(r.level).zh if r.level in set(sm.OutletLevel) else r.level
        return r.published_on, f"《{r.title}》被{r.outlet}（{level}）录用"
    if kind == "pairing_sheet":
        return r.activity_date, f"{r.year}年第{r.quarter}季度 结对 {r.partner}，活动 {r.activity_count} 次"
    if kind == "volunteer_stats":
        return None, f"{r.year}年第{r.quarter}季度 员工 {r.headcount}、注册 {r.registered}、参加 {r.active}"
    if kind == "check":
        name = sm.CheckKind.zh_of(r.kind)
        detail = f" {r.value:g}%" if r.value is not None else (f" {r.grade}" if r.grade else "")
        return r.done_on, f"{r.year}年 {name}{detail}"
    adj = sm.AdjustmentKind(r.kind) if r.kind in set(sm.AdjustmentKind) else None
    sign = "加分" if adj and adj.is_bonus else f"扣分 {r.points or 0:g}"
    return r.occurred_on, f"{sign}：{adj.zh if adj else r.kind}，{r.reason}"


@records_router.get("", response_model=schemas.Page[RecordRow])
def list_records(
    db: DbSession,
    _me: Viewer,
    paging: Paging,
    kind: Literal["criticism", "media_adoption", "pairing_sheet", "volunteer_stats", "check", "adjustment"]
    | None = None,
    unit_id: OptionalId = None,
    include_voided: bool = False,
) -> Any:
    """Every staff-entered record, newest first; voided records only when asked for."""
    rows: list[RecordRow] = []
    for name, model in RECORD_KINDS.items():
        if kind and name != kind:
            continue
        stmt = select(model)
        if unit_id is not None:
            stmt = stmt.where(model.unit_id == unit_id)
        if not include_voided:
            stmt = stmt.where(model.voided_at.is_(None))
        for record in db.scalars(stmt):
            on, summary = _record_summary(name, record)
            rows.append(
                RecordRow(
                    kind=name,
                    id=record.id,
                    unit_id=record.unit_id,
                    unit_name=None,
                    on=on,
                    summary=summary,
                    created_by=record.created_by,
                    created_at=record.created_at,
                    voided_at=record.voided_at,
                    void_reason=record.void_reason,
                )
            )
    rows.sort(key=lambda r: (r.created_at, r.kind, r.id), reverse=True)
    page = rows[paging.offset : paging.offset + paging.page_size]
    names = repo.unit_names(db, [r.unit_id for r in page])
    for r in page:
        r.unit_name = names.get(r.unit_id)
    return schemas.Page(items=page, total=len(rows), page=paging.page, page_size=paging.page_size)


def save_record(db: DbSession, kind: str, body: BaseModel, actor: str) -> ss.RecordOut:
    """Shared by the API and the console: check the unit, call scoring, turn its errors into 422."""
    unit_id = getattr(body, "unit_id", None)
    if unit_id is None or db.get(Unit, unit_id) is None:
        raise ApiError(422, f"单位 {unit_id} 不存在", details=[{"loc": ["body", "unit_id"]}])
    adders = {
        "criticism": scoring_service.add_criticism,
        "media_adoption": scoring_service.add_media_adoption,
        "pairing_sheet": scoring_service.add_pairing_sheet,
        "volunteer_stats": scoring_service.set_volunteer_stats,
        "check": scoring_service.add_xixiang_check,
        "bonus": scoring_service.add_bonus,
        "deduction": scoring_service.add_deduction,
    }
    try:
        return adders[kind](db, body, actor)
    except scoring_service.ScoringError as exc:
        raise ApiError(422, str(exc)) from None


@records_router.post("/criticisms", response_model=ss.RecordOut, status_code=201)
def add_criticism(body: CriticismBody, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """通报批评 (−5 under 长兴 重点工作配合)."""
    return save_record(db, "criticism", body, me.actor)


@records_router.post("/media-adoptions", response_model=ss.RecordOut, status_code=201)
def add_media_adoption(body: MediaAdoptionBody, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """A media adoption (录用); the same article counts once, at its highest level."""
    return save_record(db, "media_adoption", body, me.actor)


@records_router.post("/pairing-sheets", response_model=ss.RecordOut, status_code=201)
def add_pairing_sheet(body: PairingSheetBody, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """《结对共建情况表》 for a quarter."""
    return save_record(db, "pairing_sheet", body, me.actor)


@records_router.post("/volunteer-stats", response_model=ss.RecordOut, status_code=201)
def set_volunteer_stats(body: VolunteerStatsBody, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """Volunteer registration figures for a quarter (the newest entry counts)."""
    return save_record(db, "volunteer_stats", body, me.actor)


@records_router.post("/checks", response_model=ss.RecordOut, status_code=201)
def add_check(body: CheckBody, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """A 西乡 item verified by staff (plans, flag, uniforms, training, 知晓率, satisfaction …)."""
    return save_record(db, "check", body, me.actor)


@records_router.post("/bonuses", response_model=ss.RecordOut, status_code=201)
def add_bonus(body: AdjustmentBody, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """加分 (meetings, 调研, 批示); points come from the rubric's table."""
    return save_record(db, "bonus", body, me.actor)


@records_router.post("/deductions", response_model=ss.RecordOut, status_code=201)
def add_deduction(body: AdjustmentBody, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """扣分 with the points staff decided."""
    return save_record(db, "deduction", body, me.actor)


@records_router.post("/{kind}/{record_id}/void", response_model=ss.RecordOut)
def void_record(
    kind: Literal["criticism", "media_adoption", "pairing_sheet", "volunteer_stats", "check", "adjustment"],
    record_id: ResourceId,
    body: Annotated[VoidBody, Body()],
    db: DbSession,
    me: Reviewer,
) -> ss.RecordOut:
    """Withdraw a wrong record: it stops counting at once and stays for the audit."""
    if db.get(RECORD_KINDS[kind], record_id) is None:
        raise NotFound("记录不存在")
    try:
        return scoring_service.void_record(db, kind, record_id, me.actor, body.reason)
    except scoring_service.ScoringError as exc:
        raise ApiError(409, str(exc)) from None
