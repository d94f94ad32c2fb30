"""Capture health in the running service: live OneBot traffic stops, the scheduled check opens an alert and tells
the staff group on another channel (a WeCom robot), capture resumes, and `wenming bot status` shows the gap window
with its back-fill commands."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import health
from bot.base import AdapterStatus
from bot.onebot.adapter import OneBotAdapter
from bot.posts import jobs, scheduler
from bot.posts.policy import set_policy
from bot.sink import IngestSink
from bot.webhooks.setup import build_channels
from capture.models import CaptureAlert
from capture.service import save_adapter_states as save_statuses
from tests.bot.onebot_events import SELF_ID, group_message_array
from tests.bot.test_posts import RecordingAdapter
from tests.bot.test_webhooks import WECOM_URL, Recorder
from tests.capture.health_support import CST, every
from wenming.db import create_db_engine, transaction
from wenming.settings import PostWebhook, Settings

GROUP = "650433512"


@pytest.fixture
def robot_settings(live_settings: Settings) -> Settings:
    return live_settings.model_copy(
        update={"post_webhooks": {"县文明办工作群": PostWebhook(kind="wecom", url=WECOM_URL)}}
    )


@pytest.fixture
def staff_runtime(
    committed_factory: sessionmaker[Session], robot_settings: Settings
) -> tuple[jobs.PostRuntime, Recorder]:
    recorder = Recorder()
    channels = build_channels(robot_settings, httpx.AsyncClient(transport=httpx.MockTransport(recorder)))
    with transaction(committed_factory) as session:
        set_policy(session, "qq", "staff-qq", "staff_only")
        set_policy(session, "wecom", "县文明办工作群", "staff_only", robots={"县文明办工作群": "wecom"})
    runtime = jobs.PostRuntime(committed_factory, robot_settings, adapters={"qq": RecordingAdapter(), **channels})
    return runtime, recorder


def _event(message_id: int, at: datetime, text: str) -> dict[str, Any]:
    return group_message_array(
        message_id, time=int(at.timestamp()), group_id=int(GROUP), message=[{"type": "text", "data": {"text": text}}]
    )


def test_stopped_traffic_raises_an_alert_tells_staff_elsewhere_and_the_gap_shows_in_bot_status(
    staff_runtime: tuple[jobs.PostRuntime, Recorder],
    committed_factory: sessionmaker[Session],
    robot_settings: Settings,
    cli_env: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime, recorder = staff_runtime
    now = datetime.now(CST).replace(second=0, microsecond=0)
    adapter = OneBotAdapter(robot_settings, IngestSink(committed_factory, robot_settings), httpx.AsyncClient())
    last = now - timedelta(minutes=2)
    asyncio.run(adapter.handle_event(_event(9001, last, "县人民医院开展义诊志愿服务活动"), self_id_hint=SELF_ID))
    with transaction(committed_factory) as session:  # four days of that group captured live, every 30 minutes
        every(session, robot_settings, now - timedelta(days=4), now - timedelta(hours=1), timedelta(minutes=30))

    asyncio.run(health.run_check(runtime, now=last + timedelta(hours=1)))
    assert recorder.requests == []  # an hour of quiet is within the usual
    report = asyncio.run(health.run_check(runtime, now=last + timedelta(hours=3)))
    assert [(a.kind, a.where, a.gap_start) for a in report.opened] == [("silent", "长兴县文明单位工作群", last)]
    [told] = recorder.bodies()
    assert (
        told["msgtype"] == "markdown"
        and "【采集告警】群内长时间无消息·长兴县文明单位工作群" in told["markdown"]["content"]
    )
    assert runtime.adapters["qq"].sent == []  # never on the platform that is in trouble

    back = last + timedelta(hours=4)
    asyncio.run(adapter.handle_event(_event(9002, back, "教育局组织党员志愿者走进社区"), self_id_hint=SELF_ID))
    report = asyncio.run(health.run_check(runtime, now=back + timedelta(minutes=1)))
    [closed] = report.closed
    assert (closed.gap_start, closed.gap_end) == (last, back)
    resolved = recorder.bodies()[-1]["markdown"]["content"]
    assert "【采集恢复】长兴县文明单位工作群已恢复采集" in resolved and "--group-id 650433512" in resolved

    from typer.testing import CliRunner

    from wiring.cli.main import app

    with transaction(committed_factory) as session:
        save_statuses(session, [AdapterStatus("onebot", "qq", True, "已连接：10001000", [str(SELF_ID)])])
    out = CliRunner().invoke(app, ["bot", "status"], env={"COLUMNS": "240"})
    assert out.exit_code == 0, out.output
    assert "采集缺口 长兴县文明单位工作群" in out.output
    window = f"--since {last.isoformat(timespec='minutes')} --until {back.isoformat(timespec='minutes')}"
    assert f"wenming import 导出的聊天记录文件 --group-id 650433512 {window}" in out.output
    assert f"python agents/wenming_agent.py push 导出目录 {window}" in out.output


def test_without_another_working_channel_the_alert_stays_on_the_dashboard(
    committed_factory: sessionmaker[Session], live_settings: Settings
) -> None:
    with transaction(committed_factory) as session:
        set_policy(session, "qq", "staff-qq", "staff_only")
        session.add(
            CaptureAlert(
                kind="disconnected",
                subject="adapter:onebot",
                platform="qq",
                adapter="onebot",
                gap_start=datetime(2026, 11, 6, 9, 0, tzinfo=CST),
                detail="QQ（OneBot）连接断开",
            )
        )
    runtime = jobs.PostRuntime(committed_factory, live_settings, adapters={"qq": RecordingAdapter()})
    assert asyncio.run(health.notify(runtime)) == 0
    with committed_factory() as session:
        alert = session.scalars(select(CaptureAlert)).one()
    assert alert.notified_at is None and alert.notify_error == health.NO_CHANNEL
    assert asyncio.run(health.notify(runtime)) == 0 and runtime.adapters["qq"].sent == []  # not retried in a loop


def test_scheduler_runs_the_health_check_every_interval(
    committed_factory: Any, fresh_database_url: str, live_settings: Settings
) -> None:
    from tests.bot.test_posts import ManualScheduler

    engine = create_db_engine(fresh_database_url)
    sched = scheduler.build_scheduler(live_settings, engine, scheduler_cls=ManualScheduler)
    scheduler.start(sched, live_settings)
    job = sched.get_job(health.JOB_ID)
    assert job is not None and job.name == "采集健康检查" and job.trigger.interval == timedelta(seconds=300)
    sched.shutdown(wait=False)
    again = scheduler.build_scheduler(live_settings, engine, scheduler_cls=ManualScheduler)
    scheduler.start(again, live_settings)  # a restart keeps the stored job rather than adding another
    assert [j.id for j in again.get_jobs()].count(health.JOB_ID) == 1
    again.shutdown(wait=False)
    engine.dispose()
    assert json.dumps(health.JOB_FUNC)
