"""Console pages 考核期 (close, publish, re-publish, reopen, results with adjustments) and 申诉 (the queue)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import repository as repo
from api import scores
from api.console import Staff, Writer, render
from api.deps import AppSettings, DbSession, ResourceId
from api.errors import ApiError
from classifier.models import Label
from ingest import units as unit_service
from scoring import appeals, closing, unit_links
from scoring.models import AppealStatus
from scoring.schemas import AppealResolveIn

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=500)]
PeriodField = Annotated[str, Form(min_length=4, max_length=12)]
RubricField = Annotated[str, Form(max_length=100)]


def _back(path: str, **query: str) -> Response:
    return RedirectResponse(f"{path}?{urlencode(query)}", status_code=303)


def _suggested(today: date) -> str:
    """The month just ended: what staff close most often."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year}-{month:02d}"


@router.get("/periods", response_class=HTMLResponse)
def periods_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    me: Staff,
    rubric: Annotated[str, Query(max_length=100)] = "",
    show: Annotated[str, Query(max_length=12)] = "",
    as_of: Annotated[date | None, Query()] = None,
    saved: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """Every closed period with its state and who moved it; one period's published result with adjustments."""
    chosen = scores.get_rubric(settings, rubric or None)
    today = datetime.now(settings.tz).date()
    result = closing.result(db, settings, chosen, show, as_of) if show else None
    return render(
        request,
        "periods.html",
        me,
        nav="periods",
        rubrics=scores.rubrics(),
        rubric=chosen,
        periods=closing.list_periods(db, chosen.name),
        suggested=_suggested(today),
        show=show,
        as_of=as_of or today,
        result=result,
        saved=saved,
        open_appeals=len(appeals.list_appeals(db, status=AppealStatus.OPEN.value)),
    )


@router.post("/periods/close")
def periods_close(
    db: DbSession,
    settings: AppSettings,
    me: Writer,
    period: PeriodField,
    rubric: RubricField = "",
    override: Text = "",
) -> Response:
    chosen = scores.get_rubric(settings, rubric or None)
    out = closing.close(db, settings, chosen, period, me.actor, override=override or None)
    return _back("/periods", rubric=chosen.name, show=period, saved=f"{out.label}已关账，请核对后公布")


@router.post("/periods/publish")
def periods_publish(
    db: DbSession, settings: AppSettings, me: Writer, period: PeriodField, rubric: RubricField = ""
) -> Response:
    chosen = scores.get_rubric(settings, rubric or None)
    out = closing.publish(db, chosen, period, me.actor)
    return _back("/periods", rubric=chosen.name, show=period, saved=f"{out.label}已公布")


@router.post("/periods/republish")
def periods_republish(
    db: DbSession,
    settings: AppSettings,
    me: Writer,
    period: PeriodField,
    reason: Annotated[str, Form(min_length=1, max_length=500)],
    rubric: RubricField = "",
    override: Text = "",
) -> Response:
    chosen = scores.get_rubric(settings, rubric or None)
    out = closing.republish(db, settings, chosen, period, me.actor, reason, override=override or None)
    return _back("/periods", rubric=chosen.name, show=period, saved=f"{out.label}已重新公布")


@router.post("/periods/reopen")
def periods_reopen(
    db: DbSession,
    settings: AppSettings,
    me: Writer,
    period: PeriodField,
    reason: Annotated[str, Form(min_length=1, max_length=500)],
    rubric: RubricField = "",
) -> Response:
    chosen = scores.get_rubric(settings, rubric or None)
    out = closing.reopen(db, chosen, period, me.actor, reason)
    return _back("/periods", rubric=chosen.name, show=period, saved=f"{out.label}已重开")


@router.get("/appeals", response_class=HTMLResponse)
def appeals_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    me: Staff,
    status: Annotated[str, Query(max_length=10)] = "open",
    saved: Annotated[str, Query(max_length=2000)] = "",
) -> HTMLResponse:
    """The review queue (open appeals first) and the unit links staff can send."""
    wanted = status if status in AppealStatus.names() else None
    return render(
        request,
        "appeals.html",
        me,
        nav="appeals",
        appeals=appeals.list_appeals(db, status=wanted),
        status=wanted or "all",
        statuses=AppealStatus.choices(),
        labels=Label.choices(),
        units=repo.active_units(db),
        saved=saved,
        links_enabled=settings.unit_link_secret is not None,
    )


@router.post("/appeals/{appeal_id}/resolve")
def appeals_resolve(
    appeal_id: ResourceId,
    db: DbSession,
    me: Writer,
    decision: Annotated[str, Form(pattern="^(accept|reject)$")],
    note: Annotated[str, Form(min_length=1, max_length=1000)],
    label: Annotated[str, Form(max_length=20)] = "",
    report_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    if report_id and not report_id.isdigit():
        raise ApiError(422, "报送编号应为数字")
    data = AppealResolveIn(
        accept=decision == "accept", note=note, label=label or None, report_id=int(report_id) if report_id else None
    )
    out = appeals.resolve(db, appeal_id, me.actor, data)
    return _back("/appeals", saved=f"申诉 #{out.id} {out.status_zh}：{out.resolution}")


@router.post("/appeals/link")
def appeals_link(
    db: DbSession, settings: AppSettings, me: Writer, unit: Annotated[str, Form(max_length=200)]
) -> Response:
    """Issue a unit-page link from the console; the URL is shown once."""
    found = unit_service.find_unit(db, unit)
    if found is None:
        raise ApiError(422, "找不到该单位，请从列表中选择")
    out = unit_links.issue(db, settings, found.id, me.actor)
    expires = out.expires_at.astimezone(settings.tz)
    return _back("/appeals", saved=f"{out.unit_name} 的查看链接（有效期至 {expires:%Y-%m-%d}）：{out.url}")
