"""Finding 10: no lock-out by name alone, delays per (name, address), admin unlock, proxies, password policy."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from accounts import service as accounts
from accounts.models import LoginAttempt, Role
from api.app import create_app
from tests.api.conftest import PASSWORD, Staff, error_of
from wenming.db import utcnow
from wenming.settings import Settings
from wiring.cli.main import app as cli
from wiring.server import uvicorn_options


def _login(app: Any, address: str, password: str = PASSWORD, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            body = {"username": "admin", "password": password}
            return await c.post("/api/v1/auth/login", json=body, headers=headers)

    return asyncio.run(go())


def _age_failures(session: Session, seconds: float) -> None:
    """Move every recorded failure back in time, as if the client had waited."""
    session.execute(
        update(LoginAttempt)
        .where(LoginAttempt.success.is_(False))
        .values(created_at=utcnow() - timedelta(seconds=seconds))
    )
    session.flush()


def test_someone_guessing_elsewhere_cannot_lock_the_user_out(app: Any, staff: Staff) -> None:
    for _ in range(20):
        _login(app, "198.51.100.7", "guess-guess-1")
    assert _login(app, "10.20.0.5").status_code == 200  # the real user, from the office


def test_failures_from_one_address_bring_doubling_delays_not_a_lock(app: Any, staff: Staff, session: Session) -> None:
    for _ in range(5):
        assert _login(app, "198.51.100.7", "guess-guess-1").status_code == 401
    waiting = _login(app, "198.51.100.7")
    assert waiting.status_code == 429 and "秒后再试" in error_of(waiting)["message"]
    _age_failures(session, 3)  # after the first delay (2 s) a try is allowed again
    assert _login(app, "198.51.100.7", "guess-guess-1").status_code == 401
    _age_failures(session, 3)  # six failures now: the delay doubled to 4 s
    assert _login(app, "198.51.100.7").status_code == 429
    _age_failures(session, 5)
    assert _login(app, "198.51.100.7").status_code == 200


def test_delays_grow_exponentially_and_are_capped(settings: Settings) -> None:
    free = settings.login_max_failures
    delays = [accounts.login_delay(settings, n, free) for n in range(free, free + 15)]
    assert delays[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(delays) == settings.login_max_delay_seconds


def test_an_admin_unlocks_a_user_at_once(cli_env: Any, fresh_database_url: str, settings: Settings) -> None:
    with cli_env() as db, db.begin():
        accounts.create_user(db, "admin", PASSWORD, Role.ADMIN)
        for _ in range(8):
            db.add(LoginAttempt(username="admin", client="198.51.100.7", success=False))
    app = create_app(settings.model_copy(update={"database_url": fresh_database_url}))
    assert _login(app, "198.51.100.7").status_code == 429
    result = CliRunner().invoke(cli, ["users", "unlock", "admin"])
    assert result.exit_code == 0 and "已解除" in result.output, result.output
    assert _login(app, "198.51.100.7").status_code == 200
    app.state.engine.dispose()


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(settings: Settings) -> None:
    def loaded(s: Settings) -> Any:
        config = uvicorn.Config(create_app(s), **uvicorn_options(s))
        config.load()
        return config.loaded_app

    assert not isinstance(loaded(settings), ProxyHeadersMiddleware)  # the default trusts nobody, not even 127.0.0.1
    trusted = loaded(settings.model_copy(update={"trusted_proxies": ["10.0.0.2"]}))
    assert isinstance(trusted, ProxyHeadersMiddleware)
    assert "10.0.0.2" in str(trusted.trusted_hosts.trusted_hosts) and "127.0.0.1" not in str(
        trusted.trusted_hosts.trusted_hosts
    )


@pytest.mark.parametrize(
    "password", ["password1", "Password123", "qwertyuiop1", "1234567890", "aaaaaaaaaaaa", "abcabcabcabc", "wenming2026"]
)
def test_common_and_trivial_passwords_are_refused(app: Any, staff: Staff, password: str) -> None:
    async def create() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            body = {"username": "li.na", "password": password, "role": "viewer"}
            return await c.post("/api/v1/users", json=body, headers=staff.headers("admin"))

    refused = asyncio.run(create())
    assert refused.status_code == 422 and "密码" in error_of(refused)["message"]


def test_a_reset_follows_the_same_policy(session: Session, staff: Staff) -> None:
    user = accounts.get_user_by_name(session, "viewer")
    assert user is not None
    with pytest.raises(accounts.AuthError, match="常见"):
        accounts.reset_password(session, "staff:admin", user.id, "Password2026!")
    accounts.reset_password(session, "staff:admin", user.id, "lantern-river-58")
