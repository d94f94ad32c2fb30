"""The staff console: server-rendered Chinese pages (Jinja2 + htmx), signed in with a session cookie."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from accounts import security
from accounts import service as auth
from accounts.models import Role, StaffUser
from api import audit_view, capture_view, exports, presenters, scores
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
from classifier.models import ClassificationSource, Fact, Label
from classifier.schemas import ClassificationPatch
from ingest import service as ingest_service
from ingest import units as unit_service
from ingest.models import HonourLevel, Member, MessageReason, Platform, RawStatus, ReportStatus, Unit
from ingest.schemas import UnitUpdate
from scoring import models as sm
from scoring import service as scoring_service
from scoring.models import RecordKind
from wenming import audit, versions
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

PageNo = Annotated[int, Query(ge=1, le=100_000)]
Notice = Annotated[str, Query(max_length=200)]  # a message a redirect carries to the page it lands on

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


REPORT_REF = re.compile(r"#(\d{1,9})\b")


def report_links(text: object) -> Markup:
    """``#124`` in an explanation line becomes a link to report 124 (the rest of the text is escaped)."""
    return Markup(REPORT_REF.sub(r'<a href="/reports/\1">#\1</a>', str(escape(text))))


def _form_values(values: dict[str, str] | None, open_kind: str) -> Any:
    """``val(kind, field, default)`` in records.html: what staff typed into the form that failed, else the default."""

    def val(kind: str, name: str, default: object = "") -> object:
        return (values or {}).get(name, default) if kind == open_kind else default

    return val


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
    env.globals["FACT_ZH"] = Fact.names()
    env.globals["value_of"] = _form_values
    env.filters["report_links"] = report_links
    env.filters["actors"] = lambda text: re.sub(r"\b(?:staff|cli):([\w.\-]+)", r"\1", str(text))
    env.globals["OUTLET_ZH"] = sm.OutletLevel.names()
    env.globals["model_zh"] = audit_view.model_zh
    env.globals["confidence_zh"] = presenters.confidence_zh
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
    real_today = datetime.now(settings.tz).date()
    today = repo.data_day(db, real_today)
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
        real_today=real_today,
        reporting_now=repo.month_reporting_units(db, real_today),
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
def system_page(request: Request, db: DbSession, settings: AppSettings, me: Staff, saved: Notice = "") -> HTMLResponse:
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
    key = ("dashboard", settings.api_default_rubric, today, versions.current(db, versions.RANKINGS))
    return cache.get(key, lambda: scores.dashboard(db, settings, today))


# --- review queue ----------------------------------------------------------------------------------


def _report_cards(db: Session, rows: list[Any]) -> list[dict[str, Any]]:
    """What a report card shows, loaded for a whole page at once (photos, evidence, groups, current labels)."""
    reports = [r for r, _u, _s in rows]
    photos = repo.report_photos(db, [r.id for r in reports])
    evidence = repo.photo_evidence(db, [r.id for r in reports])
    group_ids = {r.group_id for r in reports}
    groups = repo.group_names(db, group_ids)
    current = repo.current_classifications(db, [r.id for r in reports])
    cards = []
    for report, unit_name, sender in rows:
        labels = current.get(report.id)
        cards.append(
            {
                "report": report,
                "unit_name": unit_name,
                "sender": sender,
                "group": groups.get(report.group_id),
                "photos": [presenters.photo_out(p, m) for p, m in photos[report.id]],
                "evidence": evidence.get(report.id),
                "also": ingest_service.assignment_preview(db, report.id) if report.unit_id is None else 0,
                "secondary": [s["label"] for s in (labels.secondary_labels or [])] if labels else [],
                "partner": (labels.facts or {}).get(Fact.PARTNER.value, "") if labels else "",
            }
        )
    return cards


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    db: DbSession,
    me: Staff,
    page: PageNo = 1,
    saved: Notice = "",
) -> HTMLResponse:
    total = repo.count_review(db)
    rows = repo.page_rows(db, repo.review_query(), (page - 1) * REVIEW_PAGE_SIZE, REVIEW_PAGE_SIZE)
    high = repo.count_review_high(db)
    return render(
        request,
        "review.html",
        me,
        nav="review",
        cards=_report_cards(db, rows),
        units=repo.active_units(db),
        total=total,
        high=high,
        saved=saved,
        page=page,
        pages=max(1, -(-total // REVIEW_PAGE_SIZE)),
    )


def _card_response(
    request: Request, db: Session, me: auth.Principal, report_id: int, message: str, undo: int | None = None
) -> HTMLResponse:
    """The replaced card, and the new 待审核 count for every place that shows it (an htmx event)."""
    row = repo.report_row(db, report_id)
    if row is None:
        raise ApiError(404, "报送不存在")
    card = _report_cards(db, [row])[0]
    response = render(
        request,
        "_review_card.html",
        me,
        card=card,
        units=repo.active_units(db),
        done=message,
        undo=undo,
        in_queue=False,
    )
    response.headers["HX-Trigger"] = json.dumps({"reviewCount": {"value": repo.count_review(db)}})
    return response


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
    partner: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    facts = {Fact.PARTNER.value: partner.strip()} if partner.strip() else None
    secondary = [s for s in secondary or [] if s != label]
    try:
        body = ClassificationPatch(
            label=label, secondary_labels=secondary, facts=facts, reason=reason.strip() or "控制台审核"
        )
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
    also = ingest_service.assignment_preview(db, report_id) if remember_sender else 0
    ingest_service.assign_report_unit(
        db, report_id, target.id, actor=me.actor, reason=reason.strip() or None, remember_sender=remember_sender
    )
    suffix = f"，并记住发送人（同时归入 {also} 条报送）" if remember_sender else ""
    undo = audit.history(db, ("report", report_id), AuditKind.REPORT_UNIT)[0].id
    return _card_response(request, db, me, report_id, f"已归入「{target.name}」{suffix}", undo=undo)


@router.post("/review/{report_id}/undo/{audit_id}", response_class=HTMLResponse)
def review_undo_assign(
    request: Request, db: DbSession, me: Writer, report_id: ResourceId, audit_id: ResourceId
) -> HTMLResponse:
    """撤销: the assignment just made is taken back exactly as recorded (sender and the reports filed with it)."""
    report = ingest_service.undo_report_assignment(db, audit_id, actor=me.actor)
    if report.id != report_id:
        raise ApiError(404, "找不到这次归属操作")
    return _card_response(request, db, me, report_id, "已撤销这次归属")


# --- 用户管理 (admin): the same account service and audit rows as ``wenming users`` and the API -------------


def admin(me: SignedIn) -> auth.Principal:
    if not me.can(Role.ADMIN):
        raise ApiError(403, "只有管理员可以管理用户")
    return me


Admin = Annotated[auth.Principal, Depends(admin)]


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    db: DbSession,
    me: Staff,
    saved: Notice = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    if not me.can(Role.ADMIN):
        raise ApiError(403, "只有管理员可以管理用户")
    users = repo.staff_users(db)
    return render(request, "users.html", me, nav="users", users=users, roles=Role.choices(), saved=saved, error=error)


def _users_done(message: str, error: bool = False) -> Response:
    return RedirectResponse("/users?" + urlencode({"error" if error else "saved": message}), status_code=303)


@router.post("/users")
def user_add(
    db: DbSession,
    me: Admin,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
    role: Annotated[str, Form(max_length=20)] = Role.REVIEWER.value,
    display_name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    chosen = Role(role) if role in Role.names() else Role.VIEWER
    return _users_change(
        lambda: auth.add_user(db, me.actor, username.strip(), password, chosen, display_name.strip() or None),
        lambda user: f"已添加用户 {user.username}（{chosen.zh}）",
    )


def _users_change(change: Callable[[], StaffUser], done: Callable[[StaffUser], str]) -> Response:
    """One account change through the service; a refusal (checked before anything is written) is shown as such."""
    try:
        user = change()
    except DomainError as exc:
        return _users_done(str(exc), error=True)
    return _users_done(done(user))


@router.post("/users/{user_id}/role")
def user_role(db: DbSession, me: Admin, user_id: ResourceId, role: Annotated[str, Form(max_length=20)]) -> Response:
    if role not in Role.names():
        raise ApiError(422, "未知角色")
    return _users_change(
        lambda: auth.update_user(db, me.actor, user_id, role=Role(role), acting_user_id=me.user_id),
        lambda user: f"{user.username} 的角色已改为{Role(role).zh}",
    )


@router.post("/users/{user_id}/password")
def user_password(
    db: DbSession, me: Admin, user_id: ResourceId, password: Annotated[str, Form(min_length=1, max_length=200)]
) -> Response:
    return _users_change(
        lambda: auth.reset_password(db, me.actor, user_id, password),
        lambda user: f"已重设 {user.username} 的密码，其已登录的会话全部退出",
    )


@router.post("/users/{user_id}/active")
def user_active(db: DbSession, me: Admin, user_id: ResourceId, active: Annotated[bool, Form()] = False) -> Response:
    return _users_change(
        lambda: auth.update_user(db, me.actor, user_id, active=active, acting_user_id=me.user_id),
        lambda user: f"已{'恢复启用' if active else '停用'}用户 {user.username}",
    )


@router.get("/unassigned", response_class=HTMLResponse)
def unassigned_page(
    request: Request,
    db: DbSession,
    me: Staff,
    page: PageNo = 1,
    saved: Notice = "",
) -> HTMLResponse:
    """未归属: senders no unit knows yet and the reports waiting on them, each assignable in one click."""
    senders, total = repo.unassigned_senders(db, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    f = repo.ReportFilter(unassigned=True)
    rows = repo.page_rows(db, repo.report_query(f), 0, REVIEW_PAGE_SIZE)
    return render(
        request,
        "unassigned.html",
        me,
        nav="unassigned",
        senders=senders,
        total=total,
        report_total=repo.count_reports(db, f),
        cards=_report_cards(db, rows),
        units=repo.active_units(db),
        saved=saved,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


@router.post("/members/{member_id}/assign")
def member_assign(
    member_id: ResourceId,
    db: DbSession,
    me: Writer,
    unit: Annotated[str, Form(max_length=200)],
) -> Response:
    """One click on 未归属: the sender belongs to this unit from now on, with their reports still unassigned."""
    member = db.get(Member, member_id)
    if member is None:
        raise ApiError(404, "发送人不存在")
    target = unit_service.find_unit(db, unit)
    if target is None:
        raise ApiError(422, f"找不到单位「{unit.strip()}」，请从列表中选择")
    waiting = [
        r for r in repo.page_rows(db, repo.report_query(repo.ReportFilter(sender_id=member_id, unassigned=True)), 0, 1)
    ]
    if waiting:
        report = waiting[0][0]
        ingest_service.assign_report_unit(
            db, report.id, target.id, actor=me.actor, reason="控制台：未归属页归属", remember_sender=True
        )
    else:
        ingest_service.assign_member_unit(db, member_id, target.id, actor=me.actor, reason="控制台：未归属页归属")
    message = f"已将「{member.display_name or member.platform_user_id}」归入「{target.name}」"
    return RedirectResponse("/unassigned?" + urlencode({"saved": message}), status_code=303)


@router.post("/members/{member_id}/unassign")
def member_unassign(
    member_id: ResourceId,
    db: DbSession,
    me: Writer,
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """取消归属: a sender remembered for the wrong unit is forgotten (their past reports keep their unit)."""
    member = db.get(Member, member_id)
    if member is None:
        raise ApiError(404, "发送人不存在")
    unit_id = member.unit_id
    ingest_service.assign_member_unit(db, member_id, None, actor=me.actor, reason="控制台：取消归属")
    target = _safe_next(next) if next else (f"/units/{unit_id}" if unit_id else "/unassigned")
    return RedirectResponse(target + ("&" if "?" in target else "?") + "saved=unassigned", status_code=303)


@router.post("/review/confirm-high")
def review_confirm_high(db: DbSession, me: Writer, threshold: Annotated[float, Form(ge=0.8, le=1.0)] = 0.8) -> Response:
    """Bulk confirm: reports waiting for review whose model label is 高 confidence keep it, as if clicked one by one."""
    rows = repo.page_rows(db, repo.review_query(), 0, 500)
    confirmed = 0
    for report, _unit, _sender in rows:
        if report.label and report.unit_id is not None and (report.confidence or 0) >= threshold:
            patch = ClassificationPatch(label=report.label, reason="批量确认（把握高）")
            classifier_service.relabel(db, me.actor, report.id, patch)
            confirmed += 1
    return RedirectResponse("/review?" + urlencode({"saved": f"已确认 {confirmed} 条把握高的报送"}), status_code=303)


# --- units -----------------------------------------------------------------------------------------


@router.get("/units", response_class=HTMLResponse)
def units_page(
    request: Request,
    db: DbSession,
    me: Staff,
    q: Annotated[str, Query(max_length=100)] = "",
    page: PageNo = 1,
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
def unit_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    me: Staff,
    unit_id: ResourceId,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    rubric: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    return _unit_response(request, db, settings, me, unit_id, year, rubric)


def _unit_response(
    request: Request,
    db: Session,
    settings: Settings,
    me: auth.Principal,
    unit_id: int,
    year: int | None,
    rubric: str,
    error: str | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    """The unit page: score explanation for the chosen year and rubric, trend, timeline, members, the form."""
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise ApiError(404, "单位不存在")
    f = repo.ReportFilter(unit_id=unit_id)
    rows, total = repo.page_rows(db, repo.report_query(f), 0, 50), repo.count_reports(db, f)
    members = [m for m, _n in db.execute(repo.member_query(unit_id=unit_id).limit(100)).all()]
    chosen = scores.get_rubric(settings, rubric or None)
    year = year or repo.data_day(db, datetime.now(settings.tz).date()).year
    response = render(
        request,
        "unit.html",
        me,
        nav="units",
        unit=presenters.unit_out(unit),
        cards=_report_cards(db, rows),
        total=total,
        messages=repo.unit_message_count(db, unit_id),
        members=members,
        explanation=scores.explain(db, settings, unit_id, year, chosen.name),
        year=year,
        years=list(range(datetime.now(settings.tz).year, 2019, -1)),
        rubric=chosen,
        rubrics=scores.rubrics(),
        trend=repo.unit_monthly_counts(db, unit_id, year),
        error=error,
        typed=typed or {},
    )
    if error:
        response.status_code = 409
    return response


EVIDENCE_REPORTS = 300


def _evidence(db: Session, settings: Settings, unit_id: int, year: int | None, rubric: str) -> dict[str, Any]:
    """One unit's year for an inspection: the score explanation and every counted report behind it."""
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise ApiError(404, "单位不存在")
    chosen = scores.get_rubric(settings, rubric or None)
    year = year or repo.data_day(db, datetime.now(settings.tz).date()).year
    f = repo.ReportFilter(unit_id=unit_id, date_from=date(year, 1, 1), date_to=date(year, 12, 31))
    rows = repo.page_rows(db, repo.report_query(f), 0, EVIDENCE_REPORTS)
    return {
        "unit": presenters.unit_out(unit),
        "year": year,
        "rubric": chosen,
        "explanation": scores.explain(db, settings, unit_id, year, chosen.name),
        "cards": sorted(_report_cards(db, rows), key=lambda c: (c["report"].post_date, c["report"].id)),
        "total": repo.count_reports(db, f),
        "trend": repo.unit_monthly_counts(db, unit_id, year),
        "printed_at": datetime.now(settings.tz),
    }


@router.get("/units/{unit_id}/evidence", response_class=HTMLResponse)
def unit_evidence(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    me: Staff,
    unit_id: ResourceId,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    rubric: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """证据材料: a printable pack (browser 打印 → 另存为 PDF) of one unit's score and its reports with photos."""
    return render(request, "evidence.html", me, nav="units", **_evidence(db, settings, unit_id, year, rubric))


@router.get("/units/{unit_id}/evidence.xlsx")
def unit_evidence_xlsx(
    db: DbSession,
    settings: AppSettings,
    _me: Staff,
    unit_id: ResourceId,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    rubric: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    pack = _evidence(db, settings, unit_id, year, rubric)
    book = exports.evidence_xlsx(pack["unit"].name, pack["year"], pack["explanation"], pack["cards"])
    headers = {"Content-Disposition": exports.content_disposition(book, "xlsx")}
    return Response(book.data, media_type=exports.XLSX_MIME, headers=headers)


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
    try:
        unit_service.update_unit(db, me.actor, unit_id, body)
    except DomainError as exc:  # an alias another unit has: said on the form, what was typed kept (nothing changed)
        typed = {"name": name, "aliases": aliases, "category": category, "headcount": headcount}
        settings: Settings = request.app.state.settings
        return _unit_response(request, db, settings, me, unit_id, None, "", error=str(exc), typed=typed)
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
    page: PageNo = 1,
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
        history=audit_view.render(db, repo.report_corrections(db, report_id)),
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
    saved: Notice = "",
    page: PageNo = 1,
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
    page: PageNo = 1,
) -> HTMLResponse:
    rows, total = repo.paged(db, repo.audit_query(kind or None), (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return render(
        request,
        "audit.html",
        me,
        nav="audit",
        lines=audit_view.render(db, [r[0] for r in rows]),
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
    today = repo.data_day(db, datetime.now(settings.tz).date())
    month = month or f"{today.year}-{today.month:02d}"
    quarter = quarter or f"{today.year}Q{(today.month - 1) // 3 + 1}"
    year_value = int(year) if year.isdigit() else today.year
    note = None
    if board == "quarterly":
        table = scores.quarterly(db, settings, chosen.name, quarter, as_of)
        sheet, unit_ids = exports.quarter_sheet(table), [r.unit_id for r in table.rows]
    elif board == "annual":
        result = scores.annual(db, settings, chosen.name, year_value, as_of)
        sheet = exports.annual_sheet(
            result.rows, result.year, chosen.title, chosen.name, scoring_service.item_columns(chosen)
        )
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
        key_col=exports.key_column(board, sheet),
        rows=[{"unit_id": uid, "cells": cells} for uid, cells in zip(unit_ids, sheet.rows, strict=True)],
        export_query=urlencode(query),
    )


@router.get("/leaderboards/export")
def leaderboards_export(
    _me: Staff,
    format: Annotated[str, Query(max_length=4)] = "xlsx",
    board: Annotated[str, Query(max_length=10)] = "monthly",
    rubric: Annotated[str, Query(max_length=100)] = "",
    month: Annotated[str, Query(max_length=7)] = "",
    quarter: Annotated[str, Query(max_length=7)] = "",
    year: Annotated[str, Query(max_length=4)] = "",
) -> Response:
    """The download buttons submit the filter form, so the file is the table chosen, not the one last shown."""
    board = board if board in {"monthly", "quarterly", "annual"} else "monthly"
    extension = "csv" if format == "csv" else "xlsx"
    query = {k: v for k, v in {"rubric": rubric, "month": month, "quarter": quarter, "year": year}.items() if v}
    return RedirectResponse(f"/api/v1/exports/{board}.{extension}?{urlencode(query)}", status_code=303)


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
    saved: Notice = "",
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
        values={},
        **_record_context(db, settings),
    )


@router.post("/records/{kind}", response_class=HTMLResponse)
async def record_submit(request: Request, kind: str, db: DbSession, settings: AppSettings, me: Writer) -> Response:
    """Console forms for the staff records; the same validation and audit as the API."""
    if kind not in RecordKind.names():
        raise ApiError(404, "未知的记录类型")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and v.strip() and k != CSRF_FIELD}
    try:
        message = await run_in_threadpool(_save_record_form, db, kind, dict(form), me.actor)
    except (ApiError, ValidationError, ValueError) as exc:
        text = exc.message if isinstance(exc, ApiError) else _validation_text(exc)
        recent, _total = scoring_service.page_records(db, limit=RECORDS_SHOWN)
        context = _record_context(db, settings) | {"values": form}
        response = render(
            request, "records.html", me, nav="records", records=recent, saved="", error=text, open=kind, **context
        )
        response.status_code = 422
        return response
    return RedirectResponse("/records?" + urlencode({"saved": message}), status_code=303)


# Form fields named in validation messages, as the forms label them.
FORM_FIELD_ZH = {
    "occurred_on": "日期",
    "published_on": "刊发日期",
    "done_on": "日期",
    "activity_date": "活动日期",
    "reason": "事由",
    "title": "稿件标题",
    "outlet": "媒体",
    "level": "级别",
    "year": "年份",
    "quarter": "季度",
    "month": "月份",
    "partner": "结对村（居）",
    "activity_count": "活动次数",
    "headcount": "员工总数",
    "registered": "注册志愿者",
    "active": "参加服务的注册志愿者",
    "points": "扣分分值",
    "value": "百分比",
    "grade": "评价",
    "kind": "项目",
    "document": "通报文号",
}


def _validation_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():
            where = "、".join(FORM_FIELD_ZH.get(str(part), str(part)) for part in e["loc"])
            parts.append(f"{where}：{str(e['msg']).removeprefix('Value error, ')}")
        return "；".join(parts)
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
    out = scoring_service.void_record(db, kind, record_id, me.actor, reason)
    message = f"已作废{RecordKind.zh_of(kind)}记录 #{record_id}（{out.summary}），不再计分；审计日志中保留原记录"
    return RedirectResponse("/records?" + urlencode({"saved": message}), status_code=303)
