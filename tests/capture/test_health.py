"""Capture health: a group's usual gap is learned, a longer silence opens an alert, resumed capture records the
gap window with the exact back-fill commands; adapters that drop, log out or freeze raise alerts too."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from capture import repository as capture_repository
from capture import service as capture_service
from capture.models import CaptureAlert, GroupWatch
from capture.schemas import AdapterHealth
from tests.capture.health_support import CST, QQ_GROUP, every, say
from wenming.audit import AuditEntry
from wenming.settings import Settings

START = datetime(2026, 11, 2, 8, 0, tzinfo=CST)
LAST = datetime(2026, 11, 6, 17, 0, tzinfo=CST)  # the last message before capture stops


@pytest.fixture
def busy_group(session: Session, settings: Settings) -> None:
    """Four and a half days of a message every 30 minutes, captured live."""
    every(session, settings, START, LAST, timedelta(minutes=30))


def test_silence_longer_than_usual_opens_an_alert_and_resuming_records_the_gap(
    session: Session, settings: Settings, busy_group: None
) -> None:
    quiet = capture_service.check_health(session, settings, [], now=LAST + timedelta(hours=1, minutes=59))
    assert quiet.opened == []  # usual gap 30 min × 1.25, floored at 2 h: not yet
    report = capture_service.check_health(session, settings, [], now=LAST + timedelta(hours=3))
    [alert] = report.opened
    assert alert.kind == "silent" and alert.where == "长兴县文明单位工作群" and alert.gap_start == LAST
    assert "已 3 小时 0 分 没有采集到新消息" in alert.detail and "平时最长间隔约 30 分钟" in alert.detail
    again = capture_service.check_health(session, settings, [], now=LAST + timedelta(hours=4))
    assert again.opened == [] and len(capture_repository.current_alerts(session)) == 1

    back = LAST + timedelta(hours=5, minutes=7)
    say(session, settings, back)
    report = capture_service.check_health(session, settings, [], now=back + timedelta(minutes=2))
    [closed] = report.closed
    assert (closed.gap_start, closed.gap_end) == (LAST, back)
    assert closed.backfill == (
        "wenming import 导出的聊天记录文件 --group-id 650433512 "
        "--since 2026-11-06T17:00+08:00 --until 2026-11-06T22:07+08:00\n"
        "python agents/wenming_agent.py push 导出目录 --since 2026-11-06T17:00+08:00 --until 2026-11-06T22:07+08:00"
    )
    assert capture_repository.current_alerts(session) == []
    assert [g.id for g in capture_repository.recent_gaps(session, LAST)] == [closed.id]


def test_back_filled_messages_do_not_count_as_capture_working(
    session: Session, settings: Settings, busy_group: None
) -> None:
    capture_service.check_health(session, settings, [], now=LAST + timedelta(hours=3))
    later = LAST + timedelta(days=1)
    say(session, settings, LAST + timedelta(hours=2), received=later)  # an import of the gap, a day later
    report = capture_service.check_health(session, settings, [], now=later)
    assert report.closed == [] and len(capture_repository.current_alerts(session)) == 1


def test_a_quiet_group_never_alerts_until_the_office_sets_a_gap(session: Session, settings: Settings) -> None:
    every(session, settings, START, START + timedelta(days=4), timedelta(hours=6))  # 17 messages: not regular
    late = START + timedelta(days=9)
    assert capture_service.check_health(session, settings, [], now=late).opened == []
    watch = capture_service.set_group_watch(session, "qq", QQ_GROUP, minutes=24 * 60, watched=True, actor="staff:li")
    assert watch.expected_gap_minutes == 1440
    [alert] = capture_service.check_health(session, settings, [], now=late).opened
    assert "按本群设置 1 天 0 小时" in alert.detail
    audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "capture_watch")).one()
    assert audit.actor == "staff:li" and audit.after == {"expected_gap_minutes": 1440, "watched": True}


def test_a_group_switched_off_is_not_watched(session: Session, settings: Settings, busy_group: None) -> None:
    capture_service.set_group_watch(
        session, "qq", "长兴县文明单位工作群", minutes=None, watched=False, actor="staff:li"
    )
    assert capture_service.check_health(session, settings, [], now=LAST + timedelta(days=2)).opened == []
    with pytest.raises(capture_service.CaptureError, match="没有找到"):
        capture_service.set_group_watch(session, "qq", "999", minutes=60, watched=True, actor="staff:li")


def test_a_known_outage_is_not_learned_as_the_usual_gap(session: Session, settings: Settings) -> None:
    every(session, settings, START, START + timedelta(days=2), timedelta(minutes=30))
    capture_service.check_health(session, settings, [], now=START + timedelta(days=2, hours=5))  # opens an alert
    resumed = START + timedelta(days=4)
    every(session, settings, resumed, resumed + timedelta(days=2), timedelta(minutes=30))
    now = resumed + timedelta(days=2, minutes=10)
    capture_service.check_health(session, settings, [], now=now)  # closes it
    watch = session.get(GroupWatch, session.scalars(select(CaptureAlert.group_id)).one())
    watch.learned_at = None  # relearn now, with the outage on record
    capture_service.check_health(session, settings, [], now=now)
    assert watch.usual_gap_seconds == 30 * 60  # the two-day outage is not "usual"


def _adapter(connected: bool, since: datetime, **extra: object) -> AdapterHealth:
    return AdapterHealth(name="onebot", platform="qq", connected=connected, changed_at=since, **extra)  # type: ignore[arg-type]


def test_adapter_down_beyond_grace_alerts_and_reconnect_gives_back_fill_for_its_groups(
    session: Session, settings: Settings, busy_group: None
) -> None:
    down = LAST + timedelta(minutes=1)
    early = capture_service.check_health(
        session, settings, [_adapter(False, down, detail="连接已断开或心跳超时")], now=down + timedelta(minutes=9)
    )
    assert early.opened == []  # within the 10-minute grace: a reconnect is normal
    [alert] = capture_service.check_health(
        session, settings, [_adapter(False, down, detail="连接已断开或心跳超时")], now=down + timedelta(minutes=11)
    ).opened
    assert alert.kind == "disconnected" and alert.where == "QQ（OneBot）" and alert.gap_start == down
    assert alert.detail == "QQ（OneBot）连接断开：连接已断开或心跳超时"
    up = down + timedelta(hours=1)
    [closed] = capture_service.check_health(
        session, settings, [_adapter(True, up)], now=up + timedelta(minutes=5)
    ).closed
    assert closed.gap_end == up
    assert "wenming import 导出的聊天记录文件 --group-id 650433512 --since 2026-11-06T17:01+08:00" in (
        closed.backfill or ""
    )


def test_logged_out_adapter_says_why(session: Session, settings: Settings) -> None:
    since = START
    wechat = AdapterHealth(
        name="wechat",
        platform="wechat",
        connected=False,
        changed_at=since,
        problem="1102",
        detail="微信网页版 1102：登录后被微信服务器立即断开",
    )
    [alert] = capture_service.check_health(session, settings, [wechat], now=since + timedelta(hours=1)).opened
    assert alert.kind == "logged_out" and alert.kind_zh == "账号掉线" and "1102" in alert.detail


def test_sends_failing_while_online_is_a_frozen_alert(session: Session, settings: Settings) -> None:
    frozen = _adapter(
        True, START, send_failures=2, last_send_error="QQ 群 650433512 发送失败：动作失败（retcode=1200）"
    )
    [alert] = capture_service.check_health(session, settings, [frozen], now=START + timedelta(hours=1)).opened
    assert alert.kind == "frozen" and "连续 2 次发送失败" in alert.detail and "retcode=1200" in alert.detail
    recovered = capture_service.check_health(session, settings, [_adapter(True, START)], now=START + timedelta(hours=2))
    assert [a.kind for a in recovered.closed] == ["frozen"]


def test_stale_adapter_rows_are_not_judged(session: Session, settings: Settings) -> None:
    gone = _adapter(False, START, stale=True)
    assert capture_service.check_health(session, settings, [gone], now=START + timedelta(days=1)).opened == []
