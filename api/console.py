"""The staff console: server-rendered Chinese pages (Jinja2 + htmx), signed in with a session cookie."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import escape
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from accounts import security
from accounts import service as auth
from accounts.models import Role
from api import capture_view, exports, presenters, scores
from api import repository as repo
from api.deps import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    AppSettings,
    DbSession,
    ResourceId,
    client_address,
    set_session_cookie,
)
from api.errors import ApiError, from_domain
from classifier import jobs as classifier_jobs
from classifier import pipeline
from classifier import service as classifier_service
from classifier.models import ClassificationSource, Label
from classifier.schemas import ClassificationPatch
from ingest import service as ingest_service
from ingest import units as unit_service
from ingest.models import HonourLevel, MessageReason, Platform, RawStatus, ReportStatus, Unit
from ingest.schemas import UnitUpdate
from scoring import models as sm
from scoring import service as scoring_service
from scoring.models import RecordKind
from wenming.audit import AuditKind
from wenming.errors import DomainError
from wenming.queue import service as queue_service
from wenming.queue.models import JobStatus
from wenming.settings import Settings

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LOGIN_COOKIE = "wm_login_csrf"
PAGE_SIZE = 30
RECORDS_SHOWN = 50
REVIEW_PAGE_SIZE = 20

router = APIRouter(include_in_schema=False)

# Console pages load only their own scripts and styles, cannot be framed, and never leak URLs elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """Raised by console pages for visitors without a session; answered with a redirect to /login."""

    def __init__(self, next_url: str):
        self.next_url = next_url


def _local(value: datetime | None, settings: Settings, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(settings.tz).strftime(fmt) if value else ""


def _setup_templates() -> None:
    env = TEMPLATES.env
    env.globals["LABELS"] = Label.choices()
    env.globals["HONOUR_LEVELS"] = HonourLevel.choices()
    env.globals["STATUS_ZH"] = ReportStatus.names()
    env.globals["label_zh"] = presenters.label_zh
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    env.globals["PLATFORM_ZH"] = Platform.names()
    env.globals["LEVEL_ZH"] = HonourLevel.names()
    env.globals["SOURCE_ZH"] = ClassificationSource.names()
    env.globals["AUDIT_KINDS"] = AuditKind.choices()
    env.globals["AUDIT_ZH"] = AuditKind.names()
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}


_setup_templates()


def page_principal(request: Request, db: DbSession) -> auth.Principal:
    """The signed-in staff member; console pages never accept bearer tokens."""
    cookie = request.cookies.get(SESSION_COOKIE)
    principal = auth.principal_from_session(db, cookie) if cookie else None
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.principal = principal
    return principal


Staff = Annotated[auth.Principal, Depends(page_principal)]


async def csrf_checked(request: Request, me: Staff) -> auth.Principal:
    """Console posts must carry the session's CSRF token, in the form or in the htmx header."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not security.same(sent, me.csrf_token or ""):
        raise ApiError(403, "页面已过期（CSRF 校验失败），请刷新后重试", code="csrf_failed")
    return me


SignedIn = Annotated[auth.Principal, Depends(csrf_checked)]


def writer(me: SignedIn) -> auth.Principal:
    """Console writes need reviewer or admin."""
    if not me.can(Role.REVIEWER):
        raise ApiError(403, "只读账号不能修改数据")
    return me


Writer = Annotated[auth.Principal, Depends(writer)]


def render(request: Request, name: str, me: auth.Principal | None, **context: Any) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    context.update(me=me, request=request, local=lambda v, fmt="%Y-%m-%d %H:%M": _local(v, settings, fmt))
    context.setdefault("nav", "")
    response = TEMPLATES.TemplateResponse(request, name, context)
    response.headers.update(PAGE_HEADERS)
    return response


# --- login -----------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    token = security.new_secret()
    response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), error=None)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/login")
    return response


def _safe_next(value: str) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect."""
    return value if value.startswith("/") and not value.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    error, status, done = None, 401, None
    if not expected or not security.same(csrf_token, expected):
        error = "页面已过期，请重新输入"
    else:
        try:
            done = auth.login(db, settings, username, password, client_address(request))
        except auth.AuthError as exc:
            error, status = str(exc), 429 if isinstance(exc, auth.RateLimited) else 401
    if done is None:
        token = security.new_secret()
        response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), error=error)
        response.status_code = status
        response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/login")
        return response
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, request, settings, done.cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout_submit(request: Request, db: DbSession, _me: SignedIn) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.end_session(db, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- dashboard -------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, db: DbSession, settings: AppSettings, me: Staff) -> HTMLResponse:
    today = datetime.now(settings.tz).date()
    board = dashboard_board(request, db, settings, today)
    return render(
        request,
        "dashboard.html",
        me,
        nav="dashboard",
        counts=repo.dashboard_counts(db, today),
        jobs=_job_counts(db),
        capture=capture_view.tile(db),
        today=today,
        **board,
    )


@router.get("/capture", response_class=HTMLResponse)
def capture_page(request: Request, db: DbSession, settings: AppSettings, me: Staff) -> HTMLResponse:
    """Chat adapters, capture alerts, gaps with their back-fill commands, failed photos, groups and agents."""
    return render(request, "capture.html", me, nav="capture", **capture_view.page(db, settings))


def _job_counts(db: Session) -> dict[str, int]:
    """The dashboard tile needs only the backlog and the failures, not the whole 后台任务 page."""
    status = queue_service.queue_status(db, dead_limit=0)
    return {"backlog": status.backlog, "dead": status.total(JobStatus.DEAD)}


@router.get("/system", response_class=HTMLResponse)
def system_page(
    request: Request, db: DbSession, settings: AppSettings, me: Staff, saved: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    """The background queue and photo reading: backlog, failures with their reasons, retry for admins."""
    return render(request, "system.html", me, nav="system", jobs=presenters.jobs_overview(db, settings), saved=saved)


@router.post("/system/train")
def system_train(db: DbSession, me: SignedIn) -> Response:
    if not me.can(Role.ADMIN):
        raise ApiError(403, "只有管理员可以重新训练分类模型")
    queued = classifier_jobs.request_training(db, me.actor)
    message = (
        f"自上次训练以来没有新的人工更正，未重复排队（任务 {queued.job.id}）"
        if queued.duplicate
        else f"已排入后台任务 {queued.job.id}：训练完成后自动启用新模型并重新分类已有报送"
    )
    return RedirectResponse("/system?" + urlencode({"saved": message}), status_code=303)


@router.post("/system/jobs/{job_id}/retry")
def system_retry(job_id: ResourceId, db: DbSession, me: SignedIn) -> Response:
    if not me.can(Role.ADMIN):
        raise ApiError(403, "只有管理员可以重新执行失败的任务")
    queue_service.retry(db, me.actor, job_id)
    return RedirectResponse("/system?" + urlencode({"saved": f"任务 {job_id} 已重新排队"}), status_code=303)


def dashboard_board(request: Request, db: Session, settings: Settings, today: date) -> dict[str, Any]:
    """This month's ranking and the units at risk, from scoring (cached like the leaderboards)."""
    cache = request.app.state.board_cache
    return cache.get(("dashboard", settings.api_default_rubric, today), lambda: scores.dashboard(db, settings, today))


# --- review queue ----------------------------------------------------------------------------------


def _report_cards(db: Session, rows: list[Any]) -> list[dict[str, Any]]:
    reports = [r for r, _u, _s in rows]
    photos = repo.report_photos(db, [r.id for r in reports])
    evidence = repo.photo_evidence(db, [r.id for r in reports])
    group_ids = {r.group_id for r in reports}
    groups = repo.group_names(db, group_ids)
    cards = []
    for report, unit_name, sender in rows:
        cards.append(
            {
                "report": report,
                "unit_name": unit_name,
                "sender": sender,
                "group": groups.get(report.group_id),
                "photos": [presenters.photo_out(p, m) for p, m in photos[report.id]],
                "evidence": evidence.get(report.id),
            }
        )
    return cards


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    db: DbSession,
    me: Staff,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    total = repo.count_review(db)
    rows = repo.page_rows(db, repo.review_query(), (page - 1) * REVIEW_PAGE_SIZE, REVIEW_PAGE_SIZE)
    return render(
        request,
        "review.html",
        me,
        nav="review",
        cards=_report_cards(db, rows),
        units=repo.active_units(db),
        total=total,
        page=page,
        pages=max(1, -(-total // REVIEW_PAGE_SIZE)),
    )


def _card_response(request: Request, db: Session, me: auth.Principal, report_id: int, message: str) -> HTMLResponse:
    row = repo.report_row(db, report_id)
    if row is None:
        raise ApiError(404, "报送不存在")
    card = _report_cards(db, [row])[0]
    return render(
        request, "_review_card.html", me, card=card, units=repo.active_units(db), done=message, in_queue=False
    )


def _form_error(exc: ValidationError) -> ApiError:
    return ApiError(422, "提交的数据不符合要求", details=[e.get("msg") for e in exc.errors()])


@router.post("/review/{report_id}/relabel", response_class=HTMLResponse)
def review_relabel(
    request: Request,
    db: DbSession,
    me: Writer,
    report_id: ResourceId,
    label: Annotated[str, Form(max_length=20)],
    secondary: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    try:
        body = ClassificationPatch(label=label, secondary_labels=secondary or [], reason=reason.strip() or "控制台审核")
    except ValidationError as exc:
        raise _form_error(exc) from None
    classifier_service.relabel(db, me.actor, report_id, body)
    return _card_response(request, db, me, report_id, f"已改为「{body.label.zh}」")


@router.post("/review/{report_id}/assign", response_class=HTMLResponse)
def review_assign(
    request: Request,
    db: DbSession,
    me: Writer,
    report_id: ResourceId,
    unit: Annotated[str, Form(max_length=200)],
    remember_sender: Annotated[bool, Form()] = False,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    target = unit_service.find_unit(db, unit)
    if target is None:
        raise ApiError(422, f"找不到单位「{unit.strip()}」，请从列表中选择")
    ingest_service.assign_report_unit(
        db, report_id, target.id, actor=me.actor, reason=reason.strip() or None, remember_sender=remember_sender
    )
    suffix = "，并记住发送人" if remember_sender else ""
    return _card_response(request, db, me, report_id, f"已归入「{target.name}」{suffix}")


# --- units -----------------------------------------------------------------------------------------


@router.get("/units", response_class=HTMLResponse)
def units_page(
    request: Request,
    db: DbSession,
    me: Staff,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    stmt = repo.unit_query(db, q or None)
    rows, total = repo.paged(db, stmt, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    units = [presenters.unit_out(r[0]) for r in rows]
    return render(
        request,
        "units.html",
        me,
        nav="units",
        units=units,
        q=q,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        query=lambda **kw: urlencode({"q": q, **kw}),
    )


@router.get("/units/{unit_id}", response_class=HTMLResponse)
def unit_page(request: Request, db: DbSession, settings: AppSettings, me: Staff, unit_id: ResourceId) -> HTMLResponse:
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise ApiError(404, "单位不存在")
    f = repo.ReportFilter(unit_id=unit_id)
    rows, total = repo.page_rows(db, repo.report_query(f), 0, 50), repo.count_reports(db, f)
    members = [m for m, _n in db.execute(repo.member_query(unit_id=unit_id).limit(100)).all()]
    explanation = scores.explain(db, settings, unit_id, datetime.now(settings.tz).year)
    return render(
        request,
        "unit.html",
        me,
        nav="units",
        unit=presenters.unit_out(unit),
        cards=_report_cards(db, rows),
        total=total,
        messages=repo.unit_message_count(db, unit_id),
        members=members,
        explanation=explanation,
    )


@router.post("/units/{unit_id}", response_class=HTMLResponse)
def unit_save(
    request: Request,
    db: DbSession,
    me: Writer,
    unit_id: ResourceId,
    name: Annotated[str, Form(max_length=200)],
    aliases: Annotated[str, Form(max_length=5000)] = "",
    honour_level: Annotated[str, Form(max_length=20)] = HonourLevel.COUNTY.value,
    category: Annotated[str, Form(max_length=50)] = "",
    headcount: Annotated[str, Form(max_length=10)] = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    try:
        body = UnitUpdate(
            name=name,
            aliases=[a for a in aliases.replace("，", ",").replace("\n", ",").split(",") if a.strip()],
            honour_level=honour_level,
            category=category.strip() or None,
            headcount=int(headcount) if headcount.strip() else None,
            active=active,
        )
    except (ValidationError, ValueError) as exc:
        raise ApiError(422, "单位信息填写有误，请检查人数和级别") from exc
    unit_service.update_unit(db, me.actor, unit_id, body)
    return RedirectResponse(f"/units/{unit_id}?saved=1", status_code=303)


# --- reports and audit -----------------------------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    db: DbSession,
    me: Staff,
    q: Annotated[str, Query(max_length=100)] = "",
    label: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    unit_id: Annotated[str, Query(max_length=10)] = "",
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    f = repo.ReportFilter(
        q=q or None,
        label=label if label in {item.value for item in Label} else None,
        status=status if status in {item.value for item in ReportStatus} else None,
        unit_id=int(unit_id) if unit_id.isdigit() else None,
        date_from=date_from,
        date_to=date_to,
    )
    total = repo.count_reports(db, f)
    rows = repo.page_rows(db, repo.report_query(f), (page - 1) * PAGE_SIZE, PAGE_SIZE)
    params = {
        "q": q,
        "label": label,
        "status": status,
        "unit_id": unit_id,
        "date_from": date_from or "",
        "date_to": date_to or "",
    }
    return render(
        request,
        "reports.html",
        me,
        nav="reports",
        cards=_report_cards(db, rows),
        filters=params,
        units=repo.active_units(db),
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        query=lambda **kw: urlencode({**params, **kw}),
    )


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(request: Request, db: DbSession, me: Staff, report_id: ResourceId) -> HTMLResponse:
    row = repo.report_row(db, report_id)
    if row is None:
        raise ApiError(404, "报送不存在")
    detail = presenters.report_detail(db, *row)
    card = _report_cards(db, [row])[0]
    return render(
        request,
        "report.html",
        me,
        nav="reports",
        detail=detail,
        card=card,
        units=repo.active_units(db),
        promoted=request.query_params.get("saved") == "promoted",
    )


# --- messages that are not reports -------------------------------------------------------------------------


@router.get("/messages", response_class=HTMLResponse)
def messages_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    me: Staff,
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=20)] = RawStatus.CHATTER.value,
    reason: Annotated[str, Query(max_length=20)] = "",
    unit_id: Annotated[str, Query(max_length=10)] = "",
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
    saved: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """消息: what the groups said that is not an activity report, with why, and a way to promote it."""
    status = status if status in repo.MESSAGE_STATUSES else RawStatus.CHATTER.value
    if date_from and date_to and date_from > date_to:
        date_from, date_to = date_to, date_from
    f = repo.message_filter(
        settings.tz,
        status=status,
        reason=reason if reason in MessageReason.names() else None,
        unit_id=int(unit_id) if unit_id.isdigit() else None,
        date_from=date_from,
        date_to=date_to,
        q=q or None,
    )
    total = repo.count_messages(db, f)
    rows = repo.page_rows(db, repo.message_query(f), (page - 1) * PAGE_SIZE, PAGE_SIZE)
    params = {
        "q": q,
        "status": status,
        "reason": reason,
        "unit_id": unit_id,
        "date_from": date_from or "",
        "date_to": date_to or "",
    }
    return render(
        request,
        "messages.html",
        me,
        nav="messages",
        messages=[presenters.message_out(*row) for row in rows],
        filters=params,
        statuses=[(s, RawStatus.zh_of(s)) for s in repo.MESSAGE_STATUSES],
        reasons=MessageReason.choices(),
        units=repo.active_units(db),
        saved=saved,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        query=lambda **kw: urlencode({**params, **kw}),
    )


@router.post("/messages/{message_id}/promote")
def message_promote(
    db: DbSession,
    settings: AppSettings,
    me: Writer,
    message_id: ResourceId,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    report = ingest_service.promote_message(
        db,
        settings,
        message_id,
        actor=me.actor,
        reason=reason.strip() or "控制台：转为报送",
        on_report=pipeline.report_hook(settings),
    )
    return RedirectResponse(f"/reports/{report.id}?saved=promoted", status_code=303)


@router.post("/reports/{report_id}/demote")
def report_demote(
    db: DbSession,
    me: Writer,
    report_id: ResourceId,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    ids = ingest_service.demote_report(db, report_id, actor=me.actor, reason=reason.strip() or "控制台：不是报送")
    message = f"报送 #{report_id} 已改为消息（{len(ids)} 条），不再计入任何统计；可在下面找到并重新转为报送"
    query = urlencode({"status": RawStatus.CHATTER.value, "reason": MessageReason.DEMOTED.value, "saved": message})
    return RedirectResponse(f"/messages?{query}", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    db: DbSession,
    me: Staff,
    kind: Annotated[str, Query(max_length=30)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    rows, total = repo.paged(db, repo.audit_query(kind or None), (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return render(
        request,
        "audit.html",
        me,
        nav="audit",
        rows=[r[0] for r in rows],
        kind=kind,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


def install_console(app: FastAPI) -> None:
    """Mount the console and answer its errors as pages (or htmx fragments), not JSON."""
    from api import console_models  # its pages use this module's dependencies

    app.include_router(router)
    app.include_router(console_models.router)
    previous = app.exception_handlers.get(ApiError)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        target = "/login?" + urlencode({"next": exc.next_url})
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(DomainError)
    async def _console_domain_error(request: Request, exc: DomainError) -> Response:
        return await _console_error(request, from_domain(exc))

    @app.exception_handler(ApiError)
    async def _console_error(request: Request, exc: ApiError) -> Response:
        if request.url.path.startswith("/api/") or previous is None:
            assert previous is not None
            return await previous(request, exc)
        if request.headers.get("HX-Request"):
            html = f'<div class="flash error" role="alert">{_escape(exc.message)}</div>'
            return HTMLResponse(html, status_code=exc.status)
        principal = getattr(request.state, "principal", None)
        response = render(request, "error.html", principal, message=exc.message, status=exc.status)
        response.status_code = exc.status
        return response


def _escape(text: str) -> str:
    return str(escape(text))


# --- leaderboards, exports and staff records (scoring) ---------------------------------------------


@router.get("/leaderboards", response_class=HTMLResponse)
def leaderboards_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    me: Staff,
    rubric: Annotated[str, Query(max_length=100)] = "",
    board: Annotated[str, Query(max_length=10)] = "monthly",
    month: Annotated[str, Query(max_length=7)] = "",
    quarter: Annotated[str, Query(max_length=7)] = "",
    year: Annotated[str, Query(max_length=4)] = "",
    as_of: Annotated[date | None, Query()] = None,
) -> HTMLResponse:
    chosen = scores.get_rubric(settings, rubric or None)
    today = datetime.now(settings.tz).date()
    month = month or f"{today.year}-{today.month:02d}"
    quarter = quarter or f"{today.year}Q{(today.month - 1) // 3 + 1}"
    year_value = int(year) if year.isdigit() else today.year
    note = None
    if board == "quarterly":
        table = scores.quarterly(db, settings, chosen.name, quarter, as_of)
        sheet, unit_ids = exports.quarter_sheet(table), [r.unit_id for r in table.rows]
    elif board == "annual":
        result = scores.annual(db, settings, chosen.name, year_value, as_of)
        sheet = exports.annual_sheet(result.rows, result.year, chosen.title, chosen.name)
        unit_ids = [r.unit_id for r in result.rows]
    else:
        board = "monthly"
        ranking = scores.monthly(db, settings, chosen.name, month)
        sheet, unit_ids, note = exports.monthly_sheet(ranking), [r.unit_id for r in ranking.rows], ranking.tie_rule
    query = {"rubric": chosen.name, "month": month, "quarter": quarter, "year": year_value}
    return render(
        request,
        "leaderboards.html",
        me,
        nav="leaderboards",
        rubrics=scores.rubrics(),
        rubric=chosen,
        board=board,
        month=month,
        quarter=quarter,
        year=year_value,
        as_of=as_of or today,
        heading=sheet.title,
        note=" ".join(x for x in (sheet.note, note) if x),
        headers=sheet.headers,
        rows=[{"unit_id": uid, "cells": cells} for uid, cells in zip(unit_ids, sheet.rows, strict=True)],
        export_query=urlencode(query),
    )


def _record_context(db: Session, settings: Settings) -> dict[str, Any]:
    today = datetime.now(settings.tz).date()
    return {
        "OUTLET_LEVELS": sm.OutletLevel.choices(),
        "CHECK_KINDS": sm.CheckKind.choices(),
        "ADJUSTMENT_KINDS": [(kind.value, kind.zh, kind.is_bonus) for kind in sm.AdjustmentKind],
        "units": repo.active_units(db),
        "year": today.year,
        "quarter": (today.month - 1) // 3 + 1,
    }


@router.get("/records", response_class=HTMLResponse)
def records_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    me: Staff,
    saved: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    recent, _total = scoring_service.page_records(db, limit=RECORDS_SHOWN)
    return render(
        request,
        "records.html",
        me,
        nav="records",
        records=recent,
        saved=saved,
        error=None,
        open="",
        **_record_context(db, settings),
    )


@router.post("/records/{kind}", response_class=HTMLResponse)
async def record_submit(request: Request, kind: str, db: DbSession, settings: AppSettings, me: Writer) -> Response:
    """Console forms for the staff records; the same validation and audit as the API."""
    if kind not in RecordKind.names():
        raise ApiError(404, "未知的记录类型")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and v.strip() and k != CSRF_FIELD}
    try:
        message = await run_in_threadpool(_save_record_form, db, kind, form, me.actor)
    except (ApiError, ValidationError, ValueError) as exc:
        text = exc.message if isinstance(exc, ApiError) else _validation_text(exc)
        context = _record_context(db, settings)
        response = render(
            request, "records.html", me, nav="records", records=[], saved="", error=text, open=kind, **context
        )
        response.status_code = 422
        return response
    return RedirectResponse("/records?" + urlencode({"saved": message}), status_code=303)


def _validation_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "；".join(f"{'.'.join(map(str, e['loc']))}：{e['msg']}" for e in exc.errors())
    return str(exc)


def _save_record_form(db: Session, kind: str, form: dict[str, str], actor: str) -> str:
    """The form names its unit as staff typed it; the rest is the kind's input schema (scoring.records)."""
    unit = unit_service.find_unit(db, form.pop("unit", ""))
    if unit is None:
        raise ApiError(422, "找不到该单位，请从列表中选择")
    out = scoring_service.add_record(db, kind, form | {"unit_id": str(unit.id)}, actor)
    return f"{unit.name}：{out.summary}"


@router.post("/records/{kind}/{record_id}/void")
def record_void(
    kind: str,
    record_id: ResourceId,
    db: DbSession,
    me: Writer,
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    if kind not in RecordKind.names():
        raise ApiError(404, "未知的记录类型")
    scoring_service.void_record(db, kind, record_id, me.actor, reason)
    return RedirectResponse("/records?" + urlencode({"saved": f"已作废 {kind}:{record_id}"}), status_code=303)
