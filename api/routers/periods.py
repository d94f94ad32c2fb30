"""Scoring periods (close, publish, re-publish, reopen, published results), appeals, unit links and coverage."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api import scores as boards
from api.deps import AppSettings, DbSession, OptionalId, ResourceId, Reviewer, Viewer
from ingest import units as unit_service
from scoring import appeals, closing, unit_links
from scoring import schemas as ss
from scoring import service as scoring_service
from scoring.models import AppealStatus

router = APIRouter(tags=["考核期与申诉"])

PeriodText = Annotated[str, Path(max_length=12, description="考核期：2026-10、2026Q3 或 2026")]
RubricName = Annotated[str | None, Query(max_length=100, description="考核细则，默认 WENMING_API_DEFAULT_RUBRIC")]
AsOf = Annotated[date | None, Query(description="计算截至的日期，默认今天")]


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rubric: str | None = Field(None, max_length=100)
    override: str | None = Field(None, max_length=500, description="仍有待处理申诉时强制关账的理由")
    as_of: date | None = None


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rubric: str | None = Field(None, max_length=100)
    reason: str = Field(min_length=1, max_length=500)
    override: str | None = Field(None, max_length=500)


class PublishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rubric: str | None = Field(None, max_length=100)


class StaffAppealIn(ss.AppealIn):
    unit_id: ss.UnitId


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str | None = Field(None, max_length=10, description="计分起始月份 YYYY-MM；null 跟随全县设置")


class UnitStartOut(BaseModel):
    unit_id: int
    scoring_start: str | None


@router.get("/periods", response_model=list[ss.PeriodOut])
def list_periods(db: DbSession, _me: Viewer, rubric: RubricName = None, year: int | None = None) -> list[ss.PeriodOut]:
    """Closed and published periods with who closed and published them."""
    return closing.list_periods(db, rubric, year)


@router.post("/periods/{period}/close", response_model=ss.PeriodOut)
def close_period(
    period: PeriodText, body: Annotated[CloseBody, Body()], db: DbSession, settings: AppSettings, me: Reviewer
) -> ss.PeriodOut:
    """Close an ended period: a snapshot of every unit's counts, points and explanation."""
    rubric = boards.get_rubric(settings, body.rubric)
    return closing.close(db, settings, rubric, period, me.actor, as_of=body.as_of, override=body.override)


@router.post("/periods/{period}/publish", response_model=ss.PeriodOut)
def publish_period(
    period: PeriodText, body: Annotated[PublishBody, Body()], db: DbSession, settings: AppSettings, me: Reviewer
) -> ss.PeriodOut:
    """Publish the closed snapshot (posts, exports and unit pages show it)."""
    return closing.publish(db, boards.get_rubric(settings, body.rubric), period, me.actor)


@router.post("/periods/{period}/republish", response_model=ss.PeriodOut)
def republish_period(
    period: PeriodText, body: Annotated[ReasonBody, Body()], db: DbSession, settings: AppSettings, me: Reviewer
) -> ss.PeriodOut:
    """Take later adjustments into a new published snapshot."""
    rubric = boards.get_rubric(settings, body.rubric)
    return closing.republish(db, settings, rubric, period, me.actor, body.reason, override=body.override)


@router.post("/periods/{period}/reopen", response_model=ss.PeriodOut)
def reopen_period(
    period: PeriodText, body: Annotated[ReasonBody, Body()], db: DbSession, settings: AppSettings, me: Reviewer
) -> ss.PeriodOut:
    """Reopen a closed or published period (what was published stays until the next publish)."""
    return closing.reopen(db, boards.get_rubric(settings, body.rubric), period, me.actor, body.reason)


@router.get("/periods/{period}/result", response_model=ss.PeriodResult)
def period_result(
    period: PeriodText, db: DbSession, settings: AppSettings, _me: Viewer, rubric: RubricName = None, as_of: AsOf = None
) -> ss.PeriodResult:
    """Published figures, with "现为 x（±d）" and the reasons wherever a later change moved them."""
    return closing.result(db, settings, boards.get_rubric(settings, rubric), period, as_of)


@router.get("/appeals", response_model=list[ss.AppealOut])
def list_appeals(
    db: DbSession,
    _me: Viewer,
    status: Annotated[AppealStatus | None, Query(description="open / accepted / rejected")] = None,
    unit_id: OptionalId = None,
) -> list[ss.AppealOut]:
    """Appeals newest first; ``status=open`` is the review queue."""
    return appeals.list_appeals(db, status=status.value if status else None, unit_id=unit_id)


@router.post("/appeals", response_model=ss.AppealOut, status_code=201)
def file_appeal(body: StaffAppealIn, db: DbSession, settings: AppSettings, me: Reviewer) -> ss.AppealOut:
    """Staff file an appeal for a unit (e.g. after a phone call)."""
    data = ss.AppealIn.model_validate(body.model_dump(exclude={"unit_id"}))
    return appeals.file(db, settings, body.unit_id, data, me.actor)


@router.post("/appeals/{appeal_id}/resolve", response_model=ss.AppealOut)
def resolve_appeal(appeal_id: ResourceId, body: ss.AppealResolveIn, db: DbSession, me: Reviewer) -> ss.AppealOut:
    """Accept (the change flows into the score, audited) or reject with a note the unit sees."""
    return appeals.resolve(db, appeal_id, me.actor, body)


@router.get("/units/{unit_id}/links", response_model=list[ss.UnitLinkOut])
def unit_link_list(unit_id: ResourceId, db: DbSession, settings: AppSettings, _me: Reviewer) -> list[ss.UnitLinkOut]:
    """Links issued for a unit (the URLs themselves are not stored)."""
    unit_service.get_unit(db, unit_id)
    return unit_links.list_links(db, settings, unit_id)


@router.post("/units/{unit_id}/links", response_model=ss.UnitLinkOut, status_code=201)
def unit_link_issue(unit_id: ResourceId, db: DbSession, settings: AppSettings, me: Reviewer) -> ss.UnitLinkOut:
    """A signed read-only link to the unit's page; the URL is returned once."""
    return unit_links.issue(db, settings, unit_id, me.actor)


@router.post("/units/{unit_id}/links/revoke", response_model=int)
def unit_link_revoke(unit_id: ResourceId, db: DbSession, me: Reviewer) -> int:
    """Stop every live link of the unit; returns how many."""
    unit_service.get_unit(db, unit_id)
    return unit_links.revoke(db, unit_id, me.actor)


@router.put("/units/{unit_id}/scoring-start", response_model=UnitStartOut)
def unit_scoring_start(
    unit_id: ResourceId, body: Annotated[StartBody, Body()], db: DbSession, me: Reviewer
) -> UnitStartOut:
    """The month a unit joined (earlier months are 无数据 for it)."""
    unit = scoring_service.set_coverage_start(db, unit_id, body.month, me.actor)
    return UnitStartOut(unit_id=unit.id, scoring_start=unit.scoring_start)
