"""A real API app on a committed database, and agents created with the real `wenming agents add`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.app import create_app
from tests.support import cli_settings
from wenming.settings import Settings

SERVER_KEY = "k9Jx2mQ7vR4tW8yB3nF6hL1pZ5cD0sA"


@dataclass
class Agent:
    name: str
    secret: str

    def headers(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        """What the agent sends: HMAC-SHA256 over "<timestamp>\\n<body>", computed here independently."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        digest = hmac.new((secret or self.secret).encode(), stamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
        return {
            "X-Wenming-Agent": self.name,
            "X-Wenming-Timestamp": stamp,
            "X-Wenming-Signature": f"sha256={digest}",
            "Content-Type": "application/json",
        }


def batch_body(messages: list[dict[str, Any]], photos: dict[str, bytes] | None = None) -> bytes:
    encoded = {hashlib.sha256(p).hexdigest(): base64.b64encode(p).decode() for p in (photos or {}).values()}
    return json.dumps({"messages": messages, "photos": encoded}, ensure_ascii=False).encode()


@pytest.fixture
def capture_settings(settings: Settings, fresh_database_url: str) -> Settings:
    return settings.model_copy(update={"database_url": fresh_database_url, "capture_secret_key": SecretStr(SERVER_KEY)})


@pytest.fixture
def cli(
    committed_factory: sessionmaker[Session], capture_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    env = {
        "database_url": capture_settings.database_url,
        "data_dir": capture_settings.data_dir,
        "media_dir": capture_settings.media_dir,
        "capture_secret_key": SERVER_KEY,
    }
    with cli_settings(monkeypatch, **env):
        yield CliRunner()


@pytest.fixture
def add_agent(cli: CliRunner) -> Any:
    def add(name: str = "office-pc1") -> Agent:
        from wiring.cli.main import app

        result = cli.invoke(app, ["agents", "add", name], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        secret = next(line.strip() for line in result.output.splitlines() if line.strip().startswith("wmag_"))
        return Agent(name, secret)

    return add


@pytest.fixture
def client(committed_factory: sessionmaker[Session], capture_settings: Settings) -> Iterator[TestClient]:
    app = create_app(capture_settings)
    with TestClient(app) as test_client:
        yield test_client
