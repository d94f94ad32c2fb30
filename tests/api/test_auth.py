"""Logging in, sessions with CSRF, bearer tokens, rate limiting, and user management."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import ApiToken, LoginAttempt, Role, StaffUser
from tests.api.conftest import PASSWORD, Staff, add_user, error_of
from wenming.audit import AuditEntry
from wenming.db import utcnow

pytestmark = pytest.mark.anyio


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_login_sets_a_hardened_cookie_and_returns_the_csrf_token(client: httpx.AsyncClient, staff: Staff) -> None:
    response = await login(client, "reviewer")
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["role"] == "reviewer" and body["csrf_token"]
    cookie = response.headers["set-cookie"].lower()
    assert "wm_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in the test; Secure is set automatically over https
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["username"] == "reviewer"


async def test_cookie_is_secure_over_https(app, staff: Staff) -> None:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://console.example") as c:
        response = await login(c, "viewer")
    assert "secure" in response.headers["set-cookie"].lower()


async def test_session_writes_need_the_csrf_header(client: httpx.AsyncClient, staff: Staff) -> None:
    csrf = (await login(client, "reviewer")).json()["csrf_token"]
    body = {"name": "县文化馆"}
    refused = await client.post("/api/v1/units", json=body)
    assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_failed"
    wrong = await client.post("/api/v1/units", json=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    ok = await client.post("/api/v1/units", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text


async def test_bearer_token_writes_need_no_csrf(client: httpx.AsyncClient, staff: Staff) -> None:
    response = await client.post("/api/v1/units", json={"name": "县图书馆"}, headers=staff.headers("reviewer"))
    assert response.status_code == 201


async def test_wrong_password_and_unknown_user_get_the_same_answer(client: httpx.AsyncClient, staff: Staff) -> None:
    wrong = await login(client, "admin", "not-the-password")
    unknown = await login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong)["message"] == error_of(unknown)["message"] == "用户名或密码错误"


async def test_failed_logins_are_rate_limited_even_for_the_right_password(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    for _ in range(5):
        assert (await login(client, "admin", "wrong-password-1")).status_code == 401
    blocked = await login(client, "admin")
    assert blocked.status_code == 429
    assert "次数过多" in error_of(blocked)["message"]
    failures = session.scalar(
        select(func.count()).where(LoginAttempt.username == "admin", LoginAttempt.success.is_(False))
    )
    assert failures == 5  # the refused attempts were committed although the answers were errors
    assert (await login(client, "viewer")).status_code == 200  # other accounts are unaffected


async def test_old_failures_fall_out_of_the_window(client: httpx.AsyncClient, staff: Staff, session: Session) -> None:
    long_ago = utcnow() - timedelta(hours=1)
    for _ in range(10):
        session.add(LoginAttempt(username="admin", client="x", success=False, created_at=long_ago))
    session.flush()
    assert (await login(client, "admin")).status_code == 200


async def test_deactivated_user_cannot_log_in_or_use_tokens(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    staff.users["reviewer"].active = False
    session.flush()
    assert (await login(client, "reviewer")).status_code == 401
    response = await client.get("/api/v1/units", headers=staff.headers("reviewer"))
    assert response.status_code == 401


async def test_bad_expired_and_revoked_tokens_are_refused(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    bad = await client.get("/api/v1/units", headers={"Authorization": "Bearer wm_not-a-token"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    assert "令牌" in error_of(bad)["message"]
    malformed = await client.get("/api/v1/units", headers={"Authorization": "Basic abc"})
    assert malformed.status_code == 401
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == staff.users["viewer"].id))
    assert token is not None
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert (await client.get("/api/v1/units", headers=staff.headers("viewer"))).status_code == 401
    token.expires_at = None
    token.revoked_at = utcnow()
    session.flush()
    assert (await client.get("/api/v1/units", headers=staff.headers("viewer"))).status_code == 401


async def test_tokens_are_stored_hashed(client: httpx.AsyncClient, staff: Staff, session: Session) -> None:
    response = await client.post(
        f"/api/v1/users/{staff.users['viewer'].id}/tokens",
        json={"name": "报表脚本"},
        headers=staff.headers("admin"),
    )
    assert response.status_code == 201
    plain = response.json()["token"]
    assert plain.startswith("wm_")
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert plain not in stored and all(len(h) == 64 for h in stored)
    assert (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {plain}"})).json()[
        "username"
    ] == "viewer"
    token_id = response.json()["id"]
    assert (await client.delete(f"/api/v1/tokens/{token_id}", headers=staff.headers("admin"))).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {plain}"})).status_code == 401


async def test_logout_ends_the_session(client: httpx.AsyncClient, staff: Staff) -> None:
    csrf = (await login(client, "viewer")).json()["csrf_token"]
    assert (await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_admin_manages_users_and_the_change_is_audited(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    admin = staff.headers("admin")
    created = await client.post(
        "/api/v1/users",
        json={"username": "wang.li", "password": "lake-view-2026", "role": "reviewer"},
        headers=admin,
    )
    assert created.status_code == 201 and created.json()["role"] == "reviewer"
    assert (await login(client, "wang.li", "lake-view-2026")).status_code == 200
    duplicate = await client.post(
        "/api/v1/users", json={"username": "wang.li", "password": "lake-view-2026"}, headers=admin
    )
    assert duplicate.status_code == 409 and error_of(duplicate)["code"] == "conflict"
    weak = await client.post("/api/v1/users", json={"username": "li", "password": "12345678"}, headers=admin)
    assert weak.status_code == 422
    user_id = created.json()["id"]
    demoted = await client.patch(f"/api/v1/users/{user_id}", json={"role": "viewer"}, headers=admin)
    assert demoted.json()["role"] == "viewer"
    kinds = session.scalars(select(AuditEntry.kind).where(AuditEntry.actor == "staff:admin")).all()
    assert kinds.count("staff_user") == 2


async def test_admin_cannot_lock_themselves_out(client: httpx.AsyncClient, staff: Staff) -> None:
    response = await client.patch(
        f"/api/v1/users/{staff.users['admin'].id}", json={"active": False}, headers=staff.headers("admin")
    )
    assert response.status_code == 409


async def test_password_change_ends_console_sessions(client: httpx.AsyncClient, staff: Staff, session: Session) -> None:
    user = add_user(session, "zhao", Role.VIEWER)
    assert (await login(client, "zhao")).status_code == 200
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    response = await client.patch(
        f"/api/v1/users/{user.id}", json={"password": "new-password-7"}, headers=staff.headers("admin")
    )
    assert response.status_code == 200
    client.headers.pop("Authorization", None)
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    assert session.get(StaffUser, user.id) is not None
