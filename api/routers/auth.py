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
    set_session_cookie,
)
from api.errors import ErrorResponse, error_response

router = APIRouter(tags=["认证与用户"])


@router.post(
    "/auth/login",
    response_model=schemas.LoginOut,
    responses={401: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
def login(body: schemas.LoginIn, request: Request, db: DbSession, settings: AppSettings) -> Response:
    """Log in with a password; sets the session cookie and returns the CSRF token for writes."""
    try:
        done = auth.login(db, settings, body.username, body.password, client_address(request))
    except auth.RateLimited as exc:
        return error_response(429, str(exc))  # answered, not raised, so the attempt is committed
    except auth.AuthError as exc:
        return error_response(401, str(exc))
    out = schemas.LoginOut(user=schemas.UserOut.model_validate(done.user), csrf_token=done.csrf_token)
    response = JSONResponse(out.model_dump(mode="json"))
    set_session_cookie(response, request, settings, done.cookie)
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
    user = auth.add_user(db, admin.actor, body.username, body.password, body.role, body.display_name)
    return schemas.UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=schemas.UserOut)
def update_user(user_id: ResourceId, body: schemas.UserUpdate, db: DbSession, admin: Admin) -> schemas.UserOut:
    user = auth.update_user(
        db,
        admin.actor,
        user_id,
        role=body.role,
        active=body.active,
        display_name=body.display_name,
        password=body.password,
        acting_user_id=admin.user_id,
    )
    return schemas.UserOut.model_validate(user)


@router.get("/users/{user_id}/tokens", response_model=list[schemas.TokenOut])
def list_tokens(user_id: ResourceId, db: DbSession, _admin: Admin) -> list[schemas.TokenOut]:
    auth.get_user(db, user_id)
    rows = db.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    return [schemas.TokenOut.model_validate(t) for t in rows]


@router.post("/users/{user_id}/tokens", response_model=schemas.TokenCreated, status_code=201)
def create_token(user_id: ResourceId, body: schemas.TokenCreate, db: DbSession, admin: Admin) -> schemas.TokenCreated:
    """Issue an API token; the plain token is in this answer only."""
    token, plain = auth.issue_token(db, admin.actor, user_id, body.name, body.expires_in_days)
    return schemas.TokenCreated(**schemas.TokenOut.model_validate(token).model_dump(), token=plain)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: ResourceId, db: DbSession, admin: Admin) -> Response:
    auth.revoke_token(db, admin.actor, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
