"""Fixtures for the attacker's-eye tests: real ingest on a committed database, OneBot endpoints in a real app."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from bot.onebot.adapter import OneBotAdapter
from tests.api.conftest import anyio_backend, app, client, data, staff  # noqa: F401  (the real staff app, users, data)
from tests.bot.fakes import png_bytes
from tests.support import cli_settings
from wenming.settings import Settings

TOKEN = "sec-token"
SECRET = "sec-secret"
PUBLIC = "93.184.215.14"


async def public_resolver(host: str) -> list[str]:
    """Every host is on the public internet (the transport is a MockTransport anyway)."""
    return [PUBLIC]


@pytest.fixture
def cli_env(
    committed_factory: sessionmaker[Session], fresh_database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    """`wenming` commands in-process against the fresh database; yields a factory to inspect it."""
    env = {"database_url": fresh_database_url, "data_dir": tmp_path / "cli-data", "media_dir": tmp_path / "cli-media"}
    with cli_settings(monkeypatch, **env):
        yield committed_factory


def onebot_app(
    settings: Settings,
    sink: Any,
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
    **adapter_options: Any,
) -> tuple[FastAPI, OneBotAdapter]:
    """The real staff app with the OneBot endpoints mounted, as `wenming run` builds it."""
    from api.app import create_app

    http = httpx.AsyncClient(
        transport=httpx.MockTransport(handler or (lambda r: httpx.Response(200, content=png_bytes())))
    )
    adapter = OneBotAdapter(settings, sink, http, **adapter_options)
    return create_app(settings, extra_routers=adapter.routers()), adapter


def signed(body: bytes, secret: str = SECRET, token: str | None = TOKEN) -> dict[str, str]:
    """Headers of a genuine OneBot HTTP POST: the body's HMAC, and the access token."""
    headers = {
        "X-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "Content-Type": "application/json",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def body_of(event: Any) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()
