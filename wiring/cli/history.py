"""``wenming import FILE``: bring an exported chat history into the database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.history.importer import FORMAT_NAMES, PARSERS, import_history
from bot.history.records import HistoryFormatError
from wiring.cli.common import UserError, console, friendly_errors, session_factory, settings


@friendly_errors
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="导出的聊天记录文件"),
    format: str | None = typer.Option(None, "--format", "-f", help="格式（默认自动识别）：" + "、".join(PARSERS)),
    group: str | None = typer.Option(None, "--group", "-g", help="群名称（文件里没有时默认用文件名）"),
    group_id: str | None = typer.Option(None, "--group-id", help="QQ 群号（不填则按群名匹配机器人已采集的群）"),
    classify_later: bool = typer.Option(
        False, "--classify-later", help="先入库，分类交给后台任务（大批历史数据时更快；需运行 wenming worker）"
    ),
    since: str | None = typer.Option(None, "--since", help="只导入此时刻及之后的消息，如 2026-11-03T09:12+08:00"),
    until: str | None = typer.Option(None, "--until", help="只导入此时刻及之前的消息（补采缺口时用）"),
) -> None:
    """导入微信/QQ 聊天记录（WeChatMsg、PyWxDump、QQ 电脑版 TXT、qq-chat-exporter JSON）。"""
    window = {"since": _moment(since, "--since"), "until": _moment(until, "--until")}
    with Progress(
        TextColumn("[bold]导入中"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        task = progress.add_task("import", total=None)
        try:
            summary = import_history(
                session_factory(),
                settings(),
                file,
                fmt=format,
                group_name=group,
                group_id=group_id,
                progress=lambda n: progress.advance(task, n),
                on_total=lambda n: progress.update(task, total=n),
                classify_later=classify_later,
                **window,
            )
        except HistoryFormatError as exc:
            raise UserError(f"{file.name}：{exc}") from None
    table = Table(title=f"导入完成：{file.name}", show_header=False)
    table.add_row("格式", FORMAT_NAMES[summary.format])
    table.add_row("群", summary.group_name)
    if summary.first and summary.last:
        tz = settings().tz
        table.add_row(
            "时间范围", f"{summary.first.astimezone(tz):%Y-%m-%d %H:%M} 至 {summary.last.astimezone(tz):%Y-%m-%d %H:%M}"
        )
    table.add_row("消息总数", str(summary.total))
    table.add_row("新入库", str(summary.stored))
    table.add_row("机器人已实时采集（跳过）", str(summary.captured_live))
    table.add_row("此前已导入（跳过）", str(summary.already_imported))
    table.add_row("无法入库", str(summary.rejected))
    console.print(table)
    if classify_later:
        console.print("分类已排入后台任务：运行 wenming worker（或 wenming run）处理，进度见 wenming status")
    for error in sorted(set(summary.errors))[:5]:
        console.print(f"[yellow]未入库原因：[/yellow]{error}")


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO time; without an offset it is read in the office time zone."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} 应为时间，如 2026-11-03T09:12+08:00 或 2026-11-03 09:12，收到 {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings().tz)
