"""``wenming classifier``: train, switch, list and evaluate model versions; ``reports reclassify``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from classifier import jobs as classifier_jobs
from classifier import repository
from classifier import service as classifier_service
from classifier.models import Label
from classifier.schemas import EvaluationReport
from wenming.queue.models import JobStatus
from wiring.cli.common import UserError, actor, console, friendly_errors, settings, unit_of_work
from wiring.cli.tables import FORMAT_OPTION, Column, Format, TableData, emit

app = typer.Typer(help="报告分类模型：训练、切换版本、评测", no_args_is_help=True)

_ZH = Label.names()


def _user_errors(exc: Exception) -> UserError:
    return UserError(str(exc))


@app.command("train")
@friendly_errors
def train(
    activate: bool = typer.Option(True, "--activate/--no-activate", help="训练完成后是否立即启用新版本"),
    background: bool = typer.Option(
        False, "--background", help="交给后台任务执行（wenming worker / wenming run），启用后自动重新分类已有报送"
    ),
) -> None:
    """用种子语料和全部人工更正训练一个新版本模型（人工更正权重更高）。"""
    if background:
        with unit_of_work() as session:
            queued = classifier_jobs.request_training(session, actor(), activate=activate)
        job = queued.job
        again = "（此前已排过，自上次训练以来没有新的人工更正）" if queued.duplicate else ""
        console.print(f"已排入后台任务 #{job.id}（{JobStatus.zh_of(job.status)}）{again}；进度：wenming status")
        return
    with console.status("正在训练模型……"):
        try:
            with unit_of_work() as session:
                info = classifier_service.train_version(session, actor(), settings(), activate=activate)
        except ValueError as exc:
            raise _user_errors(exc) from exc
    console.print(f"已生成模型版本 [bold]{info.version}[/bold]：训练样本 {info.examples} 条")
    console.print(f"其中人工更正 {info.corrections} 条")
    console.print(
        f"留出集 macro-F1 {info.heldout_macro_f1:.3f}，准确率 {info.heldout_accuracy:.3f}，"
        f"关键词基线 macro-F1 {info.baseline_macro_f1:.3f}"
    )
    if info.current:
        console.print("新版本已启用。如需回退：wenming classifier use <旧版本号>；然后运行 wenming reports reclassify")
    else:
        console.print(f"未启用。启用命令：wenming classifier use {info.version}")


@app.command("use")
@friendly_errors
def use(version: str = typer.Argument(..., help="版本号，如 v3；seed 表示随程序发布的种子模型")) -> None:
    """切换（或回退）到指定模型版本。"""
    try:
        with unit_of_work() as session:
            info = classifier_service.switch_version(session, actor(), settings(), version)
    except ValueError as exc:
        raise _user_errors(exc) from exc
    console.print(f"已切换到模型版本 {info.version}。已有报告需要重新分类时运行：wenming reports reclassify")


@app.command("versions")
@friendly_errors
def versions(fmt: Format = FORMAT_OPTION) -> None:
    """列出所有模型版本及其评测指标（时间为办公室时区）。"""
    with console.status("正在读取模型版本……"):
        infos = classifier_service.list_versions(settings())
    headers = ("当前", "版本", "类型", "创建时间", "训练样本", "人工更正", "留出集 macro-F1", "关键词基线")
    table = TableData("模型版本", [Column(h) for h in headers])
    for info in infos:
        table.add_row(
            "●" if info.current else "",
            info.version,
            "种子" if info.kind == "seed" else "训练",
            _local_time(info.created_at),
            str(info.examples),
            str(info.corrections),
            _fmt(info.heldout_macro_f1),
            _fmt(info.baseline_macro_f1),
        )
    emit(table, fmt, console)


def _local_time(value: str | None) -> str:
    """Artefacts store UTC ISO times; staff read the office's time zone, as in the console."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(settings().tz):%Y-%m-%d %H:%M}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@app.command("eval")
@friendly_errors
def evaluate(
    file: Path = typer.Argument(..., help='JSONL 文件，每行 {"text": …, "label": …}，可选 "alt" 备选正确类别'),
    version: str | None = typer.Option(None, "--version", help="评测指定版本（默认当前版本）"),
) -> None:
    """评测模型：准确率、macro-F1、各类别指标、混淆矩阵，并与关键词基线对比。"""
    try:
        model, baseline, used = classifier_service.evaluate_file(settings(), file, version)
    except ValueError as exc:
        raise _user_errors(exc) from exc
    console.print(f"模型版本 {used}，样本 {model.total} 条")
    _print_report("模型（规则 + 线性模型）", model)
    _print_report("关键词基线（仅规则）", baseline)
    verdict = "优于" if model.macro_f1 > baseline.macro_f1 else "未优于"
    console.print(f"模型 macro-F1 {model.macro_f1:.4f} {verdict}关键词基线 {baseline.macro_f1:.4f}")
    scores = f"macro_f1={model.macro_f1:.4f} accuracy={model.accuracy:.4f}"
    print(f"{scores} baseline_macro_f1={baseline.macro_f1:.4f}")


def _print_report(title: str, report: EvaluationReport) -> None:
    table = Table(title=f"{title}：准确率 {report.accuracy:.4f}，macro-F1 {report.macro_f1:.4f}")
    for column in ("类别", "精确率", "召回率", "F1", "样本数"):
        table.add_column(column)
    for m in report.per_label:
        table.add_row(
            f"{_ZH[m.label]}（{m.label}）",
            f"{m.precision:.3f}",
            f"{m.recall:.3f}",
            f"{m.f1:.3f}",
            str(m.support),
        )
    console.print(table)
    matrix = Table(title="混淆矩阵（行：标注，列：预测）")
    matrix.add_column("")
    for label in report.labels:
        matrix.add_column(_ZH[label])
    for label, row in zip(report.labels, report.confusion, strict=True):
        matrix.add_row(_ZH[label], *(str(n) for n in row))
    console.print(matrix)


@friendly_errors
def reclassify_command(
    report: list[int] | None = typer.Option(None, "--report", "-r", help="只重新分类这些报告编号（可重复）"),
    background: bool = typer.Option(False, "--background", help="分批交给后台任务执行（每批 200 条）"),
) -> None:
    """用当前模型重新分类报告（人工更正过的报告保持不变）。"""
    config = settings()
    if background:
        with unit_of_work() as session:
            jobs = classifier_jobs.request_reclassify(session, actor(), config, report)
        console.print(f"已排入后台任务 {len(jobs)} 个（每个至多 200 条报送）；进度：wenming status")
        return
    with unit_of_work() as session:
        total = len(repository.report_ids(session, report))
        with Progress(
            TextColumn("重新分类"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
        ) as bar:
            task = bar.add_task("reclassify", total=total)
            changed = classifier_service.reclassify_now(
                session, actor(), config, report, progress=lambda n: bar.advance(task, n)
            )
    console.print(f"完成：共 {total} 条报告，重新分类 {changed} 条，{total - changed} 条为人工更正保持不变")
