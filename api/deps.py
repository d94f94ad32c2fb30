"""Request dependencies: the per-request transaction, settings, who is calling, roles and CSRF."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from accounts import security
from accounts import service as auth
from accounts.models import Role
from api.errors import ApiError
from wenming.db import transaction
from wenming.settings import Settings

SESSION_COOKIE = "wm_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_PAGE_SIZE = 200
MAX_ID = 2**31 - 1  # ids are 32-bit integers in every supported database

ResourceId = Annotated[int, Path(ge=1, le=MAX_ID)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def as_utc(value: datetime | None, settings: Settings) -> datetime | None:
    """Query datetimes without a zone are read in the office's time zone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=settings.tz)


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The unit of work of one request: commit when the handler succeeded, roll back when it raised.

    A request holds one of ``api_db_connections`` slots from before its session exists until after it is
    closed, so sessions never outnumber pooled connections. Without the slot, requests whose handler had
    finished could hold every connection while waiting for a worker thread to commit, and the threads
    would wait for a connection: a deadlock under load (found by bench/bench_api.py).
    """
    slots: anyio.CapacityLimiter = request.app.state.db_slots
    async with slots:
        # On SQLite a page view begins DEFERRED and never queues behind a writer; a write waits for the lock.
        reading = request.method in SAFE_METHODS
        factory = request.app.state.read_session_factory if reading else request.app.state.session_factory
        session: Session = factory()
        try:
            yield session
            await anyio.to_thread.run_sync(_finish, request, session)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.rollback)
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.close)


def _finish(request: Request, session: Session) -> None:
    """Commit the request, then note a bearer token's use (at most once per interval and process)."""
    session.commit()
    principal = getattr(request.state, "principal", None)
    if token_use_due(request, principal):
        touch_token_now(request, principal)


def token_use_due(request: Request, principal: auth.Principal | None) -> bool:
    """Whether this request should write its token's last use: stale, and not written by this process lately."""
    if principal is None or not principal.token_stale or principal.token_id is None:
        return False
    touched: dict[int, float] = request.app.state.token_touches
    now = time.monotonic()
    if now - touched.get(principal.token_id, -1e9) <= auth.TOKEN_TOUCH_INTERVAL.total_seconds():
        return False
    touched[principal.token_id] = now
    return True


def touch_token_now(request: Request, principal: auth.Principal) -> None:
    """Write the token's last use in a short transaction of its own."""
    assert principal.token_id is not None
    with transaction(request.app.state.session_factory) as writer:
        auth.touch_token(writer, principal.token_id)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized("Authorization 头格式应为：Bearer <令牌>")
    return value.strip()


def unauthorized(message: str = "请先登录或提供有效的访问令牌") -> ApiError:
    err = ApiError(401, message)
    err.headers["WWW-Authenticate"] = "Bearer"
    return err


def resolve_principal(request: Request, db: Session) -> auth.Principal | None:
    """A bearer token wins over the cookie; a presented but invalid token is an error, not anonymity."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = None
    token = bearer_token(request)
    if token is not None:
        principal = auth.principal_from_token(db, token)
        if principal is None:
            raise unauthorized("访问令牌无效、已过期或已吊销")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = auth.principal_from_session(db, cookie)
    request.state.principal = principal
    return principal


async def _csrf_ok(request: Request, principal: auth.Principal) -> bool:
    """Cookie-authenticated writes must echo the session's CSRF token (header, or form field for forms)."""
    if principal.via != "session" or request.method in SAFE_METHODS:
        return True
    expected = principal.csrf_token or ""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return bool(sent) and security.same(sent or "", expected)


def _require(role: Role):  # type: ignore[no-untyped-def]
    """Build a dependency that admits callers of at least ``role``."""

    def dependency(request: Request, db: DbSession) -> auth.Principal:
        principal = resolve_principal(request, db)
        if principal is None:
            raise unauthorized()
        if not principal.can(role):
            raise ApiError(403, f"此操作需要「{role.zh}」或更高权限")
        return principal

    async def with_csrf(request: Request, principal: auth.Principal = Depends(dependency)) -> auth.Principal:
        if not await _csrf_ok(request, principal):
            raise ApiError(403, "CSRF 校验失败，请刷新页面后重试", code="csrf_failed")
        return principal

    return with_csrf


require_viewer = _require(Role.VIEWER)
require_reviewer = _require(Role.REVIEWER)
require_admin = _require(Role.ADMIN)

Viewer = Annotated[auth.Principal, Depends(require_viewer)]
Reviewer = Annotated[auth.Principal, Depends(require_reviewer)]
Admin = Annotated[auth.Principal, Depends(require_admin)]


class Pagination:
    """``page`` (from 1) and ``page_size`` (1–200) query parameters."""

    def __init__(
        self,
        page: Annotated[int, Query(ge=1, le=1_000_000, description="页码，从 1 开始")] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="每页条数")] = 50,
    ):
        self.page = page
        self.page_size = page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


Paging = Annotated[Pagination, Depends()]


def set_session_cookie(response: Response, request: Request, settings: Settings, value: str) -> None:
    """HttpOnly, SameSite=Lax, and Secure whenever the console is reached over HTTPS (or forced on)."""
    secure = settings.session_cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
