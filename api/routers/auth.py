"""Login, logout, the current user, staff accounts and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from accounts import service as auth
from accounts.models import ApiToken, Role, StaffUser
from api import repository as repo
from api import schemas
from api.deps import (
    SESSION_COOKIE,
    Admin,
    AppSettings,
    DbSession,
    Paging,
    ResourceId,
    Viewer,
    client_address,
)
from api.errors import ApiError, Conflict, ErrorResponse, NotFound, error_response
from wenming.db import utcnow
from wenming.settings import Settings

router = APIRouter(tags=["认证与用户"])


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


@router.post(
    "/auth/login",
    response_model=schemas.LoginOut,
    responses={401: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
def login(body: schemas.LoginIn, request: Request, db: DbSession, settings: AppSettings) -> Response:
    """Log in with a password; sets the session cookie and returns the CSRF token for writes."""
    client = client_address(request)
    try:
        user = auth.authenticate(db, settings, body.username, body.password, client)
    except auth.RateLimited as exc:
        return error_response(429, str(exc))  # answered, not raised, so the attempt is committed
    except auth.AuthError as exc:
        return error_response(401, str(exc))
    cookie = auth.start_session(db, settings, user, client)
    principal = auth.principal_from_session(db, cookie)
    assert principal is not None
    out = schemas.LoginOut(user=schemas.UserOut.model_validate(user), csrf_token=principal.csrf_token or "")
    response = JSONResponse(out.model_dump(mode="json"))
    set_session_cookie(response, request, settings, cookie)
    return response


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, db: DbSession, _me: Viewer) -> Response:
    """End the console session (token callers simply stop using their token)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.end_session(db, cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=schemas.UserOut)
def me(db: DbSession, principal: Viewer) -> schemas.UserOut:
    user = db.get(StaffUser, principal.user_id)
    return schemas.UserOut.model_validate(user)


# --- user management (admin) -----------------------------------------------------------------------


def _user(db: DbSession, user_id: int) -> StaffUser:
    user = db.get(StaffUser, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


@router.get("/users", response_model=schemas.Page[schemas.UserOut])
def list_users(db: DbSession, _admin: Admin, paging: Paging, role: Role | None = None) -> schemas.Page:
    stmt = select(StaffUser).order_by(StaffUser.username)
    if role:
        stmt = stmt.where(StaffUser.role == role.value)
    rows, total = repo.paged(db, stmt, paging.offset, paging.page_size)
    items = [schemas.UserOut.model_validate(r[0]) for r in rows]
    return schemas.Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.post("/users", response_model=schemas.UserOut, status_code=201, responses={409: {"model": ErrorResponse}})
def create_user(body: schemas.UserCreate, db: DbSession, admin: Admin) -> schemas.UserOut:
    if auth.get_user_by_name(db, body.username) is not None:
        raise Conflict(f"用户名 {body.username} 已存在")
    try:
        user = auth.create_user(db, body.username, body.password, body.role, body.display_name)
    except auth.AuthError as exc:
        raise ApiError(422, str(exc)) from None
    repo.record_change(db, "staff_user", admin.actor, {}, {"user": user.username, "role": user.role})
    return schemas.UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=schemas.UserOut)
def update_user(user_id: ResourceId, body: schemas.UserUpdate, db: DbSession, admin: Admin) -> schemas.UserOut:
    user = _user(db, user_id)
    if user.id == admin.user_id and (body.active is False or (body.role and body.role != Role.ADMIN)):
        raise Conflict("不能停用自己或降低自己的权限，请让另一位管理员操作")
    before = {"user": user.username, "role": user.role, "active": user.active}
    if body.role is not None:
        user.role = body.role.value
    if body.display_name is not None:
        user.display_name = body.display_name
    if body.active is not None:
        user.active = body.active
        if not body.active:
            auth.revoke_sessions(db, user.id)
    if body.password is not None:
        try:
            auth.set_password(db, user, body.password)
        except auth.AuthError as exc:
            raise ApiError(422, str(exc)) from None
    after = {
        "user": user.username,
        "role": user.role,
        "active": user.active,
        "password_changed": bool(body.password),
    }
    repo.record_change(db, "staff_user", admin.actor, before, after)
    db.flush()
    return schemas.UserOut.model_validate(user)


@router.get("/users/{user_id}/tokens", response_model=list[schemas.TokenOut])
def list_tokens(user_id: ResourceId, db: DbSession, _admin: Admin) -> list[schemas.TokenOut]:
    _user(db, user_id)
    rows = db.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    return [schemas.TokenOut.model_validate(t) for t in rows]


@router.post("/users/{user_id}/tokens", response_model=schemas.TokenCreated, status_code=201)
def create_token(user_id: ResourceId, body: schemas.TokenCreate, db: DbSession, admin: Admin) -> schemas.TokenCreated:
    """Issue an API token; the plain token is in this answer only."""
    user = _user(db, user_id)
    token, plain = auth.create_token(db, user, body.name, body.expires_in_days)
    repo.record_change(db, "api_token", admin.actor, {}, {"user": user.username, "token": token.prefix})
    return schemas.TokenCreated(**schemas.TokenOut.model_validate(token).model_dump(), token=plain)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: ResourceId, db: DbSession, admin: Admin) -> Response:
    token = db.get(ApiToken, token_id)
    if token is None:
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        repo.record_change(db, "api_token", admin.actor, {"token": token.prefix}, {"revoked": True})
    return Response(status_code=status.HTTP_204_NO_CONTENT)
