"""``wenming score``: rankings, quarterly tables, annual scores, explanations and staff record entry."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.text import Text

from ingest.models import HonourLevel
from scoring import service
from scoring.models import AdjustmentKind, CheckKind, RecordKind
from scoring.periods import parse_month, parse_quarter
from scoring.rubric import RubricError
from scoring.schemas import (
    AdjustmentIn,
    CriticismIn,
    MediaAdoptionIn,
    PairingSheetIn,
    RecordOut,
    VolunteerStatsIn,
    XixiangCheckIn,
)
from wiring.cli.common import UserError, actor, console, friendly_errors, reading, settings, unit_of_work
from wiring.cli.tables import FORMAT_OPTION, Cell, Column, Format, TableData, emit, safe

app = typer.Typer(help="计分：月度活跃度排名、季度汇总表、年度得分与说明、工作人员录入", no_args_is_help=True)

P = ParamSpec("P")
R = TypeVar("R")

RUBRIC_HELP = "评分标准（changxing-2020 / xixiang-2022，或 YAML 文件路径）"
AS_OF_HELP = "计算截至的日期 YYYY-MM-DD（默认今天，按办公地时区）"
BY_HELP = "录入人，记入记录与审计日志（默认同 wenming --actor，即 cli:<系统登录名>）"


def domain_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Scoring and validation errors become one Chinese line (via ``friendly_errors``)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (service.ScoringError, RubricError) as exc:
            raise UserError(str(exc)) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise UserError(f"{field}：{first['msg']}") from None

    return friendly_errors(wrapper)


def _level(code: str) -> str:
    return HonourLevel.zh_of(code)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{round(value, 2):g}"


def _flag(value: bool | None) -> Cell:
    return "—" if value is None else (("是", "green") if value else ("否", "red"))


@app.command("rubrics")
@domain_errors
def rubrics() -> None:
    """列出可用的评分标准。"""
    for name in service.list_rubrics():
        rubric = service.load_rubric(name)
        console.print(f"{name}：{rubric.title}（{rubric.source}）")


@app.command("month")
@domain_errors
def month(
    month_text: str = typer.Argument(..., metavar="YYYY-MM", help="月份，如 2026-10"),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
    top: int = typer.Option(0, "--top", help="只显示前 N 名（0 = 全部）"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """月度活跃度排名：各单位本月实践活动次数、活跃天数、照片与活跃度。"""
    year, month_number = _parse(parse_month, month_text)
    rubric = service.load_rubric(rubric_name)
    with reading() as session:
        ranking = service.monthly_ranking(session, settings(), rubric, year, month_number)
    rows = ranking.rows[:top] if top else ranking.rows
    headers = ("级别", "实践活动", "志愿服务", "通讯稿", "活跃天数", "照片", "活跃度", "达标")
    table = TableData(
        f"{year}年{month_number}月 文明实践活动活跃度排名（{rubric.name}）",
        [Column("名次", "right"), Column("单位", wrap=True), *[Column(h, "right") for h in headers]],
        notes=[ranking.formula, f"并列规则：{ranking.tie_rule}"],
    )
    for row in rows:
        table.add_row(
            str(row.rank),
            row.unit_name,
            _level(row.honour_level),
            str(row.practice_count),
            str(row.label_counts.get("volunteer", 0)),
            str(row.label_counts.get("news", 0)),
            str(row.active_days),
            str(row.photos),
            _num(row.liveliness),
            _flag(row.meets_minimum),
        )
    if ranking.no_data:
        table.notes.append(f"无数据（计分起始月份之后才计入，不排名）：{'、'.join(ranking.no_data)}")
    emit(table, fmt, console)


def _parse(parser: Callable[[str], tuple[int, int]], text: str) -> tuple[int, int]:
    try:
        return parser(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


@app.command("quarter")
@domain_errors
def quarter(
    quarter_text: str = typer.Argument(..., metavar="YYYYQn", help="季度，如 2026Q3"),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """季度汇总表（长兴附件3格式：季度排名、单位、四项得分、合计；西乡六项）。"""
    year, quarter_number = _parse(parse_quarter, quarter_text)
    rubric = service.load_rubric(rubric_name)
    with reading() as session:
        result = service.quarter_table(session, settings(), rubric, year, quarter_number, _optional_date(as_of))
    items = [Column(f"{c.title}（{_num(c.max_points)}分）", "right") for c in result.columns]
    table = TableData(
        result.title, [Column("季度排名", "right"), Column("单位", wrap=True), *items, Column("合计", "right")]
    )
    for row in result.rows:
        table.add_row(str(row.rank), row.unit_name, *[_num(row.items[c.key]) for c in result.columns], _num(row.total))
    if result.no_data:
        table.notes.append(f"无数据（计分起始月份之后才计入，不排名）：{'、'.join(result.no_data)}")
    emit(table, fmt, console)


@app.command("year")
@domain_errors
def year(
    year_number: int = typer.Argument(..., metavar="YYYY", help="年度，如 2026"),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """年度得分：预警、限期整改、同比与两年平均（长兴另列志愿者比例）；未关账的年度标为预计。"""
    rubric = service.load_rubric(rubric_name)
    with reading() as session:
        scores = service.annual_scores(session, settings(), rubric, year_number, _optional_date(as_of))
        missing = service.uncovered_units(session, settings(), year_number)
    provisional = any(s.provisional for s in scores)
    through = scores[0].through if scores else None
    title = f"{year_number}年度 {rubric.title}" + (f"（截至 {through}，预计）" if provisional and through else "")
    headers = ["级别", "计分范围"]
    headers += ["截至累计", "全年预计"] if provisional else ["得分"]
    headers += ["上年", "同比", "两年平均", "预计预警" if provisional else "预警"]
    headers += ["预计限期整改" if provisional else "限期整改"]
    if rubric.kind == "changxing":
        headers += ["注册≥比例", "参加≥90%"]
    columns = [Column("名次", "right"), Column("单位", wrap=True), *[Column(h, "right") for h in headers]]
    table = TableData(title, columns)
    for s in scores:
        flag = "yellow" if s.provisional else "red"
        cells: list[Cell] = [
            str(s.rank),
            s.unit_name,
            _level(s.honour_level),
            s.coverage or "",
            *([_num(s.running_total), _num(s.score)] if provisional else [_num(s.score)]),
            _num(s.previous_score),
            "—" if s.year_over_year is None else f"{s.year_over_year:+g}",
            _num(s.two_year_average),
            ("预计预警" if s.provisional else "预警", flag) if s.warning else "",
            ("预计整改" if s.provisional else "限期整改", flag) if s.rectification else "",
        ]
        if rubric.kind == "changxing":
            v = s.volunteer
            cells += [_flag(v.registered_ok if v else None), _flag(v.active_ok if v else None)]
        table.add_row(*cells)
    if provisional:
        table.notes.append(
            f"{year_number}年度尚未关账：截至累计 = 已得分（未开始的月份计 0）；全年预计 = 按已计入月份的平均推算；"
            "预警与限期整改仅为预计，以关账公布的年度得分为准，不在群内发布。"
        )
    if missing:
        table.notes.append(f"无数据（计分起始月份在本年度之后）：{'、'.join(missing)}")
    emit(table, fmt, console)


@app.command("explain")
@domain_errors
def explain(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    year_number: int = typer.Argument(..., metavar="YYYY", help="年度"),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """逐项说明一个单位的年度得分：依据的报送、记录与算式。"""
    rubric = service.load_rubric(rubric_name)
    with reading() as session:
        unit_id = service.resolve_unit(session, unit).id
        result = service.explain_unit(session, settings(), rubric, unit_id, year_number, _optional_date(as_of))
    total = _num(result.total) if result.total is not None else "无数据"
    unit_text = " 分" if result.total is not None else ""
    name = safe(result.unit_name)
    console.print(f"[bold]{name}[/bold] {year_number}年 {rubric.title}：[bold]{total}{unit_text}[/bold]")
    for item in result.items:
        limit = f" / {_num(item.max_points)}" if item.max_points is not None else ""
        console.print(f"\n[bold]{item.title}[/bold]：{_num(item.points)}{limit} 分")
        for line in item.lines:
            console.print(Text(f"  {line}"))
        if item.record_ids:
            console.print(f"  依据记录：{'、'.join(item.record_ids)}", style="dim")
    console.print()
    for note in result.notes:
        console.print(note)


def _print_record(record: RecordOut) -> None:
    console.print(
        Text(
            f"已录入{RecordKind.zh_of(record.kind)} {record.kind}:{record.id}（{record.created_by}）：{record.summary}"
        )
    )


@app.command("criticism")
@domain_errors
def criticism(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    occurred_on: str = typer.Argument(..., metavar="YYYY-MM-DD", help="通报日期"),
    reason: str = typer.Argument(..., help="通报原因"),
    document: str | None = typer.Option(None, "--document", help="督查通报文号"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """录入一次通报批评（长兴：重点工作配合每次扣 5 分）。"""
    with unit_of_work() as session:
        unit_id = service.resolve_unit(session, unit).id
        data = CriticismIn(unit_id=unit_id, occurred_on=_date(occurred_on), reason=reason, document=document)
        _print_record(service.add_record(session, RecordKind.CRITICISM, data, by or actor()))


@app.command("adoption")
@domain_errors
def adoption(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    title: str = typer.Argument(..., help="稿件标题"),
    outlet: str = typer.Option(..., "--outlet", help="录用媒体 / 文明网"),
    level: str = typer.Option(..., "--level", help="级别：县级/市级/省级/中央"),
    published_on: str = typer.Option(..., "--date", help="录用日期 YYYY-MM-DD"),
    report_id: int | None = typer.Option(None, "--report", help="对应的群内报送编号"),
    url: str | None = typer.Option(None, "--url", help="链接"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """录入一篇稿件录用（同一篇按最高级别计一次）。"""
    with unit_of_work() as session:
        unit_id = service.resolve_unit(session, unit).id
        data = MediaAdoptionIn(
            unit_id=unit_id,
            title=title,
            outlet=outlet,
            level=level,  # type: ignore[arg-type]
            published_on=_date(published_on),
            report_id=report_id,
            url=url,
        )
        _print_record(service.add_record(session, RecordKind.MEDIA_ADOPTION, data, by or actor()))


@app.command("pairing")
@domain_errors
def pairing(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    quarter_text: str = typer.Argument(..., metavar="YYYYQn", help="季度"),
    partner: str = typer.Argument(..., help="结对的行政村（居）"),
    count: int = typer.Option(1, "--count", help="本季度结对共建活动次数"),
    activity_date: str | None = typer.Option(None, "--date", help="活动日期 YYYY-MM-DD"),
    note: str | None = typer.Option(None, "--note", help="备注"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """录入一份《文明单位结对共建情况表》。"""
    year_number, quarter_number = _parse(parse_quarter, quarter_text)
    with unit_of_work() as session:
        unit_id = service.resolve_unit(session, unit).id
        data = PairingSheetIn(
            unit_id=unit_id,
            year=year_number,
            quarter=quarter_number,
            partner=partner,
            activity_count=count,
            activity_date=_date(activity_date) if activity_date else None,
            note=note,
        )
        _print_record(service.add_record(session, RecordKind.PAIRING_SHEET, data, by or actor()))


@app.command("volunteers")
@domain_errors
def volunteers(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    quarter_text: str = typer.Argument(..., metavar="YYYYQn", help="季度"),
    headcount: int = typer.Option(..., "--headcount", help="员工总数（在编在岗）"),
    registered: int = typer.Option(..., "--registered", help="注册志愿者人数"),
    active: int = typer.Option(..., "--active", help="参加志愿服务的注册志愿者人数"),
    projects: int | None = typer.Option(None, "--projects", help="点单服务项目数"),
    hours: float | None = typer.Option(None, "--hours", help="本季度志愿服务总时长（小时）"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """录入志愿者注册统计（同一季度以最新一次为准）。"""
    year_number, quarter_number = _parse(parse_quarter, quarter_text)
    with unit_of_work() as session:
        unit_id = service.resolve_unit(session, unit).id
        data = VolunteerStatsIn(
            unit_id=unit_id,
            year=year_number,
            quarter=quarter_number,
            headcount=headcount,
            registered=registered,
            active=active,
            service_projects=projects,
            service_hours=hours,
        )
        _print_record(service.add_record(session, RecordKind.VOLUNTEER_STATS, data, by or actor()))


@app.command("check")
@domain_errors
def check(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    kind: CheckKind = typer.Argument(..., help="核查项目"),
    year_number: int = typer.Option(..., "--year", help="年度"),
    quarter_number: int | None = typer.Option(None, "--quarter", help="季度（按季度考核的项目）"),
    month_number: int | None = typer.Option(None, "--month", help="月份（月度小结）"),
    done_on: str = typer.Option(..., "--date", help="材料、调查或报送日期 YYYY-MM-DD"),
    value: float | None = typer.Option(None, "--value", help="知晓率百分比"),
    grade: str | None = typer.Option(None, "--grade", help="满意率评价：优秀/良好/一般"),
    note: str | None = typer.Option(None, "--note", help="备注"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """录入一项西乡考核核查结果（计划总结、队旗服装、培训、品牌、知晓率、满意率、月度小结）。"""
    with unit_of_work() as session:
        unit_id = service.resolve_unit(session, unit).id
        data = XixiangCheckIn(
            unit_id=unit_id,
            kind=kind,
            year=year_number,
            quarter=quarter_number,
            month=month_number,
            done_on=_date(done_on),
            value=value,
            grade=grade,
            note=note,
        )
        _print_record(service.add_record(session, RecordKind.CHECK, data, by or actor()))


@app.command("bonus")
@domain_errors
def bonus(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    kind: AdjustmentKind = typer.Argument(..., help="hosted_event / research_visit / leader_instruction"),
    occurred_on: str = typer.Option(..., "--date", help="日期 YYYY-MM-DD"),
    reason: str = typer.Option(..., "--reason", help="事由"),
    level: str | None = typer.Option(None, "--level", help="调研组或批示领导级别：县级/市级/省级/中央"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """录入加分项目（分值按评分标准中的加分表计算）。"""
    with unit_of_work() as session:
        unit_id = service.resolve_unit(session, unit).id
        data = AdjustmentIn(
            unit_id=unit_id,
            kind=kind,
            level=level,  # type: ignore[arg-type]
            occurred_on=_date(occurred_on),
            reason=reason,
        )
        _print_record(service.add_bonus(session, data, by or actor()))


@app.command("deduct")
@domain_errors
def deduct(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    kind: AdjustmentKind = typer.Argument(..., help="materials_missing / perfunctory / falsification / other"),
    points: float = typer.Argument(..., help="扣分分值"),
    occurred_on: str = typer.Option(..., "--date", help="日期 YYYY-MM-DD"),
    reason: str = typer.Option(..., "--reason", help="事由"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """录入扣分项目（酌情扣分，分值由工作人员决定）。"""
    with unit_of_work() as session:
        unit_id = service.resolve_unit(session, unit).id
        data = AdjustmentIn(unit_id=unit_id, kind=kind, points=points, occurred_on=_date(occurred_on), reason=reason)
        _print_record(service.add_deduction(session, data, by or actor()))


@app.command("void")
@domain_errors
def void(
    kind: str = typer.Argument(..., help="记录类型：" + "、".join(f"{k.value}（{k.zh}）" for k in RecordKind)),
    record_id: int = typer.Argument(..., help="记录编号"),
    reason: str = typer.Option(..., "--reason", help="作废原因"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """作废一条录入错误的记录（保留原记录备查，得分立即更新）。"""
    with unit_of_work() as session:
        record = service.void_record(session, kind, record_id, by or actor(), reason)
    who = f"{record.voided_by}，原因：{record.void_reason}"
    console.print(Text(f"已作废{RecordKind.zh_of(record.kind)} {record.kind}:{record.id}（{who}）：{record.summary}"))


@app.command("records")
@domain_errors
def records(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    year_number: int = typer.Argument(..., metavar="YYYY", help="年度"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """列出一个单位某年度的全部录入记录（含已作废的），用于核对与作废。"""
    with reading() as session:
        found = service.resolve_unit(session, unit)
        rows = service.list_records(session, found.id, year_number)
    columns = [
        Column("记录"),
        Column("内容", wrap=True),
        Column("录入人"),
        Column("录入时间"),
        Column("状态", wrap=True),
    ]
    table = TableData(f"{found.name} {year_number}年 工作人员录入记录", columns)
    tz = settings().tz
    for r in rows:
        state: Cell = (f"已作废（{r.voided_by}：{r.void_reason}）", "red") if r.voided_at else "有效"
        table.add_row(
            f"{RecordKind.zh_of(r.kind)} {r.kind}:{r.id}",
            r.summary,
            r.created_by,
            f"{r.created_at.astimezone(tz):%Y-%m-%d %H:%M}",
            state,
        )
    emit(table, fmt, console)


def _optional_date(text: str | None) -> date | None:
    return _date(text) if text else None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"日期格式应为 YYYY-MM-DD，收到 {text!r}") from None
