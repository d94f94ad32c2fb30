"""Capture overhead of the bot edge: OneBot events and a history import against direct ingest, same run.

.venv/bin/python bench/bench_bot_capture.py [N]     # SQLite in a temp dir; WENMING_DATABASE_URL for PostgreSQL
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from benchlib import reset_database

from bot.history.importer import import_history
from bot.history.wechat_exports import WECHATMSG_COLUMNS
from bot.onebot.adapter import OneBotAdapter
from bot.sink import IngestSink
from ingest import service as ingest_service
from ingest.models import MessageKind, Platform
from ingest.schemas import IncomingMessage
from wenming import schema
from wenming.db import create_db_engine, make_session_factory, transaction
from wenming.settings import Settings

START = datetime(2026, 10, 1, tzinfo=UTC)


def _text(i: int) -> str:
    return f"第{i}条：县人民医院在城东社区开展义诊志愿服务，服务群众{i % 200}人次。"


def _fresh(tmp: Path, name: str) -> tuple[Settings, IngestSink]:
    url = os.environ.get("WENMING_DATABASE_URL") or f"sqlite:///{tmp / name}.db"
    reset_database(url)
    schema.upgrade(url)
    settings = Settings(database_url=url, data_dir=tmp / name, media_dir=tmp / name / "media", _env_file=None)  # type: ignore[call-arg]
    return settings, IngestSink(make_session_factory(create_db_engine(url)), settings)


def direct(sink: IngestSink, n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        message = IncomingMessage(
            platform=Platform.QQ,
            group_id="1",
            sender_id=str(1000 + i % 20),
            sender_name=f"单位{i % 20}",
            message_id=f"1:{i}",
            sent_at=START + timedelta(minutes=i),
            kind=MessageKind.TEXT,
            text=_text(i),
        )
        with transaction(sink.factory) as session:
            ingest_service.receive(session, sink.settings, message)
    return time.perf_counter() - t


def onebot(sink: IngestSink, n: int) -> float:
    adapter = OneBotAdapter(sink.settings, sink, httpx.AsyncClient())
    events = [
        {
            "time": int((START + timedelta(minutes=i)).timestamp()),
            "self_id": 1,
            "post_type": "message",
            "message_type": "group",
            "sub_type": "normal",
            "message_id": i,
            "group_id": 1,
            "user_id": 1000 + i % 20,
            "message": f"{_text(i)}&#91;通知&#93;",
            "raw_message": "",
            "font": 0,
            "sender": {"user_id": 1000 + i % 20, "card": f"单位{i % 20}", "nickname": "x"},
        }
        for i in range(n)
    ]

    async def go() -> float:
        t = time.perf_counter()
        for event in events:
            await adapter.handle_event(event)
        return time.perf_counter() - t

    return asyncio.run(go())


def history(sink: IngestSink, n: int, tmp: Path) -> float:
    path = tmp / "export.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(WECHATMSG_COLUMNS)
        for i in range(n):
            stamp = int((START + timedelta(minutes=i)).timestamp())
            writer.writerow([i, "1@chatroom", 1, 0, 0, stamp, 2, _text(i), "", "", f"单位{i % 20}", f"wxid_{i % 20}"])
    t = time.perf_counter()
    import_history(sink.factory, sink.settings, path, group_name="测试群")
    return time.perf_counter() - t


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base = direct(_fresh(tmp, "direct")[1], n)
        ob = onebot(_fresh(tmp, "onebot")[1], n)
        imp = history(_fresh(tmp, "history")[1], n, tmp)
    print(f"messages: {n}")
    print(f"direct ingest (commit per message): {n / base:8.0f} msg/s  (baseline 1.00)")
    print(f"OneBot string events via adapter:  {n / ob:8.0f} msg/s  ratio {ob / base:.2f}")
    print(f"WeChatMsg CSV import (incl. assembly): {n / imp:5.0f} msg/s  ratio {imp / base:.2f}")


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
