"""``wenming reports``: what has been collected, per unit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from classifier.models import Label
from ingest.models import HonourLevel, Member, RawMessage, RawStatus, Report, ReportStatus, Unit
from wiring.cli.common import UserError, actor, console, friendly_errors, reading, settings, unit_of_work
from wiring.cli.tables import FORMAT_OPTION, Column, Format, TableData, emit, layout, render

app = typer.Typer(help="活动报送统计", no_args_is_help=True)

STATUS_ZH = ReportStatus.names()


@dataclass
class UnitCounts:
    """Report counts of one unit (or of the unassigned queue when ``unit`` is None)."""

    name: str
    level: str = ""
    total: int = 0  # withdrawn (recalled) reports are not counted here, only in by_status
    photos: int = 0
    reposts: int = 0
    messages: int = 0  # the unit's members' messages kept as messages (收到, stickers…): shown, never counted
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_label: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class Stats:
    units: list[UnitCounts]
    unassigned: UnitCounts
    raw_by_status: dict[str, int]

    @property
    def total_reports(self) -> int:
        return sum(u.total for u in self.units) + self.unassigned.total

    @property
    def withdrawn(self) -> int:
        return sum(u.by_status.get(ReportStatus.WITHDRAWN.value, 0) for u in [*self.units, self.unassigned])


def collect_stats(
    session: Session, since: date | None = None, until: date | None = None, tz: tzinfo | None = None
) -> Stats:
    """Count reports per unit by status and label (post dates inclusive), plus the unassigned queue.

    Messages that are not reports (acknowledgements, stickers…) are counted apart per unit of their sender.
    """
    counts: dict[int | None, UnitCounts] = {}
    for unit in session.scalars(select(Unit).where(Unit.active.is_(True))):
        counts[unit.id] = UnitCounts(name=unit.name, level=HonourLevel(unit.honour_level).zh)
    unassigned = UnitCounts(name="（未归属单位）", level="—")
    query = select(
        Report.unit_id,
        Report.status,
        Report.label,
        func.count(),
        func.coalesce(func.sum(Report.photo_count), 0),
        func.coalesce(func.sum(func.cast(Report.possible_repost, Integer)), 0),
    ).group_by(Report.unit_id, Report.status, Report.label)
    if since:
        query = query.where(Report.post_date >= since)
    if until:
        query = query.where(Report.post_date <= until)
    for unit_id, status, label, n, photos, reposts in session.execute(query):
        target = unassigned if unit_id is None else counts.get(unit_id)
        if target is None:  # a report of a unit that has since been deactivated
            continue
        target.by_status[status] += n
        if status == ReportStatus.WITHDRAWN.value:
            continue  # the sender recalled it: shown in its own column, never as a report
        target.total += n
        target.photos += int(photos)
        target.reposts += int(reposts)
        target.by_label[label or ""] += n
    _count_messages(session, counts, unassigned, since, until, tz or settings().tz)
    raw = dict(session.execute(select(RawMessage.status, func.count()).group_by(RawMessage.status)).all())
    ranked = sorted(counts.values(), key=lambda c: (-c.total, c.name))
    return Stats(units=ranked, unassigned=unassigned, raw_by_status=raw)


def _count_messages(
    session: Session,
    counts: dict[int | None, UnitCounts],
    unassigned: UnitCounts,
    since: date | None,
    until: date | None,
    tz: tzinfo,
) -> None:
    """Kept messages per unit of the sender (local dates inclusive), for the 消息 column."""
    query = (
        select(Member.unit_id, func.count())
        .select_from(RawMessage)
        .join(Member, Member.id == RawMessage.sender_id)
        .where(RawMessage.status == RawStatus.CHATTER.value)
        .group_by(Member.unit_id)
    )
    if since:
        query = query.where(RawMessage.sent_at >= datetime.combine(since, time.min, tz))
    if until:
        query = query.where(RawMessage.sent_at < datetime.combine(until + timedelta(days=1), time.min, tz))
    for unit_id, n in session.execute(query):
        target = unassigned if unit_id is None else counts.get(unit_id)
        if target is not None:
            target.messages += n


RAW_SHOWN = (RawStatus.ASSEMBLED, RawStatus.CHATTER, RawStatus.IGNORED, RawStatus.RECEIVED, RawStatus.REJECTED)
LABEL_SHORT = {"practice": "实践", "pairing": "共建", "news": "新闻", "volunteer": "志愿", "other": "其他"}
WIDE_CONSOLE = 120


def render_stats(stats: Stats, out: Console, title: str = "各单位活动报送统计") -> None:
    """Print the per-unit table (only the status and label columns that occur) and a summary."""
    everyone = [*stats.units, stats.unassigned]
    statuses = [s for s in STATUS_ZH if any(c.by_status.get(s) for c in everyone)]
    labels = [label for label in Label if any(c.by_label.get(label.value) for c in everyone)]
    wide = out.width >= WIDE_CONSOLE
    legend = "、".join(f"{LABEL_SHORT[label.value]}={label.zh}" for label in labels)
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        padding=(0, 1) if wide else (0, 0),
        caption="；".join(
            ([f"类别：{legend}"] if labels else [])
            + ["重复图=含疑似重复图片的报送数", "消息=该单位成员留作消息的条数（收到、表情包等），不计入报送和排名"]
            + (["已撤回=发送者在群里撤回的报送，不计入报送数"] if ReportStatus.WITHDRAWN.value in statuses else [])
        ),
    )
    headers = ["排名", "单位", *(["级别"] if wide else []), "报送", "图片"]
    headers += [STATUS_ZH[s] for s in statuses] + [LABEL_SHORT[label.value] for label in labels] + ["重复图", "消息"]
    for header in headers:  # headers fold onto two lines rather than end in "…"
        table.add_column(header, justify="left" if header == "单位" else "right", overflow="fold")
    table.columns[1].min_width = 8

    def row(rank: str, c: UnitCounts, style: str | None = None) -> None:
        cells: list[str | Text] = [rank, Text(c.name), *([c.level] if wide else []), str(c.total), str(c.photos)]
        cells += [_n(c.by_status.get(s, 0)) for s in statuses]
        cells += [_n(c.by_label.get(label.value, 0)) for label in labels]
        cells += [_n(c.reposts), _n(c.messages)]
        table.add_row(*cells, style=style)

    for rank, counts in enumerate(stats.units, start=1):
        row(str(rank), counts, style="dim" if counts.total == 0 else None)
    table.add_section()
    row("—", stats.unassigned, style="yellow" if stats.unassigned.total else None)
    narrow = stats_table(stats, title, statuses, labels, short=True)
    if layout(narrow, out.width) != "table":  # not every column fits as it is: fold headers, or one block per unit
        render(narrow, out)
    else:
        out.print(table)
    silent = [c.name for c in stats.units if c.total == 0]
    raw = stats.raw_by_status
    withdrawn = f"，另有 {stats.withdrawn} 条已被发送者撤回（不计入）" if stats.withdrawn else ""
    out.print(
        f"共 {stats.total_reports} 条报送，其中未归属单位 {stats.unassigned.total} 条（待人工认领）{withdrawn}；"
        f"原始消息 {sum(raw.values())} 条（" + "，".join(f"{s.zh} {raw.get(s.value, 0)}" for s in RAW_SHOWN) + "）。"
    )
    if silent:
        out.print(Text(f"无任何报送的单位（{len(silent)} 个）：" + "、".join(silent)))


def stats_table(
    stats: Stats,
    title: str,
    statuses: list[str] | None = None,
    labels: list[Label] | None = None,
    short: bool = False,
) -> TableData:
    """The per-unit counts as plain data (csv/json, narrow terminals), unassigned last."""
    statuses = list(STATUS_ZH) if statuses is None else statuses
    labels = list(Label) if labels is None else labels
    columns = [Column("排名", "right"), Column("单位", wrap=True), Column("级别"), Column("报送", "right")]
    columns += [Column("图片", "right"), *[Column(STATUS_ZH[s], "right") for s in statuses]]
    columns += [Column(LABEL_SHORT[label.value] if short else label.zh, "right") for label in labels]
    columns += [Column("重复图" if short else "含重复图片的报送", "right"), Column("消息", "right")]
    table = TableData(title, columns)
    rows = [(str(rank), c) for rank, c in enumerate(stats.units, start=1)] + [("未归属", stats.unassigned)]
    for rank, c in rows:
        cells = [rank, c.name, c.level, str(c.total), str(c.photos)]
        cells += [str(c.by_status.get(s, 0)) for s in statuses]
        cells += [str(c.by_label.get(label.value, 0)) for label in labels]
        table.add_row(*cells, str(c.reposts), str(c.messages))
    return table


def _n(value: int) -> str:
    return str(value) if value else "·"


def _parse_date(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} 的日期「{text}」格式不对，应为 YYYY-MM-DD，例如 2026-09-01") from None


@app.command("stats")
@friendly_errors
def stats(
    since: str | None = typer.Option(None, "--from", help="起始日期（含），YYYY-MM-DD"),
    until: str | None = typer.Option(None, "--to", help="截止日期（含），YYYY-MM-DD"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """按单位统计报送数量（按状态、按类别），以及未归属单位的报送数。"""
    start, end = _parse_date(since, "--from"), _parse_date(until, "--to")
    if start and end and start > end:
        raise UserError("--from 不能晚于 --to")
    with reading() as session:
        result = collect_stats(session, start, end, settings().tz)
    period = f"（{start or '最早'} 至 {end or '最新'}）" if start or end else ""
    if fmt != Format.TABLE:
        emit(stats_table(result, f"各单位活动报送统计{period}"), fmt, console)
        return
    render_stats(result, console, title=f"各单位活动报送统计{period}")


@app.command("retriage")
@friendly_errors
def retriage(
    dry_run: bool = typer.Option(False, "--dry-run", help="只列出将被改回消息的报送，不修改"),
) -> None:
    """升级后一次性整理：把以前被当成报送的闲聊（收到、好的、👍、匿名消息等）改回消息；有图片或工作人员处理过的不动。"""
    from ingest import service as ingest_service

    with unit_of_work() as session:
        ids = ingest_service.retriage_reports(session, settings(), actor=actor(), dry_run=dry_run)
    verb = "将改回消息" if dry_run else "已改回消息"
    console.print(f"{verb}的报送：{len(ids)} 条" + ("（预览，未修改）" if dry_run else "；每条都记入了审计日志"))
