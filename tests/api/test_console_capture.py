"""The console shows capture as `wenming bot status` does: the dashboard names the gap to back-fill with its
commands, and the 采集状态 page explains a web-WeChat logout in Chinese with what to do."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy.orm import Session

from bot.wechat.logouts import explain
from capture import service as capture_service
from capture.schemas import AdapterStatus
from tests.api.conftest import Staff
from tests.api.test_console import console_login
from tests.capture.health_support import CST, every, say
from wenming.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def resumed_gap(session: Session, settings: Settings) -> tuple[datetime, datetime]:
    """A group captured every 30 minutes for four days, silent for five hours, then captured again."""
    now = datetime.now(CST).replace(second=0, microsecond=0)
    last, back = now - timedelta(hours=6), now - timedelta(hours=1)
    every(session, settings, last - timedelta(days=4), last, timedelta(minutes=30))
    capture_service.check_health(session, settings, [], now=last + timedelta(hours=3))
    say(session, settings, back)
    capture_service.check_health(session, settings, [], now=back + timedelta(minutes=1))
    logout = explain("1102")
    assert logout is not None
    wechat = AdapterStatus(
        "wechat", "wechat", False, f"微信网页会话于 {now:%m-%d %H:%M} 断开：{logout.text()}", problem="1102"
    )
    capture_service.save_adapter_states(session, [wechat])
    session.commit()
    return last, back


async def test_dashboard_shows_the_gap_window_with_its_back_fill_commands(
    client: httpx.AsyncClient, staff: Staff, resumed_gap: tuple[datetime, datetime]
) -> None:
    last, back = resumed_gap
    await console_login(client, "viewer")
    page = html.unescape((await client.get("/")).text)
    window = f"--since {last.isoformat(timespec='minutes')} --until {back.isoformat(timespec='minutes')}"
    assert f"长兴县文明单位工作群</b>：{last:%Y-%m-%d %H:%M} 至 {back:%Y-%m-%d %H:%M}（5 小时 0 分" in page
    assert f"wenming import 导出的聊天记录文件 --group-id 650433512 {window}" in page
    assert f"python agents/wenming_agent.py push 导出目录 {window}" in page


async def test_capture_page_explains_a_wechat_logout_and_lists_groups(
    client: httpx.AsyncClient, staff: Staff, resumed_gap: tuple[datetime, datetime]
) -> None:
    await console_login(client, "viewer")
    response = await client.get("/capture")
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert "微信网页版 1102：登录后被微信服务器立即断开" in page and "不要反复扫码重试" in page
    assert "长兴县文明单位工作群" in page and "自动学习" in page
    assert "没有未解决的采集告警" in page
