"""Capture health in `wenming run`: a scheduled check of adapters and groups, and alerts to staff on another channel."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from bot.base import Adapter, SendError
from bot.posts import jobs
from bot.posts.policy import targets
from capture import gaps
from capture import repository as capture_repository
from capture import service as capture_service
from capture.schemas import AlertView, HealthReport
from wenming.db import transaction
from wenming.settings import Settings

log = logging.getLogger(__name__)

JOB_ID = "capture_health"
JOB_FUNC = "bot.health:scheduled_check"  # a text reference: the job store pickles it, not a closure
NO_CHANNEL = (
    "没有其他可用渠道通知工作人员（请设置仅工作人员策略的群或机器人）；告警只在控制台和 wenming bot status 显示"
)


def check(factory: Any, settings: Settings, now: datetime | None = None) -> HealthReport:
    """One health check in its own transaction."""
    with transaction(factory) as session:
        states = capture_repository.adapter_states(session, now)
        return capture_service.check_health(session, settings, states, now)


def alert_text(alert: AlertView, settings: Settings) -> str:
    """One alert as staff read it in a group (Chinese)."""
    tz = settings.tz
    if alert.closed_at is None:
        since = f"{alert.gap_start.astimezone(tz):%m-%d %H:%M}"
        return f"【采集告警】{alert.kind_zh}·{alert.where}：{alert.detail}（自 {since} 起）"
    end = alert.gap_end or alert.closed_at
    span = gaps.describe_duration((end - alert.gap_start).total_seconds())
    window = f"{alert.gap_start.astimezone(tz):%m-%d %H:%M} 至 {end.astimezone(tz):%m-%d %H:%M}（{span}）"
    return f"【采集恢复】{alert.where}已恢复采集，缺口 {window}。补采命令：\n{alert.backfill or '无'}"


def _working(target: Any, settings: Settings) -> bool:
    """Robots always are; a chat adapter when connected and not failing its sends."""
    if not isinstance(target, Adapter):
        return True
    status = target.status()
    return status.connected and status.send_failures < settings.capture_frozen_send_failures


async def notify(runtime: jobs.PostRuntime) -> int:
    """Tell staff groups about new and resolved alerts, on channels other than the platform in trouble."""

    def load() -> tuple[list[AlertView], list[AlertView], list[Any]]:
        with transaction(runtime.factory) as session:
            opened, resolved = capture_repository.pending_notifications(session)
            return opened, resolved, [(t.platform, t.group_id) for t in targets(session, staff_only=True)]

    opened, resolved, staff = await asyncio.to_thread(load)
    sent = 0
    for alerts, is_resolved in ((opened, False), (resolved, True)):
        for platform in sorted({a.platform for a in alerts}):
            batch = [a for a in alerts if a.platform == platform]
            error = await _tell(runtime, batch, platform, staff)
            sent += error is None
            await asyncio.to_thread(_mark, runtime, [a.id for a in batch], is_resolved, error)
    return sent


async def _tell(runtime: jobs.PostRuntime, alerts: list[AlertView], platform: str, staff: list[Any]) -> str | None:
    text = "\n\n".join(alert_text(a, runtime.settings) for a in alerts)
    errors = []
    for target_platform, group_id in staff:
        channel = runtime.adapters.get(target_platform)
        if target_platform == platform or channel is None or not _working(channel, runtime.settings):
            continue
        try:
            await channel.send_text(group_id, text)
            return None
        except SendError as exc:
            errors.append(str(exc))
            log.warning("采集告警未能发到 %s %s：%s", target_platform, group_id, exc)
    return "；".join(errors) or NO_CHANNEL


def _mark(runtime: jobs.PostRuntime, ids: list[int], resolved: bool, error: str | None) -> None:
    with transaction(runtime.factory) as session:
        capture_service.mark_notified(session, ids, resolved=resolved, error=error)


async def run_check(runtime: jobs.PostRuntime, now: datetime | None = None) -> HealthReport:
    report = await asyncio.to_thread(check, runtime.factory, runtime.settings, now)
    for alert in report.opened:
        log.error("【采集告警】%s：%s", alert.where, alert.detail)
    await notify(runtime)
    return report


def scheduled_check() -> HealthReport:
    """APScheduler job: run on the server's loop, where the adapters live."""
    return jobs.on_server_loop(run_check, "采集健康检查")
