"""Leaderboards per rubric (monthly liveliness, quarterly table, annual), explained scores, exports, records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from accounts.service import Principal
from api import exports, schemas
from api import scores as boards
from api.deps import AppSettings, DbSession, OptionalId, Paging, ResourceId, Reviewer, Viewer
from api.ready import ready_response, ready_viewer
from ingest import units as unit_service
from scoring import schemas as ss
from scoring import service as scoring_service
from scoring.models import RecordKind
from wenming import versions

router = APIRouter(tags=["排行与计分"])
records_router = APIRouter(prefix="/records", tags=["台账记录"])

RubricName = Annotated[str | None, Query(max_length=100, description="考核细则，如 changxing-2020、xixiang-2022")]
MonthText = Annotated[str | None, Query(max_length=7, description="月份 YYYY-MM，默认本月")]
QuarterText = Annotated[str | None, Query(max_length=7, description="季度 YYYYQn，默认本季度")]
YearNumber = Annotated[int | None, Query(ge=2000, le=2100, description="年份，默认今年")]
AsOf = Annotated[date | None, Query(description="计算截至的日期，默认今天（办公地时区）")]


@router.get("/rubrics", response_model=list[boards.RubricOut])
def list_rubrics(_me: Viewer) -> list[boards.RubricOut]:
    return boards.rubrics()


ReadyViewer = Annotated[Principal, Depends(ready_viewer)]


async def board_response(request: Request, key: tuple[Any, ...], build: Callable[[Session], BaseModel]) -> Response:
    """Serve a leaderboard as ready bytes with an ETag (see api.ready), keyed by today and the rankings version.

    A write by any process moves the database's rankings counter, so it shows on the next request; a client that
    sends the ETag back (``If-None-Match``) gets ``304 Not Modified`` without the board being rendered or looked up.
    """
    full_key = (*key, boards.local_today(request.app.state.settings))
    return await ready_response(
        request,
        request.app.state.board_cache,
        full_key,
        (versions.RANKINGS,),
        lambda db: build(db).model_dump_json().encode(),
    )


@router.get("/leaderboards/monthly", response_model=ss.MonthlyRanking)
async def monthly_board(
    request: Request,
    settings: AppSettings,
    _me: ReadyViewer,
    rubric: RubricName = None,
    month: MonthText = None,
) -> Response:
    """活跃度 ranking of every unit for a month, with the formula and the tie rule."""
    key = ("monthly", boards.get_rubric(settings, rubric).name, boards.parse_month(month, settings))
    return await board_response(request, key, lambda db: boards.monthly(db, settings, rubric, month))


@router.get("/leaderboards/quarterly", response_model=ss.QuarterTable)
async def quarterly_board(
    request: Request,
    settings: AppSettings,
    _me: ReadyViewer,
    rubric: RubricName = None,
    quarter: QuarterText = None,
    as_of: AsOf = None,
) -> Response:
    """The quarterly summary table (附件3 under 长兴), ranked; units not yet counted are listed as 无数据."""
    key = ("quarterly", boards.get_rubric(settings, rubric).name, boards.parse_quarter(quarter, settings), as_of)
    return await board_response(request, key, lambda db: boards.quarterly(db, settings, rubric, quarter, as_of))


@router.get("/leaderboards/annual", response_model=boards.AnnualBoard)
async def annual_board(
    request: Request,
    settings: AppSettings,
    _me: ReadyViewer,
    rubric: RubricName = None,
    year: YearNumber = None,
    as_of: AsOf = None,
) -> Response:
    """Annual scores with the <70 warning, 限期整改, year-over-year and the two-year average.

    Until the year is closed every row is ``provisional``: the score is a projection and the flags are 预计.
    """
    key = ("annual", boards.get_rubric(settings, rubric).name, year or boards.local_today(settings).year, as_of)
    return await board_response(request, key, lambda db: boards.annual(db, settings, rubric, year, as_of))


@router.get("/units/{unit_id}/score", response_model=ss.UnitExplanation)
def unit_score(
    unit_id: ResourceId,
    db: DbSession,
    settings: AppSettings,
    _me: Viewer,
    rubric: RubricName = None,
    year: YearNumber = None,
    as_of: AsOf = None,
) -> ss.UnitExplanation:
    """One unit's score, line item by line item, with the reports and records behind each."""
    unit_service.get_unit(db, unit_id)
    r = boards.get_rubric(settings, rubric)
    return scoring_service.explain_unit(db, settings, r, unit_id, year or boards.local_today(settings).year, as_of)


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
    """Download a leaderboard as .xlsx (附件3 layout for the quarterly table) or .csv.

    A published period is exported as published (later adjustments are on the period's result page).
    """
    r = boards.get_rubric(settings, rubric)
    if board == "monthly":
        y, m = boards.parse_month(month, settings)
        ranking = boards.published(db, settings, r.name, f"{y}-{m:02d}") or boards.monthly(db, settings, rubric, month)
        sheet = exports.monthly_sheet(ranking)
    elif board == "quarterly":
        y, q = boards.parse_quarter(quarter, settings)
        table = boards.published(db, settings, r.name, f"{y}Q{q}") or boards.quarterly(db, settings, rubric, quarter)
        sheet = exports.quarter_sheet(table)
    else:
        y = year or boards.local_today(settings).year
        rows = boards.published(db, settings, r.name, str(y)) or boards.annual(db, settings, r.name, y).rows
        sheet = exports.annual_sheet(rows, y, r.title, r.name, scoring_service.item_columns(r))
    body = exports.to_xlsx(sheet) if fmt == "xlsx" else exports.to_csv(sheet)
    mime = exports.XLSX_MIME if fmt == "xlsx" else exports.CSV_MIME
    return Response(body, media_type=mime, headers={"Content-Disposition": exports.content_disposition(sheet, fmt)})


# --- staff-entered records (kinds: scoring.records) --------------------------------------------------


class VoidBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


@records_router.get("", response_model=schemas.Page[ss.RecordOut])
def list_records(
    db: DbSession,
    _me: Viewer,
    paging: Paging,
    kind: RecordKind | None = None,
    unit_id: OptionalId = None,
    include_voided: bool = False,
) -> schemas.Page:
    """Every staff-entered record, newest first; voided records only when asked for."""
    rows, total = scoring_service.page_records(
        db,
        kind=kind.value if kind else None,
        unit_id=unit_id,
        include_voided=include_voided,
        offset=paging.offset,
        limit=paging.page_size,
    )
    return schemas.Page(items=rows, total=total, page=paging.page, page_size=paging.page_size)


@records_router.post("/criticisms", response_model=ss.RecordOut, status_code=201)
def add_criticism(body: ss.CriticismIn, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """通报批评 (−5 under 长兴 重点工作配合)."""
    return scoring_service.add_criticism(db, body, me.actor)


@records_router.post("/media-adoptions", response_model=ss.RecordOut, status_code=201)
def add_media_adoption(body: ss.MediaAdoptionIn, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """A media adoption (录用); the same article counts once, at its highest level."""
    return scoring_service.add_media_adoption(db, body, me.actor)


@records_router.post("/pairing-sheets", response_model=ss.RecordOut, status_code=201)
def add_pairing_sheet(body: ss.PairingSheetIn, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """《结对共建情况表》 for a quarter."""
    return scoring_service.add_pairing_sheet(db, body, me.actor)


@records_router.post("/volunteer-stats", response_model=ss.RecordOut, status_code=201)
def set_volunteer_stats(body: ss.VolunteerStatsIn, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """Volunteer registration figures for a quarter (the newest entry counts)."""
    return scoring_service.set_volunteer_stats(db, body, me.actor)


@records_router.post("/checks", response_model=ss.RecordOut, status_code=201)
def add_check(body: ss.XixiangCheckIn, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """A 西乡 item verified by staff (plans, flag, uniforms, training, 知晓率, satisfaction …)."""
    return scoring_service.add_xixiang_check(db, body, me.actor)


@records_router.post("/bonuses", response_model=ss.RecordOut, status_code=201)
def add_bonus(body: ss.AdjustmentIn, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """加分 (meetings, 调研, 批示); points come from the rubric's table."""
    return scoring_service.add_bonus(db, body, me.actor)


@records_router.post("/deductions", response_model=ss.RecordOut, status_code=201)
def add_deduction(body: ss.AdjustmentIn, db: DbSession, me: Reviewer) -> ss.RecordOut:
    """扣分 with the points staff decided."""
    return scoring_service.add_deduction(db, body, me.actor)


@records_router.post("/{kind}/{record_id}/void", response_model=ss.RecordOut)
def void_record(
    kind: RecordKind,
    record_id: ResourceId,
    body: Annotated[VoidBody, Body()],
    db: DbSession,
    me: Reviewer,
) -> ss.RecordOut:
    """Withdraw a wrong record: it stops counting at once and stays for the audit."""
    return scoring_service.void_record(db, kind.value, record_id, me.actor, body.reason)
