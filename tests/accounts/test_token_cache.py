"""Verified bearer tokens are trusted briefly without a query, and never after a revoke or a user change."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from accounts import service as auth
from accounts.models import Role


def _token(session: Session, role: Role = Role.ADMIN) -> tuple[int, int, str]:
    user = auth.create_user(session, "cache-user", "长密码-cache-2026", role)
    token, plain = auth.create_token(session, user, "机器人")
    return user.id, token.id, plain


def test_a_verified_token_is_not_looked_up_again(session: Session) -> None:
    _user_id, _token_id, plain = _token(session)
    first = auth.principal_from_token(session, plain)
    seen: list[str] = []

    def note(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(session.get_bind(), "before_cursor_execute", note)
    try:
        again = auth.principal_from_token(session, plain)
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", note)
    assert first is not None and again == first
    assert seen == []


def test_a_revoked_token_is_refused_at_once(session: Session) -> None:
    _user_id, token_id, plain = _token(session)
    assert auth.principal_from_token(session, plain) is not None
    auth.revoke_token(session, "admin", token_id)
    assert auth.principal_from_token(session, plain) is None


def test_a_deactivated_or_demoted_user_is_seen_at_once(session: Session) -> None:
    user_id, _token_id, plain = _token(session)
    assert auth.principal_from_token(session, plain).role == Role.ADMIN  # type: ignore[union-attr]
    auth.update_user(session, "admin", user_id, role=Role.VIEWER)
    assert auth.principal_from_token(session, plain).role == Role.VIEWER  # type: ignore[union-attr]
    auth.update_user(session, "admin", user_id, active=False)
    assert auth.principal_from_token(session, plain) is None
