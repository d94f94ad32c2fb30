"""Pure rules of capture health: a group's usual longest silence, the alert threshold, back-fill commands."""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from wenming.settings import Settings

AGENT_SCRIPT = "python agents/wenming_agent.py"


def usual_gap(
    times: Sequence[datetime], settings: Settings, outages: Sequence[tuple[datetime, datetime]] = ()
) -> int | None:
    """The longest silence (seconds) between messages in the learning window, or None if the group is not
    regularly active (too few messages, or messages on fewer than three days). Silences that contain a known
    capture outage are not "usual" and are left out."""
    if len(times) < settings.capture_gap_min_messages:
        return None
    days = {t.astimezone(settings.tz).date() for t in times}
    if len(days) < 3:
        return None
    ordered = sorted(times)
    longest = 0.0
    for before, after in itertools.pairwise(ordered):
        if any(before <= start < after for start, _ in outages):
            continue
        longest = max(longest, (after - before).total_seconds())
    return int(longest) if longest > 0 else None


def threshold(learned: int | None, expected_minutes: int | None, settings: Settings) -> int | None:
    """Seconds of silence that raise an alert: the office's setting, else the learned gap × margin (floored)."""
    if expected_minutes is not None:
        return expected_minutes * 60
    if learned is None:
        return None
    return max(int(learned * settings.capture_gap_margin), settings.capture_gap_min_minutes * 60)


def is_live(sent_at: datetime | None, received_at: datetime | None, settings: Settings) -> bool:
    """Captured as it happened (a back-fill import of old messages says nothing about capture working now)."""
    if sent_at is None or received_at is None:
        return False
    return received_at - sent_at <= timedelta(minutes=settings.capture_live_lag_minutes)


def _stamp(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="minutes")


def backfill_commands(platform: str, group_key: str, start: datetime, end: datetime, tz: ZoneInfo) -> list[str]:
    """The commands that fill one group's window: import an export, or push it with the capture agent."""
    where = f"--group-id {shlex.quote(group_key)}" if platform == "qq" else f"--group {shlex.quote(group_key)}"
    window = f"--since {_stamp(start, tz)} --until {_stamp(end, tz)}"
    return [
        f"wenming import 导出的聊天记录文件 {where} {window}",
        f"{AGENT_SCRIPT} push 导出目录 {window}",
    ]


def describe_duration(seconds: float) -> str:
    """``3 小时 20 分``, ``2 天 4 小时``: how long a silence or a gap lasted, in Chinese."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时"
    if hours:
        return f"{hours} 小时 {mins} 分"
    return f"{mins} 分钟"
