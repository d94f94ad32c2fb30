"""Staff accounts: creating users and tokens, logging in with rate limiting, resolving who is calling."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from accounts import passwords, security
from accounts.models import ApiToken, LoginAttempt, Role, StaffSession, StaffUser
from wenming import audit, errors
from wenming.audit import AuditKind
from wenming.db import utcnow
from wenming.settings import Settings

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")


class AuthError(errors.DomainError):
    """A Chinese message for the person logging in or managing accounts."""


class RateLimited(errors.RateLimited, AuthError):
    """Too many failed logins for this user name or client address."""


class UserExists(errors.Conflict, AuthError):
    """The user name is taken."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, and how they proved it."""

    user_id: int
    username: str
    display_name: str | None
    role: Role
    via: str  # "token" | "session"
    csrf_token: str | None = None
    session_id: int | None = None
    token_id: int | None = None
    token_stale: bool = False  # the token's last_used_at is old enough to be refreshed

    @property
    def actor(self) -> str:
        """The name written into audit rows."""
        return f"staff:{self.username}"

    def can(self, role: Role) -> bool:
        return self.role.rank >= role.rank


def validate_new_password(password: str, username: str | None = None) -> None:
    """Refuse short, common and trivial passwords (on create and on every reset)."""
    reason = passwords.problem(password, username)
    if reason is not None:
        raise AuthError(reason)


def get_user_by_name(session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def create_user(
    session: Session, username: str, password: str, role: Role, display_name: str | None = None
) -> StaffUser:
    """Add a staff user; names are unique and passwords are checked for minimal strength."""
    if not USERNAME_RE.match(username):
        raise AuthError("用户名只能包含字母、数字、下划线、点和短横线，长度 2–64")
    if get_user_by_name(session, username) is not None:
        raise UserExists(f"用户名 {username} 已存在")
    validate_new_password(password, username)
    user = StaffUser(
        username=username,
        display_name=display_name,
        password_hash=security.hash_password(password),
        role=role.value,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: StaffUser, password: str) -> None:
    """Change a password and end the user's console sessions everywhere."""
    validate_new_password(password, user.username)
    user.password_hash = security.hash_password(password)
    revoke_sessions(session, user.id)
    session.flush()


def revoke_sessions(session: Session, user_id: int) -> None:
    for row in session.scalars(select(StaffSession).where(StaffSession.user_id == user_id)):
        session.delete(row)
    session.flush()


def create_token(
    session: Session, user: StaffUser, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """Issue a bearer token; the plain token is returned once and only its digest is stored."""
    plain = security.new_api_token()
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=security.digest(plain),
        prefix=plain[:10],
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, plain


# --- account administration (API, console, ``wenming users``): each change leaves one audit row ---------------


def _user_snapshot(user: StaffUser) -> dict[str, object]:
    return {"user": user.username, "role": user.role, "active": user.active, "display_name": user.display_name}


def get_user(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise errors.NotFound("用户不存在")
    return user


def add_user(
    session: Session, actor: str, username: str, password: str, role: Role, display_name: str | None = None
) -> StaffUser:
    """Add a staff account."""
    user = create_user(session, username, password, role, display_name)
    after = {"user": user.username, "role": user.role}
    audit.record(session, actor, AuditKind.STAFF_USER, subject=("user", user.id), after=after)
    return user


def update_user(
    session: Session,
    actor: str,
    user_id: int,
    *,
    role: Role | None = None,
    active: bool | None = None,
    display_name: str | None = None,
    password: str | None = None,
    acting_user_id: int | None = None,
) -> StaffUser:
    """Change a user's role, activity, display name or password; a deactivated user's sessions end at once."""
    user = get_user(session, user_id)
    if user.id == acting_user_id and (active is False or (role is not None and role != Role.ADMIN)):
        raise errors.Conflict("不能停用自己或降低自己的权限，请让另一位管理员操作")
    before = {"user": user.username, "role": user.role, "active": user.active}
    forget_verified_tokens(session)  # the role or activity cached with a token may change
    if role is not None:
        user.role = role.value
    if display_name is not None:
        user.display_name = display_name
    if active is not None:
        user.active = active
        if not active:
            revoke_sessions(session, user.id)
    if password is not None:
        set_password(session, user, password)
    after = {"user": user.username, "role": user.role, "active": user.active, "password_changed": bool(password)}
    session.flush()
    audit.record(session, actor, AuditKind.STAFF_USER, subject=("user", user.id), before=before, after=after)
    return user


def reset_password(session: Session, actor: str, user_id: int, password: str) -> StaffUser:
    """Set a new password (the demo resets its account every run); the user's console sessions end."""
    return update_user(session, actor, user_id, password=password)


def issue_token(
    session: Session, actor: str, user_id: int, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """Issue a bearer token for an active user; the plain token is returned once."""
    user = get_user(session, user_id)
    if not user.active:
        raise errors.Conflict(f"用户 {user.username} 已停用")
    token, plain = create_token(session, user, name, expires_in_days)
    after = {"user": user.username, "token": token.prefix, "name": token.name}
    audit.record(session, actor, AuditKind.API_TOKEN, subject=("token", token.id), after=after)
    return token, plain


def revoke_token(session: Session, actor: str, token_id: int) -> ApiToken:
    """Revoke a token; revoking it again changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise errors.NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        forget_verified_tokens(session)
        session.flush()
        before, after = {"token": token.prefix}, {"revoked": True}
        audit.record(session, actor, AuditKind.API_TOKEN, subject=("token", token.id), before=before, after=after)
    return token


def _failures_since_success(session: Session, since: datetime, *conditions: object) -> tuple[int, datetime | None]:
    """Failed attempts matching ``conditions`` after ``since`` and after the last success; and the latest one."""
    last_ok = session.scalar(
        select(func.max(LoginAttempt.created_at)).where(
            *conditions, LoginAttempt.success.is_(True), LoginAttempt.created_at >= since
        )
    )
    start = max(since, last_ok) if last_ok is not None else since
    count, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.created_at)).where(
            *conditions, LoginAttempt.success.is_(False), LoginAttempt.created_at > start
        )
    ).one()
    return int(count or 0), latest


def login_delay(settings: Settings, failures: int, free: int) -> float:
    """Seconds to wait before the next try: none for the first ``free`` failures, then doubling, capped."""
    if failures < free:
        return 0.0
    return min(settings.login_base_delay_seconds * 2 ** (failures - free), settings.login_max_delay_seconds)


def check_rate_limit(session: Session, settings: Settings, username: str, client: str | None) -> None:
    """Exponential delays per (user name, client address), and per address over all names.

    Never by name alone: someone guessing a user's password from elsewhere cannot lock that user out.
    """
    now = utcnow()
    since = now - timedelta(minutes=settings.login_window_minutes)
    limit = settings.login_max_failures
    checks = [((LoginAttempt.username == username, LoginAttempt.client == client), limit)]
    if client:
        checks.append(((LoginAttempt.client == client,), limit * 4))  # many names from one address
    for conditions, free in checks:
        failures, latest = _failures_since_success(session, since, *conditions)
        wait = login_delay(settings, failures, free)
        if wait and latest is not None:
            left = wait - (now - latest).total_seconds()
            if left > 0:
                raise RateLimited(f"登录失败次数过多，请 {math.ceil(left)} 秒后再试")


def unlock(session: Session, actor: str, username: str) -> int:
    """Forget a user's recent failed logins (from every address), so delays stop at once; returns how many."""
    rows = session.scalars(
        select(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.success.is_(False))
    ).all()
    for row in rows:
        session.delete(row)
    session.flush()
    user = get_user_by_name(session, username)
    audit.record(
        session,
        actor,
        AuditKind.STAFF_USER,
        subject=("user", user.id if user else username),
        before={"user": username, "failed_logins": len(rows)},
        after={"user": username, "failed_logins": 0},
        reason="管理员解除登录限制",
    )
    return len(rows)


def authenticate(session: Session, settings: Settings, username: str, password: str, client: str | None) -> StaffUser:
    """Check a password, recording the attempt; the caller must commit even when this raises AuthError."""
    username = username.strip()
    check_rate_limit(session, settings, username, client)
    user = get_user_by_name(session, username)
    ok = security.verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username[:64], client=client, success=ok))
    session.flush()
    if not ok or user is None:
        raise AuthError("用户名或密码错误")
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    user.last_login_at = utcnow()
    return user


def start_session(session: Session, settings: Settings, user: StaffUser, client: str | None) -> str:
    """Open a console session; returns the cookie value (only its digest is stored)."""
    plain = security.new_secret()
    row = StaffSession(
        user_id=user.id,
        token_hash=security.digest(plain),
        csrf_token=security.new_secret(),
        expires_at=utcnow() + timedelta(hours=settings.session_hours),
        client=client,
    )
    session.add(row)
    session.flush()
    return plain


@dataclass(frozen=True)
class Login:
    """A successful login: the user, the session cookie's value and the session's CSRF token."""

    user: StaffUser
    cookie: str
    csrf_token: str


def login(session: Session, settings: Settings, username: str, password: str, client: str | None) -> Login:
    """Check the password and open a console session; the attempt is recorded, so commit even on AuthError."""
    user = authenticate(session, settings, username, password, client)
    cookie = start_session(session, settings, user, client)
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == security.digest(cookie)))
    return Login(user, cookie, row.csrf_token if row else "")


def end_session(session: Session, cookie_value: str) -> None:
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == security.digest(cookie_value)))
    if row is not None:
        session.delete(row)
        session.flush()


def _principal(user: StaffUser, via: str, **extra: object) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        via=via,
        **extra,  # type: ignore[arg-type]
    )


TOKEN_CACHE_SECONDS = 30.0
_TOKEN_CACHE_MAX = 10_000
# digest → (monotonic deadline, principal, token expiry): a verified token is trusted for a few seconds without a
# query. Revoking a token or changing a user empties it in this process; other processes (``serve --workers N``)
# notice within TOKEN_CACHE_SECONDS.
_verified: dict[str, tuple[float, Principal, datetime | None]] = {}


def forget_verified_tokens(session: Session | None = None) -> None:
    """Empty the token cache now and, when a transaction is open, again after it commits (no stale re-caching)."""
    _verified.clear()
    if session is not None:
        event.listen(session, "after_commit", lambda _session: _verified.clear(), once=True)


def verified_principal(plain: str) -> Principal | None:
    """The caller of a token verified in the last TOKEN_CACHE_SECONDS, without a query (None: ask the database)."""
    cached = _verified.get(security.digest(plain))
    if cached is not None and cached[0] > time.monotonic() and (cached[2] is None or cached[2] > utcnow()):
        return cached[1]
    return None


def principal_from_token(session: Session, plain: str) -> Principal | None:
    """Resolve a bearer token; expired, revoked or inactive-user tokens resolve to nobody."""
    cached = verified_principal(plain)
    if cached is not None:
        return cached
    now = utcnow()
    digest = security.digest(plain)
    row = session.execute(
        select(ApiToken, StaffUser)
        .join(StaffUser, StaffUser.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    stale = token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL
    principal = _principal(user, "token", token_id=token.id, token_stale=stale)
    if len(_verified) >= _TOKEN_CACHE_MAX:
        _verified.clear()
    _verified[digest] = (time.monotonic() + TOKEN_CACHE_SECONDS, principal, token.expires_at)
    return principal


TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


def touch_token(session: Session, token_id: int) -> None:
    """Record that a token was used; one statement, issued just before the request's commit.

    Done at the end rather than while resolving the caller, so that a read request does not hold the
    database's write lock for its whole duration (on SQLite that serialised concurrent readers).
    """
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def principal_from_session(session: Session, cookie_value: str) -> Principal | None:
    row = session.execute(
        select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.user_id)
        .where(StaffSession.token_hash == security.digest(cookie_value))
    ).first()
    if row is None:
        return None
    staff_session, user = row
    if staff_session.expires_at <= utcnow() or not user.active:
        return None
    return _principal(user, "session", csrf_token=staff_session.csrf_token, session_id=staff_session.id)
