"""``wenming score close|publish|republish|reopen|periods|result|history|annual`` and ``wenming appeals``."""

from __future__ import annotations

import typer
from rich.text import Text

from scoring import appeals as appeal_service
from scoring import closing, service
from scoring.models import AppealStatus, PeriodState, RecordKind
from scoring.schemas import AnnualScoreIn, AppealResolveIn
from wiring.cli.common import UserError, actor, console, reading, settings, unit_of_work
from wiring.cli.score import AS_OF_HELP, BY_HELP, RUBRIC_HELP, _optional_date, _print_record, app, domain_errors
from wiring.cli.tables import FORMAT_OPTION, Column, Format, TableData, emit

PERIOD_HELP = "考核期：2026-10（月）、2026Q3（季度）或 2026（年）"
appeals_app = typer.Typer(help="申诉：单位对报送分类、漏计报送或台账记录的异议", no_args_is_help=True)


def _local(value) -> str:  # type: ignore[no-untyped-def]
    return f"{value.astimezone(settings().tz):%Y-%m-%d %H:%M}" if value else ""


@app.command("close")
@domain_errors
def close(
    period: str = typer.Argument(..., help=PERIOD_HELP),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
    override: str | None = typer.Option(None, "--override", help="仍有待处理申诉时强制关账的理由"),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """关账：保存每个单位的计数、得分与说明（快照），记录操作人与时间。"""
    rubric = service.load_rubric(rubric_name)
    with unit_of_work() as session:
        out = closing.close(
            session, settings(), rubric, period, by or actor(), as_of=_optional_date(as_of), override=override
        )
    console.print(
        f"{out.label}（{rubric.name}）已关账（{out.closed_by}）。确认无误后公布：wenming score publish {period}"
    )


@app.command("publish")
@domain_errors
def publish(
    period: str = typer.Argument(..., help=PERIOD_HELP),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """公布已关账的结果：群发布、导出与单位页面从此显示公布的快照。"""
    rubric = service.load_rubric(rubric_name)
    with unit_of_work() as session:
        out = closing.publish(session, rubric, period, by or actor())
    console.print(f"{out.label}（{rubric.name}）已公布（{out.published_by}）。")


@app.command("republish")
@domain_errors
def republish(
    period: str = typer.Argument(..., help=PERIOD_HELP),
    reason: str = typer.Option(..., "--reason", help="重新公布的原因（如吸收哪些更正）"),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
    override: str | None = typer.Option(None, "--override", help="仍有待处理申诉时强制重新公布的理由"),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """重新公布：把公布后的调整计入新的快照（旧快照保留备查）。"""
    rubric = service.load_rubric(rubric_name)
    with unit_of_work() as session:
        out = closing.republish(
            session, settings(), rubric, period, by or actor(), reason, as_of=_optional_date(as_of), override=override
        )
    console.print(Text(f"{out.label}（{rubric.name}）已重新公布（{out.published_by}）：{reason}"))


@app.command("reopen")
@domain_errors
def reopen(
    period: str = typer.Argument(..., help=PERIOD_HELP),
    reason: str = typer.Option(..., "--reason", help="重开原因"),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """重开已关账的考核期（已公布的结果在再次公布前保持不变）。"""
    rubric = service.load_rubric(rubric_name)
    with unit_of_work() as session:
        out = closing.reopen(session, rubric, period, by or actor(), reason)
    console.print(Text(f"{out.label}（{rubric.name}）已重开：{reason}"))


@app.command("periods")
@domain_errors
def periods(
    rubric_name: str | None = typer.Option(None, "--rubric", help=RUBRIC_HELP),
    year: int | None = typer.Option(None, "--year", help="只看某一年"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """列出考核期及其状态（未关账 / 已关账 / 已公布）。"""
    with reading() as session:
        rows = closing.list_periods(session, rubric_name, year)
    if not rows:
        console.print("还没有关账的考核期。关账：wenming score close 2026-10")
        return
    table = TableData("考核期", [Column(h) for h in ("考核期", "评分标准", "状态", "关账", "公布")])
    for r in rows:
        closed = f"{r.closed_by} {_local(r.closed_at)}" if r.closed_by else ""
        published = f"{r.published_by} {_local(r.published_at)}" if r.published_by else ""
        table.add_row(r.label, r.rubric, r.state_zh, closed, published)
    emit(table, fmt, console)


@app.command("result")
@domain_errors
def result(
    period: str = typer.Argument(..., help=PERIOD_HELP),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """公布的结果，及公布后的调整（现为 x（±d））与原因。"""
    rubric = service.load_rubric(rubric_name)
    with reading() as session:
        shown = closing.result(session, settings(), rubric, period, _optional_date(as_of))
    state = shown.period.state_zh if shown.period else "未关账"
    figure_header = "公布" if shown.period and shown.period.published_at else "当前"
    headers = ("名次", "单位", figure_header, "调整", "原因")
    table = TableData(
        f"{shown.label}（{rubric.name}，{state}）", [Column(h, wrap=h in ("单位", "原因")) for h in headers]
    )
    for r in shown.rows:
        figure = r.published if shown.period and shown.period.published_at else r.current
        table.add_row(
            "" if r.rank is None else str(r.rank),
            r.unit_name,
            "—" if figure is None else f"{figure:g}",
            r.adjustment or "",
            "；".join(r.reasons),
        )
    emit(table, fmt, console)
    if shown.adjusted:
        console.print(f"{shown.adjusted} 个单位在公布后有调整；重新公布：wenming score republish {period} --reason …")


@app.command("history")
@domain_errors
def period_history(
    period: str = typer.Argument(..., help=PERIOD_HELP),
    rubric_name: str = typer.Option("changxing-2020", "--rubric", help=RUBRIC_HELP),
) -> None:
    """考核期的每一次关账、公布、重开与重新公布（审计记录）。"""
    with reading() as session:
        entries = closing.period_history(session, service.load_rubric(rubric_name).name, period)
    for e in entries:
        reason = f"，原因：{e.reason}" if e.reason else ""
        was, now = PeriodState.zh_of(e.before.get("state")), PeriodState.zh_of(e.after.get("state"))
        console.print(Text(f"{_local(e.created_at)} {e.actor}：{was} → {now}{reason}"))


@app.command("annual")
@domain_errors
def annual(
    unit: str = typer.Argument(..., help="单位编号或名称"),
    year: int = typer.Argument(..., metavar="YYYY", help="年度（系统启用之前的年份）"),
    score: float = typer.Argument(..., help="该年度的正式得分"),
    document: str | None = typer.Option(None, "--document", help="出处（通报文号等）"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """录入历史年度得分（系统启用前的年度）：两年规则与同比据此计算。"""
    with unit_of_work() as session:
        unit_id = service.resolve_unit(session, unit).id
        data = AnnualScoreIn(unit_id=unit_id, year=year, score=score, document=document)
        _print_record(service.add_record(session, RecordKind.ANNUAL_SCORE, data, by or actor()))


@appeals_app.command("list")
@domain_errors
def list_appeals(
    status: str | None = typer.Option("open", "--status", help="open（待处理）/ accepted / rejected / all"),
    unit: str | None = typer.Option(None, "--unit", help="单位编号或名称"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """列出申诉（默认只看待处理的）。"""
    wanted = None if status in (None, "all") else status
    if wanted is not None and wanted not in AppealStatus.names():
        raise UserError("状态应为 open、accepted、rejected 或 all")
    with reading() as session:
        unit_id = service.resolve_unit(session, unit).id if unit else None
        rows = appeal_service.list_appeals(session, status=wanted, unit_id=unit_id)
    if not rows:
        console.print("没有符合条件的申诉。")
        return
    headers = ("编号", "单位", "内容", "理由", "状态", "提交", "处理")
    table = TableData("申诉", [Column(h, wrap=h in ("单位", "内容", "理由", "处理")) for h in headers])
    for a in rows:
        handled = f"{a.resolved_by}：{a.resolution}" if a.resolved_by else ""
        table.add_row(str(a.id), a.unit_name or "", a.subject, a.reason, a.status_zh, _local(a.created_at), handled)
    emit(table, fmt, console)


@appeals_app.command("resolve")
@domain_errors
def resolve(
    appeal_id: int = typer.Argument(..., help="申诉编号"),
    accept: bool = typer.Option(..., "--accept/--reject", help="采纳或驳回"),
    note: str = typer.Option(..., "--note", help="处理意见（单位页面可见）"),
    label: str | None = typer.Option(None, "--label", help="分类申诉：更正后的分类（默认按单位所说）"),
    report_id: int | None = typer.Option(None, "--report", help="漏计申诉：应计入该单位的报送编号"),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """处理一条申诉：采纳（通过更正、归属或作废计入得分）或驳回，均记入审计。"""
    with unit_of_work() as session:
        out = appeal_service.resolve(
            session,
            appeal_id,
            by or actor(),
            AppealResolveIn(accept=accept, note=note, label=label, report_id=report_id),
        )
    console.print(Text(f"申诉 #{out.id} {out.status_zh}：{out.resolution}"))
