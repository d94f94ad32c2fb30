"""Finding 3: an oversized body is refused while it arrives, before any signature, token or password work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn

from api.app import create_app
from tests.bot.fakes import RecordingSink
from tests.security.conftest import SECRET, TOKEN, onebot_app
from wenming.settings import Settings
from wiring.server import uvicorn_options

CHUNK = 64 * 1024


class Stream:
    """A body sent in chunks, counting how much of it the server pulled."""

    def __init__(self, total: int) -> None:
        self.total, self.sent = total, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += CHUNK
            yield b"a" * CHUNK


async def _post(app: Any, path: str, content: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wenming") as c:
        return await c.post(path, content=content, headers=headers or {})


def _closed(settings: Settings) -> Settings:
    return settings.model_copy(update={"onebot_access_token": TOKEN, "onebot_secret": SECRET})


def test_a_huge_unsigned_onebot_post_is_cut_off_at_the_limit(settings: Settings) -> None:
    limited = _closed(settings).model_copy(update={"onebot_max_body_bytes": 1 << 20})
    app, _ = onebot_app(limited, RecordingSink())
    body = Stream(400 << 20)  # 400 MB, unsigned, no Content-Length (chunked)
    response = asyncio.run(_post(app, "/onebot/v11/http", body))
    assert response.status_code == 413 and "过大" in response.json()["error"]["message"]
    assert body.sent <= (1 << 20) + 2 * CHUNK  # read no further than the limit


def test_a_declared_length_over_the_limit_is_refused_before_reading(settings: Settings) -> None:
    app, _ = onebot_app(_closed(settings), RecordingSink())
    body = Stream(300 << 20)
    headers = {"Content-Length": str(300 << 20)}
    response = asyncio.run(_post(app, "/onebot/v11/http", body, headers))
    assert response.status_code == 413 and body.sent <= CHUNK


def test_the_login_form_takes_a_small_body_only(settings: Settings) -> None:
    app = create_app(settings)
    body = Stream(300 << 20)
    response = asyncio.run(_post(app, "/api/v1/auth/login", body, {"Content-Type": "application/json"}))
    assert response.status_code == 413 and body.sent <= settings.login_max_body_bytes + 2 * CHUNK
    console = asyncio.run(_post(create_app(settings), "/login", b"username=" + b"a" * (64 << 10)))
    assert console.status_code == 413


def test_the_public_unit_pages_take_a_small_body_only(settings: Settings) -> None:
    body = Stream(10 << 20)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = asyncio.run(_post(create_app(settings), "/u/1/any-token/appeal", body, form))
    assert response.status_code == 413 and body.sent <= settings.login_max_body_bytes + 2 * CHUNK


def test_every_other_route_has_a_limit_too(settings: Settings) -> None:
    body = Stream(50 << 20)
    response = asyncio.run(_post(create_app(settings), "/api/v1/units", body, {"Content-Type": "application/json"}))
    assert response.status_code == 413 and body.sent <= settings.max_body_bytes + 2 * CHUNK


def test_a_normal_signed_event_still_goes_through(settings: Settings) -> None:
    from tests.bot import onebot_events as ev
    from tests.security.conftest import body_of, signed

    sink = RecordingSink()
    app, _ = onebot_app(_closed(settings), sink)
    body = body_of(ev.group_message_array())
    assert asyncio.run(_post(app, "/onebot/v11/http", body, signed(body))).status_code == 204
    assert len(sink.messages) == 1


def test_websocket_frames_are_capped_by_the_server(settings: Settings) -> None:
    config = uvicorn.Config(create_app(settings), **uvicorn_options(settings))
    assert config.ws_max_size == settings.onebot_max_body_bytes < 16 * 1024 * 1024
