"""The simulator against the real reverse WebSocket endpoint on a real server, into real ingest."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from bot.onebot.adapter import OneBotAdapter
from bot.onebot.router import create_router
from bot.simulator import DEFAULT_SELF_ID, OneBotSimulator, builtin_traffic
from bot.sink import IngestSink
from ingest.models import ChatGroup, RawMessage, RawStatus
from tests.support import free_port
from wenming.settings import Settings


@pytest.fixture
def served(sink: IngestSink, live_settings: Settings) -> Iterator[tuple[str, OneBotAdapter, dict[str, Any]]]:
    settings = live_settings.model_copy(update={"onebot_access_token": "demo-token"})
    adapter = OneBotAdapter(settings, sink, httpx.AsyncClient())
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder["loop"] = asyncio.get_running_loop()
        yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(create_router(adapter))

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"ws://127.0.0.1:{port}/onebot/v11/ws", adapter, holder
    server.should_exit = True
    thread.join(5)


def test_simulator_replays_traffic_into_ingest_and_receives_a_post(
    served: tuple[str, OneBotAdapter, dict[str, Any]], sink: IngestSink
) -> None:
    url, adapter, holder = served
    traffic = builtin_traffic(DEFAULT_SELF_ID)
    sim = OneBotSimulator(url, traffic, access_token="demo-token", interval=0.0, heartbeat_ms=1000)

    async def scenario() -> None:
        stop = asyncio.Event()
        run = asyncio.create_task(sim.run(stop=stop))
        deadline = time.monotonic() + 15
        while _stored(sink) < len(traffic.events):
            assert time.monotonic() < deadline, "messages not stored in time"
            await asyncio.sleep(0.05)
        assert adapter.status().connected
        future = asyncio.run_coroutine_threadsafe(
            adapter.send_text("650433512", "【测试】十月活跃度排行"), holder["loop"]
        )
        assert await asyncio.wrap_future(future) == "900000"
        stop.set()
        await run

    asyncio.run(scenario())
    with sink.factory() as session:
        raws = list(session.scalars(select(RawMessage)))
        [group] = session.scalars(select(ChatGroup))
    assert group.name == "长兴县文明单位管理群"  # learned through get_group_list
    images = [r for r in raws if r.kind == "image"]
    assert len(images) == 6 and all(r.media_id for r in images)  # fetched via get_image (base64)
    assert all(r.status == RawStatus.RECEIVED.value for r in raws)
    assert sim.sent[0]["message"] == [{"type": "text", "data": {"text": "【测试】十月活跃度排行"}}]
    deadline = time.monotonic() + 5
    while adapter.status().connected:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_simulator_with_wrong_token_is_refused(served: tuple[str, OneBotAdapter, dict[str, Any]]) -> None:
    import websockets

    url, _, _ = served
    sim = OneBotSimulator(url, builtin_traffic(DEFAULT_SELF_ID), access_token="wrong", interval=0.0)
    with pytest.raises(websockets.exceptions.WebSocketException):
        asyncio.run(sim.run(linger=0))


def _stored(sink: IngestSink) -> int:
    with sink.factory() as session:
        return len(list(session.scalars(select(RawMessage.id))))


def test_bot_simulate_command_replays_a_traffic_file(
    served: tuple[str, OneBotAdapter, dict[str, Any]], sink: IngestSink, tmp_path: Any, monkeypatch: Any
) -> None:
    import json

    from typer.testing import CliRunner

    from tests.bot import onebot_events as ev
    from wenming.settings import get_settings
    from wiring.cli.main import app

    url, _, _ = served
    path = tmp_path / "traffic.jsonl"
    records = [
        ev.group_message_array(message_id=1, time=int(time.time())),
        {
            "platform": "qq",
            "group_id": "650433512",
            "group_name": "长兴县文明单位管理群",
            "sender_id": "869088082",
            "sender_name": "长兴中学 徐娜芬",
            "message_id": "1836475",
            "sent_at": "2026-08-01T15:00:00+08:00",
            "kind": "text",
            "text": "我校开展垃圾分类宣传活动",
        },
        {"platform": "wechat", "group_id": "x@chatroom", "sender_id": "wxid_1", "message_id": "1", "kind": "text"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    monkeypatch.setenv("WENMING_ONEBOT_ACCESS_TOKEN", "demo-token")
    get_settings.cache_clear()
    try:
        args = ["bot", "simulate", "--url", url, "--traffic", str(path), "--interval", "0", "--linger", "0.5"]
        result = CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "回放完成：2 条事件" in result.output and "长兴中学 徐娜芬：我校开展垃圾分类宣传活动" in result.output
    deadline = time.monotonic() + 5
    while _stored(sink) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_bot_status_command_shows_saved_states(cli_env: Any) -> None:
    from typer.testing import CliRunner

    from bot.base import AdapterStatus
    from capture.service import save_adapter_states as save_statuses
    from wenming.db import transaction
    from wiring.cli.main import app

    with transaction(cli_env) as session:
        save_statuses(
            session,
            [
                AdapterStatus("onebot", "qq", True, "已连接：2854196310", ["2854196310"]),
                AdapterStatus("wechat", "wechat", False, "等待扫码登录"),
            ],
        )
    from bot.spool import Spool
    from wenming.settings import get_settings

    Spool(get_settings().data_dir / "spool").append({"kind": "message", "message": {}})
    result = CliRunner().invoke(app, ["bot", "status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "已连接" in result.output and "未连接" in result.output and "等待扫码登录" in result.output
    assert "暂存区有 1 条消息等待写入数据库" in result.output


def test_bot_simulate_with_wrong_token_says_why(
    served: tuple[str, OneBotAdapter, dict[str, Any]], monkeypatch: Any
) -> None:
    from typer.testing import CliRunner

    from wenming.settings import get_settings
    from wiring.cli.main import app

    url, _, _ = served
    monkeypatch.setenv("WENMING_ONEBOT_ACCESS_TOKEN", "not-the-token")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["bot", "simulate", "--url", url, "--interval", "0", "--linger", "0"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "连接被拒绝" in result.output and "WENMING_ONEBOT_ACCESS_TOKEN" in result.output
