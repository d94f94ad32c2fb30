"""``wenming import FILE``: bring an exported chat history into the database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from bot.history.importer import FORMAT_NAMES, PARSERS, ImportSummary, import_history
from bot.history.records import HistoryFormatError
from ingest.models import RawStatus
from wiring.cli.common import UserError, console, friendly_errors, session_factory, settings


@friendly_errors
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="导出的聊天记录文件"),
    format: str | None = typer.Option(None, "--format", "-f", help="格式（默认自动识别）：" + "、".join(PARSERS)),
    group: str | None = typer.Option(None, "--group", "-g", help="群名称（文件里没有时默认用文件名）"),
    group_id: str | None = typer.Option(None, "--group-id", help="QQ 群号（不填则按群名匹配机器人已采集的群）"),
    media: Path | None = typer.Option(
        None,
        "--media",
        file_okay=False,
        help="导出附带的图片目录（WeChatMsg 导出文件夹、qq-chat-exporter 资源、解码后的图片）",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="只预览将会新建的消息、报送和未归属的发送者，不写入任何数据"),
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
                media_dir=media,
                dry_run=dry_run,
                progress=lambda n: progress.advance(task, n),
                on_total=lambda n: progress.update(task, total=n),
                classify_later=classify_later,
                **window,
            )
        except HistoryFormatError as exc:
            raise UserError(f"{file.name}：{exc}") from None
    render_import_summary(summary, file.name, media is not None, classify_later)


MAX_LINES = 20


def render_import_summary(summary: ImportSummary, name: str, with_media: bool, classify_later: bool) -> None:
    """The closing table: what was (or, in a dry run, would be) stored, reported and left for staff."""
    verb = "将" if summary.dry_run else "已"
    title = f"预览（未写入任何数据）：{name}" if summary.dry_run else f"导入完成：{name}"
    table = Table(title=title, show_header=False)
    table.add_row("格式", FORMAT_NAMES[summary.format])
    table.add_row("群", Text(summary.group_name or ""))
    if summary.first and summary.last:
        tz = settings().tz
        table.add_row(
            "时间范围", f"{summary.first.astimezone(tz):%Y-%m-%d %H:%M} 至 {summary.last.astimezone(tz):%Y-%m-%d %H:%M}"
        )
    table.add_row("消息总数", str(summary.total))
    table.add_row("将新入库" if summary.dry_run else "新入库", str(summary.stored))
    table.add_row("机器人已实时采集（跳过）", str(summary.captured_live))
    table.add_row("此前已导入（跳过）", str(summary.already_imported))
    table.add_row("无法入库（已保留原文）", str(summary.rejected))
    table.add_row(f"{verb}组成报送的消息", str(summary.messages.get(RawStatus.ASSEMBLED.value, 0)))
    table.add_row(
        f"{verb}留作消息（应答、表情、提问等，不计入报送）", str(summary.messages.get(RawStatus.CHATTER.value, 0))
    )
    table.add_row(f"{verb}不成报送（系统消息、工作人员等）", str(summary.messages.get(RawStatus.IGNORED.value, 0)))
    if with_media:
        table.add_row("从图片目录找到的图片", str(summary.photos_attached))
        table.add_row("图片目录里没找到的图片（留作消息）", str(summary.photos_missing))
    console.print(table)
    reports = Table(title=f"{verb}新建或补充的报送（按单位）", show_header=True)
    reports.add_column("单位")
    reports.add_column("报送", justify="right")
    for unit, count in summary.reports_by_unit:
        reports.add_row(Text(unit) if unit else Text("（未归属单位，待人工认领）", style="yellow"), str(count))
    if summary.reports_by_unit:
        console.print(reports)
    if summary.unresolved_senders:
        console.print("[yellow]认不出单位的发送者[/yellow]（可先在控制台把成员对应到单位，再导入）：")
        for sender, count in summary.unresolved_senders[:MAX_LINES]:
            console.print(Text(f"  {sender}：{count} 条报送"))
    if classify_later and not summary.dry_run:
        console.print("分类已排入后台任务：运行 wenming worker（或 wenming run）处理，进度见 wenming status")
    if summary.errors:
        console.print(f"[yellow]有误的行（共 {len(summary.errors)} 处，原文已保留待查）：[/yellow]")
        for error in summary.errors[:MAX_LINES]:
            console.print(Text(f"  {error}"))
        if len(summary.errors) > MAX_LINES:
            console.print(f"  …… 另有 {len(summary.errors) - MAX_LINES} 处")


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO time; without an offset it is read in the office time zone."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} 应为时间，如 2026-11-03T09:12+08:00 或 2026-11-03 09:12，收到 {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings().tz)
