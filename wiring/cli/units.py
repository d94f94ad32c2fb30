"""``wenming units``: the office's roster of civilized units."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text
from sqlalchemy import func, select

from ingest import units
from ingest.models import HonourLevel, Member, Unit
from scoring import service as scoring_service
from scoring import unit_links
from wiring.cli.common import UserError, actor, console, friendly_errors, reading, settings, unit_of_work
from wiring.cli.tables import FORMAT_OPTION, Column, Format, TableData, emit

app = typer.Typer(help="文明单位名册：导入与查看", no_args_is_help=True)


@app.command("import")
@friendly_errors
def import_units(
    file: Path = typer.Argument(..., help="单位名册（.csv 或 .xlsx），列：单位名称、别名、级别、类别、人数"),
) -> None:
    """导入（新增或按名称更新）文明单位名册；任何一行有误则整份不导入。"""
    with unit_of_work() as session:
        summary = units.import_roster(session, actor(), file)
    console.print(
        f"单位名册已导入：新增 {len(summary.created)} 个，更新 {len(summary.updated)} 个，"
        f"无变化 {len(summary.unchanged)} 个。"
    )
    for name in summary.updated:
        console.print(Text(f"  已更新：{name}"))


@app.command("list")
@friendly_errors
def list_units(
    level: str | None = typer.Option(None, "--level", "-l", help="只看某一级别（全国/省/市/县）"),
    category: str | None = typer.Option(None, "--category", "-c", help="只看某一类别，如 机关、学校"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """列出文明单位及其别名、级别、类别、人数和已关联的群成员数。"""
    members = (
        select(Member.unit_id, func.count().label("n")).where(Member.unit_id.is_not(None)).group_by(Member.unit_id)
    ).subquery()
    query = (
        select(Unit, func.coalesce(members.c.n, 0)).outerjoin(members, members.c.unit_id == Unit.id).order_by(Unit.name)
    )
    if level:
        try:
            query = query.where(Unit.honour_level == HonourLevel.parse(level).value)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if category:
        query = query.where(Unit.category == category)
    with reading() as session:
        rows = session.execute(query).all()
    if not rows:
        console.print("没有符合条件的单位。请先导入名册：wenming units import 名册.csv")
        return
    table = TableData(
        f"文明单位名册（{len(rows)} 个）",
        [
            Column("编号", "right"),
            Column("单位名称", wrap=True),
            Column("别名", wrap=True),
            Column("级别", "center"),
            Column("类别"),
            Column("人数", "right"),
            Column("群成员", "right"),
            Column("状态", "center"),
        ],
    )
    for unit, member_count in rows:
        table.add_row(
            str(unit.id),
            unit.name,
            "、".join(unit.aliases or []),
            HonourLevel(unit.honour_level).zh,
            unit.category or "",
            "" if unit.headcount is None else str(unit.headcount),
            str(member_count),
            "在册" if unit.active else "停用",
        )
    emit(table, fmt, console)


@app.command("start")
@friendly_errors
def start(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    month: str | None = typer.Argument(None, metavar="YYYY-MM", help="计分起始月份（不填则跟随全县设置）"),
) -> None:
    """设置单位的计分起始月份（年中新增的单位）：此前的月份显示为无数据，不计 0 分。"""
    with unit_of_work() as session:
        found = scoring_service.resolve_unit(session, unit)
        changed = scoring_service.set_coverage_start(session, found.id, month, actor())
    office = settings().scoring_start
    shown = changed.scoring_start or f"跟随全县设置（{office or '未设置'}）"
    console.print(Text(f"{changed.name} 的计分起始月份：{shown}"))


@app.command("link")
@friendly_errors
def link(unit: str = typer.Argument(..., help="单位编号或名称")) -> None:
    """生成单位查看链接（只读页面：本单位的报送、得分说明、记录与“有异议”），可发到群里或单位联络人。"""
    with unit_of_work() as session:
        found = scoring_service.resolve_unit(session, unit)
        out = unit_links.issue(session, settings(), found.id, actor())
    console.print(Text(f"{out.unit_name} 的查看链接（有效期至 {out.expires_at.astimezone(settings().tz):%Y-%m-%d}）："))
    console.print(out.url or "", soft_wrap=True, highlight=False)
    if not settings().public_url:
        console.print("提示：未设置 WENMING_PUBLIC_URL，链接只有路径；发出前请加上本系统的访问地址。")


@app.command("links")
@friendly_errors
def links(
    unit: str | None = typer.Argument(None, help="单位编号或名称（不填则列出全部）"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """列出已生成的单位查看链接（链接本身不保存，只列出有效期与状态）。"""
    with reading() as session:
        unit_id = scoring_service.resolve_unit(session, unit).id if unit else None
        rows = unit_links.list_links(session, settings(), unit_id)
    headers = ("编号", "单位", "生成", "有效期至", "状态")
    table = TableData("单位查看链接", [Column(h, wrap=h == "单位") for h in headers])
    tz = settings().tz
    for r in rows:
        state = f"已停用（{r.revoked_by}）" if r.revoked_at else "有效"
        table.add_row(
            str(r.id),
            r.unit_name,
            f"{r.created_by} {r.created_at.astimezone(tz):%Y-%m-%d}",
            f"{r.expires_at.astimezone(tz):%Y-%m-%d}",
            state,
        )
    emit(table, fmt, console)


@app.command("unlink")
@friendly_errors
def unlink(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    reason: str | None = typer.Option(None, "--reason", help="停用原因"),
) -> None:
    """停用一个单位的全部查看链接（如联络人更换、链接外传）。"""
    with unit_of_work() as session:
        found = scoring_service.resolve_unit(session, unit)
        count = unit_links.revoke(session, found.id, actor(), reason)
    console.print(Text(f"已停用 {found.name} 的 {count} 个查看链接。"))
