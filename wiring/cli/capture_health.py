"""What `wenming bot status` shows about capture: open alerts, gaps to back-fill, failed photos; `bot watch`."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.text import Text

from wenming.db import utcnow
from wiring.cli.common import UserError, actor, console, friendly_errors, reading, settings, unit_of_work
from wiring.cli.tables import FORMAT_OPTION, Column, Format, TableData, emit, render

GAP_DAYS = 7
watch_app = typer.Typer(
    help="各群的采集缺口告警：多久没有新消息算异常（默认按各群平时的最长间隔自动学习）", no_args_is_help=True
)


def print_health() -> None:
    """Alerts, recent gaps and failed photos as the health check of `wenming run` last left them (read only)."""
    from capture import repository as capture_repository
    from capture.gaps import describe_duration

    tz = settings().tz
    with reading() as session:
        alerts = capture_repository.current_alerts(session)
        gaps = capture_repository.recent_gaps(session, utcnow() - timedelta(days=GAP_DAYS))
        photos = capture_repository.media_failures(session, utcnow() - timedelta(days=GAP_DAYS))
    if alerts:
        table = TableData(
            "采集告警", [Column("类型"), Column("位置", wrap=True), Column("自"), Column("说明", wrap=True)]
        )
        for alert in alerts:
            table.add_row(alert.kind_zh, alert.where, f"{alert.gap_start.astimezone(tz):%m-%d %H:%M}", alert.detail)
        render(table, console)
    else:
        console.print("[green]没有未解决的采集告警[/green]（wenming run 每 5 分钟检查一次）")
    for gap in gaps:
        end = gap.gap_end or gap.closed_at or gap.gap_start
        span = describe_duration((end - gap.gap_start).total_seconds())
        console.print(
            f"[yellow]采集缺口[/yellow] {gap.where}：{gap.gap_start.astimezone(tz):%Y-%m-%d %H:%M} 至 "
            f"{end.astimezone(tz):%Y-%m-%d %H:%M}（{span}，{gap.kind_zh}）。补采："
        )
        for line in (gap.backfill or "").splitlines():
            console.print(Text(f"  {line}"), highlight=False, soft_wrap=True)
    for failure in photos:
        when = f"{failure.last_at.astimezone(tz):%m-%d %H:%M}" if failure.last_at else "-"
        console.print(
            f"[yellow]图片未能保存[/yellow] {failure.name}：近 {GAP_DAYS} 天 {failure.count} 张"
            f"（最近 {when}：{failure.last_reason}）；可用采集代理重新上传原图补采",
            soft_wrap=True,
        )


@watch_app.command("list")
@friendly_errors
def watch_list(fmt: Format = FORMAT_OPTION) -> None:
    """列出各群最近一次采集到消息的时间和告警阈值。"""
    from capture import service as capture_service
    from capture.gaps import describe_duration
    from ingest.models import Platform

    tz = settings().tz
    with reading() as session:
        rows = capture_service.group_health(session, settings())
    if not rows:
        console.print("尚未采集到任何群的消息")
        return
    table = TableData("采集缺口告警设置", [Column(h) for h in ("平台", "群", "最近采集", "无消息多久告警", "依据")])
    for row in rows:
        last = f"{row.last_message_at.astimezone(tz):%m-%d %H:%M}" if row.last_message_at else "-"
        if not row.watched:
            limit, basis = "不告警", "已关闭"
        elif row.threshold_seconds is None:
            limit, basis = "不告警", "消息太少，尚未学到规律"
        else:
            limit, basis = describe_duration(row.threshold_seconds), "自动学习" if row.learned else "本群设置"
        table.add_row(Platform.zh_of(row.platform), row.name, last, limit, basis)
    emit(table, fmt, console)


@watch_app.command("set")
@friendly_errors
def watch_set(
    platform: str = typer.Argument(..., help="qq 或 wechat"),
    group: str = typer.Argument(..., help="QQ 群号，或微信群名称"),
    hours: float = typer.Option(None, "--hours", help="超过这么多小时没有新消息就告警"),
    off: bool = typer.Option(False, "--off", help="此群不做缺口告警"),
    auto: bool = typer.Option(False, "--auto", help="恢复为自动学习"),
) -> None:
    """设置一个群多久没有新消息算异常（覆盖自动学习的值）。"""
    from capture import service as capture_service

    if sum([hours is not None, off, auto]) != 1:
        raise UserError("请在 --hours N、--off、--auto 中选一个")
    minutes = round(hours * 60) if hours is not None else None
    with unit_of_work() as session:
        capture_service.set_group_watch(session, platform, group, minutes=minutes, watched=not off, actor=actor())
    what = "不做缺口告警" if off else ("自动学习" if auto else f"超过 {hours:g} 小时没有新消息即告警")
    console.print(f"已设置 {platform} 群 {group}：{what}")
