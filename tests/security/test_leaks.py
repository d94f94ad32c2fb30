"""Finding 12: tokens never reach a log, the API schema is for staff only, /readyz says ready or not."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import signal
import subprocess
import sys

import httpx
import pytest

from api.app import create_app
from tests.api.conftest import Staff
from tests.support import free_port, wait_until
from wenming.settings import Settings
from wiring.server import log_config


def test_a_running_server_never_logs_an_access_token(committed_factory: object, fresh_database_url: str) -> None:
    port = free_port()
    env = os.environ | {"WENMING_DATABASE_URL": fresh_database_url, "WENMING_API_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from wiring.cli.main import app; app()", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: _answers(port) or proc.poll() is not None, 60, "the server to listen")
        httpx.get(f"http://127.0.0.1:{port}/healthz?access_token=s3cr3t-TOK&page=1", timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert "/healthz?access_token=***&page=1" in output, output
    assert "s3cr3t-TOK" not in output


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_access_log_never_shows_an_access_token(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(log_config())
    access = logging.getLogger("uvicorn.access")
    access.info(
        '%s - "%s %s HTTP/%s" %d', "10.1.1.1:5000", "GET", "/onebot/v11/ws?access_token=s3cr3t-TOK&x=1", "1.1", 101
    )
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket %s" [accepted]', "10.1.1.1", "/onebot/v11/ws?access_token=s3cr3t-TOK"
    )
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "/onebot/v11/ws?access_token=***&x=1" in text
    assert "s3cr3t-TOK" not in text


async def _get(app: object, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:  # type: ignore[arg-type]
        return await c.get(path, headers=headers or {})


def test_the_api_schema_and_docs_need_a_login(app: object, staff: Staff) -> None:
    for path in ("/api/v1/openapi.json", "/api/v1/docs"):
        assert asyncio.run(_get(app, path)).status_code == 401
        assert asyncio.run(_get(app, path, staff.headers("viewer"))).status_code == 200


def test_an_office_can_publish_its_api_docs(settings: Settings) -> None:
    public = create_app(settings.model_copy(update={"public_api_docs": True}))
    schema = asyncio.run(_get(public, "/api/v1/openapi.json"))
    assert schema.status_code == 200 and "/api/v1/reports" in schema.json()["paths"]


def test_readyz_says_ready_and_nothing_else(app: object) -> None:
    ready = asyncio.run(_get(app, "/readyz"))
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}
    for secret in ("sqlite", "postgresql", "0011", "revision", "head"):
        assert secret not in ready.text
