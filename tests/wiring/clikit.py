"""Running the ``wenming`` command in-process against a fresh database, as a user would."""

from __future__ import annotations

import io
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner, Result

from tests.support import cli_settings
from wiring.cli import common
from wiring.cli.main import app

UNITS_CSV = (
    "name,aliases,honour_level,category,headcount\n"
    "长兴县市场监督管理局,县市场监管局、市场监管局,省,机关,210\n"
    "长兴县人民医院,县人民医院;县医院,全国,医院,1500\n"
    "长兴县应急管理局,县应急局,县,机关,50\n"
)


class Cli:
    """Invoke commands with a wide terminal so tables are not truncated."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        common.console.width = 200
        common.err_console.width = 200
        return self.runner.invoke(app, list(args), catch_exceptions=False)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result.output


@pytest.fixture(scope="session")
def cli_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory for all CLI tests, so the classifier's seed model is built once per run."""
    return tmp_path_factory.mktemp("cli-data")


@pytest.fixture
def cli(fresh_database_url: str, cli_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI pointed at an empty database and a private media directory."""
    monkeypatch.chdir(tmp_path)
    with cli_settings(
        monkeypatch, database_url=fresh_database_url, media_dir=tmp_path / "media", data_dir=cli_data_dir
    ):
        yield Cli(tmp_path)


def jpeg(seed: int) -> bytes:
    """A small, distinct real JPEG."""
    rng = random.Random(seed)
    image = Image.new("RGB", (160, 120), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(10):
        x, y = rng.randrange(160), rng.randrange(120)
        draw.rectangle(
            (x, y, x + rng.randrange(10, 80), y + rng.randrange(10, 60)),
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def line(message_id: str, at: str, sender: str, name: str, kind: str = "text", **fields: Any) -> dict[str, Any]:
    """One normalized message in the JSONL format of docs/formats.md."""
    return {
        "platform": "wechat",
        "group_id": "24190383215@chatroom",
        "group_name": "长兴县各级文明单位工作群",
        "sender_id": sender,
        "sender_name": name,
        "message_id": message_id,
        "sent_at": f"2026-09-{at}+08:00",
        "kind": kind,
        **fields,
    }


def write_jsonl(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


def summary_value(output: str, label: str) -> int:
    """The number on the summary-table row that starts with ``label``."""
    for row in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", row) if c.strip()]
        if cells and cells[0].startswith(label):
            return int(cells[-1].replace(",", ""))
    raise AssertionError(f"no row {label!r} in:\n{output}")
