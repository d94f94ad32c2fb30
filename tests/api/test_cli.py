"""``wenming users add`` / ``users token`` / ``users list`` and ``wenming serve``'s refusal of an old schema."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from accounts.models import ApiToken
from api.app import create_app
from tests.support import cli_settings
from wenming import schema
from wenming.settings import Settings
from wiring.cli.main import app as cli


@pytest.fixture
def cli_db(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with cli_settings(monkeypatch, database_url=fresh_database_url):
        yield fresh_database_url


def test_users_add_and_token_work_against_the_api(cli_db: str, settings: Settings) -> None:
    schema.upgrade(cli_db)
    runner = CliRunner()
    added = runner.invoke(
        cli, ["users", "add", "liming", "--role", "reviewer", "--name", "李明", "--password", "wm-pass-2026"]
    )
    assert added.exit_code == 0, added.output
    assert "已添加用户 liming（审核员）" in added.output
    issued = runner.invoke(cli, ["users", "token", "liming", "--name", "报表脚本", "--days", "30"])
    assert issued.exit_code == 0, issued.output
    token = re.search(r"wm_[A-Za-z0-9_\-]+", issued.output)
    assert token, issued.output
    listed = runner.invoke(cli, ["users", "list"])
    assert "liming" in listed.output and "审核员" in listed.output

    app = create_app(settings.model_copy(update={"database_url": cli_db}))
    transport = httpx.ASGITransport(app=app)

    async def me() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token.group(0)}"})

    import anyio

    response = anyio.run(me)
    assert response.status_code == 200 and response.json()["display_name"] == "李明"
    listed = runner.invoke(cli, ["users", "list"])
    assert "李明" in listed.output
    with app.state.session_factory() as session:
        used = session.scalar(select(ApiToken.last_used_at))
    assert used is not None  # the real request transaction (not the test override) noted the token's use
    app.state.engine.dispose()


def test_users_add_refuses_weak_passwords_and_duplicates(cli_db: str) -> None:
    schema.upgrade(cli_db)
    runner = CliRunner()
    weak = runner.invoke(cli, ["users", "add", "wang", "--password", "1234567890"])
    assert weak.exit_code == 1 and "过于简单" in weak.output
    runner.invoke(cli, ["users", "add", "wang", "--password", "good-pass-1"])
    again = runner.invoke(cli, ["users", "add", "wang", "--password", "good-pass-1"])
    assert again.exit_code == 1 and "已存在" in again.output
    unknown_role = runner.invoke(cli, ["users", "add", "zhao", "--role", "boss", "--password", "good-pass-1"])
    assert unknown_role.exit_code == 1 and "未知角色" in unknown_role.output
    missing = runner.invoke(cli, ["users", "token", "nobody"])
    assert missing.exit_code == 1 and "不存在" in missing.output


def test_serve_refuses_an_unmigrated_database(cli_db: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--port", "8765"])
    assert result.exit_code == 1 and "wenming db upgrade" in result.output
