"""``wenming units``: the office's roster of civilized units."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text
from sqlalchemy import func, select

from ingest import units
from ingest.models import HonourLevel, Member, Unit
from wiring.cli.common import UserError, actor, console, friendly_errors, reading, unit_of_work
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
