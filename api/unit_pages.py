"""A read-only page per unit behind a signed link: its reports, score (today and as published), records, appeals.

``/u/<unit_id>/<expiry>.<HMAC>``: the link is the credential, so the page shows that unit only; another unit's
id, a forged or altered link is a 404; an expired or revoked one a 403 that says so. The "有异议" form carries
a token derived from the link, and every input is bounded; the appeals service rate-limits per link.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import presenters, scores
from api import repository as repo
from api.console import PAGE_HEADERS, TEMPLATES
from api.deps import AppSettings, DbSession, ResourceId
from api.errors import ApiError, NotFound, from_domain
from api.routers.misc import media_file, thumbnail
from classifier.models import Label
from ingest.models import Media, Report, ReportPhoto, ReportStatus, Unit
from scoring import appeals, closing, unit_links
from scoring import service as scoring_service
from scoring.models import AppealTarget, PeriodSnapshot, ScoringPeriod
from scoring.schemas import AppealIn
from scoring.unit_links import LinkExpired, LinksDisabled
from wenming.errors import DomainError
from wenming.settings import Settings

router = APIRouter(include_in_schema=False)

REPORTS_SHOWN = 60
PUBLISHED_SHOWN = 6


def _link(db: Session, settings: Settings, unit_id: int, token: str) -> Any:
    """The link, or the page's answer: 404 for anything not signed for this unit, 403 when expired/revoked."""
    if len(token) > 80:
        raise NotFound("页面不存在")
    try:
        return unit_links.verify(db, settings, unit_id, token)
    except LinksDisabled as exc:
        raise ApiError(403, str(exc)) from None
    except LinkExpired as exc:
        raise ApiError(403, str(exc)) from None


def _form_token(settings: Settings, link_id: int) -> str:
    secret = settings.unit_link_secret.get_secret_value().encode() if settings.unit_link_secret else b""
    return hmac.new(secret, f"appeal-form:{link_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _reports(db: Session, unit_id: int, since: date) -> list[dict[str, Any]]:
    """This unit's reports since ``since``, newest first, with photo thumbnails served under the link."""
    day = func.coalesce(Report.activity_date, Report.post_date)
    rows = list(
        db.scalars(
            select(Report)
            .where(Report.unit_id == unit_id, day >= since)
            .order_by(Report.post_date.desc(), Report.id.desc())
            .limit(REPORTS_SHOWN)
        )
    )
    photos = repo.report_photos(db, [r.id for r in rows])
    return [
        {
            "report": r,
            "label": presenters.label_zh(r.label) if r.label else "未分类",
            "status": ReportStatus.zh_of(r.status),
            "photos": [m.id for _p, m in photos[r.id]],
        }
        for r in rows
    ]


def _published(db: Session, rubric: str, unit_id: int) -> list[dict[str, Any]]:
    """This unit's row in the latest published periods (score and explanation as published)."""
    periods = db.scalars(
        select(ScoringPeriod)
        .where(ScoringPeriod.rubric == rubric, ScoringPeriod.published_snapshot_id.is_not(None))
        .order_by(ScoringPeriod.published_at.desc())
        .limit(PUBLISHED_SHOWN)
    )
    shown = []
    for period in periods:
        snapshot = db.get(PeriodSnapshot, period.published_snapshot_id)
        row = next((r for r in (snapshot.data["rows"] if snapshot else []) if r["unit_id"] == unit_id), None)
        shown.append(
            {
                "label": closing.label(period.kind, period.year, period.number),
                "published_at": period.published_at,
                "score": None if row is None else row.get("score"),
                "explanation": None if row is None else row.get("explanation"),
                "lines": [] if row is None else row.get("lines", []),
            }
        )
    return shown


def _page(request: Request, db: Session, settings: Settings, unit: Unit, link: Any, **extra: Any) -> HTMLResponse:
    today = datetime.now(settings.tz).date()
    rubric = scores.get_rubric(settings, None)
    since = date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, 1, 1)
    context = {
        "request": request,
        "unit": unit,
        "today": today,
        "base": f"/u/{unit.id}/{request.path_params['token']}",
        "explanation": scores.explain(db, settings, unit.id, today.year),
        "published": _published(db, rubric.name, unit.id),
        "reports": _reports(db, unit.id, since),
        "records": scoring_service.list_records(db, unit.id, today.year, include_voided=False),
        "appeals": appeals.list_appeals(db, unit_id=unit.id, limit=50),
        "labels": Label.choices(),
        "form_token": _form_token(settings, link.id),
        "window_days": settings.appeal_window_days,
        "expires": link.expires_at.astimezone(settings.tz),
        "local": lambda v: v.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if v else "",
        **extra,
    }
    response = TEMPLATES.TemplateResponse(request, "unit_public.html", context)
    response.headers.update(PAGE_HEADERS)
    response.headers["Referrer-Policy"] = "no-referrer"  # the URL is the credential: never leak it
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/u/{unit_id}/{token}", response_class=HTMLResponse)
def unit_page(
    request: Request,
    unit_id: ResourceId,
    token: str,
    db: DbSession,
    settings: AppSettings,
    saved: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    link = _link(db, settings, unit_id, token)
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise NotFound("页面不存在")
    return _page(request, db, settings, unit, link, saved=saved)


@router.get("/u/{unit_id}/{token}/media/{media_id}", response_class=FileResponse)
def unit_photo(
    unit_id: ResourceId,
    token: str,
    media_id: ResourceId,
    db: DbSession,
    settings: AppSettings,
    size: Annotated[Literal["full", "thumb"], Query()] = "thumb",
) -> FileResponse:
    """A photo of one of this unit's reports, and nothing else."""
    _link(db, settings, unit_id, token)
    owned = db.scalar(
        select(func.count())
        .select_from(ReportPhoto)
        .join(Report, Report.id == ReportPhoto.report_id)
        .where(ReportPhoto.media_id == media_id, Report.unit_id == unit_id)
    )
    media = db.get(Media, media_id) if owned else None
    if media is None:
        raise NotFound("图片不存在")
    path = media_file(settings, media)
    headers = {
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if size == "thumb":
        return FileResponse(thumbnail(settings, media, path), media_type="image/jpeg", headers=headers)
    return FileResponse(path, media_type=media.mime, headers=headers)


def _appeal_data(target: str, subject: str, wanted: str, day: str, reason: str) -> AppealIn:
    """The form's fields as an appeal: ``subject`` is a report id or ``kind:id`` of a record."""
    values: dict[str, Any] = {"target": target, "reason": reason.strip()}
    if target == AppealTarget.REPORT.value:
        values |= {"report_id": subject or None, "wanted_label": wanted or None}
    elif target == AppealTarget.RECORD.value:
        kind, _, record_id = subject.partition(":")
        values |= {"record_kind": kind or None, "record_id": record_id or None}
    else:
        values["happened_on"] = day or None
    return AppealIn.model_validate(values)


@router.post("/u/{unit_id}/{token}/appeal")
def unit_appeal(
    request: Request,
    unit_id: ResourceId,
    token: str,
    db: DbSession,
    settings: AppSettings,
    form_token: Annotated[str, Form(max_length=64)],
    target: Annotated[str, Form(max_length=10)],
    reason: Annotated[str, Form(max_length=1000)],
    subject: Annotated[str, Form(max_length=50)] = "",
    wanted_label: Annotated[str, Form(max_length=20)] = "",
    happened_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """File an appeal from the unit page; it lands in the staff review queue."""
    link = _link(db, settings, unit_id, token)
    if not hmac.compare_digest(form_token, _form_token(settings, link.id)):
        raise ApiError(403, "页面已过期，请刷新后重试", code="csrf_failed")
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise NotFound("页面不存在")
    try:
        data = _appeal_data(target, subject, wanted_label, happened_on, reason)
    except ValidationError:
        return _page(request, db, settings, unit, link, error="请完整填写异议内容与理由（理由至少 2 个字）")
    try:
        appeal = appeals.file(db, settings, unit_id, data, f"unit-link:{link.id}", link_id=link.id)
    except DomainError as exc:
        response = _page(request, db, settings, unit, link, error=str(exc))
        response.status_code = from_domain(exc).status
        return response
    saved = f"已提交申诉 #{appeal.id}，文明办处理后结果会显示在本页。"
    return RedirectResponse(f"/u/{unit_id}/{token}?" + urlencode({"saved": saved}), status_code=303)
