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
from classifier.schemas import EvaluationReport, FullEvaluation
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
    if info.gate_reason:
        console.print(f"门槛：{info.gate_reason}")
    if info.current:
        console.print("新版本已启用。如需回退：wenming classifier use <旧版本号>；然后运行 wenming reports reclassify")
    else:
        console.print(f"未启用。确认要用它时：wenming classifier use {info.version}")


@app.command("use")
@friendly_errors
def use(
    version: str = typer.Argument(..., help="版本号，如 v3；seed 表示随程序发布的种子模型"),
    yes: bool = typer.Option(False, "--yes", "-y", help="不再询问，直接切换"),
    reason: str | None = typer.Option(None, "--reason", help="切换或回退的理由，记入审计日志"),
) -> None:
    """切换（或回退）到指定模型版本（需确认，记入审计日志）。"""
    config = settings()
    if not yes:
        try:
            info = next((v for v in classifier_service.list_versions(config) if v.version == version), None)
        except ValueError as exc:
            raise _user_errors(exc) from exc
        if info is None and version != "seed":
            raise UserError(f"模型版本 {version} 不存在，可用版本见：wenming classifier versions")
        if info is not None and info.gate_passed is False:
            console.print(f"注意：该版本未通过留出集门槛。{info.gate_reason}")
        if not typer.confirm(f"确定切换到模型版本 {version}？之后需要重新分类已有报送", default=False):
            console.print("已取消，未切换")
            raise typer.Exit(1)
    try:
        with unit_of_work() as session:
            info = classifier_service.switch_version(session, actor(), config, version, reason=reason)
    except ValueError as exc:
        raise _user_errors(exc) from exc
    console.print(f"已切换到模型版本 {info.version}。已有报告需要重新分类时运行：wenming reports reclassify")


@app.command("versions")
@friendly_errors
def versions(fmt: Format = FORMAT_OPTION) -> None:
    """列出所有模型版本及其留出集指标、待审核比例和门槛结论（时间为办公室时区）。"""
    with console.status("正在读取模型版本……"):
        infos = classifier_service.list_versions(settings())
    headers = ("当前", "版本", "创建时间", "样本/更正", "macro-F1", "基线", "待审核", "各类 F1", "门槛")
    table = TableData("模型版本（留出集指标）", [Column(h) for h in headers])
    for info in infos:
        table.add_row(
            "●" if info.current else "",
            info.version,
            _local_time(info.created_at) if info.created_at else "种子模型",
            f"{info.examples}/{info.corrections}",
            _fmt(info.heldout_macro_f1),
            _fmt(info.baseline_macro_f1),
            "-" if info.review_share is None else f"{info.review_share:.1%}",
            "，".join(f"{_ZH[label]} {f1:.3f}" for label, f1 in info.per_label_f1.items()) or "-",
            info.gate_reason or "-",
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
    file: Path | None = typer.Argument(
        None, help='JSONL 文件或目录，每行 {"text", "label", "alt"?, "genre"?, "batch"?}；默认为随程序发布的留出集'
    ),
    version: str | None = typer.Option(None, "--version", help="评测指定版本（默认当前版本）"),
) -> None:
    """评测模型：各类别指标、混淆矩阵、严格/宽松得分、各体裁准确率、最严重的 20 个错误，并与关键词基线对比。"""
    try:
        result = classifier_service.evaluate_path(settings(), file, version)
    except ValueError as exc:
        raise _user_errors(exc) from exc
    model, strict, baseline = result.model, result.strict, result.baseline
    console.print(f"模型版本 {result.version}，样本 {model.total} 条")
    _print_report("模型（规则 + 线性模型，备选类别也算对）", model, strict)
    _print_matrix(model)
    _print_report("关键词基线（仅规则）", baseline)
    _print_genres(result)
    _print_worst(result)
    console.print(
        f"严格得分（只认主类别）：macro-F1 {strict.macro_f1:.4f}，准确率 {strict.accuracy:.4f}；"
        f"宽松得分（备选类别也算对）：macro-F1 {model.macro_f1:.4f}，准确率 {model.accuracy:.4f}"
    )
    console.print(
        f"短文本（少于 20 字）{result.short_total} 条，判对 {result.short_correct} 条；"
        f"其中本是活动却被判为“其他”的 {result.short_to_other} 条"
    )
    console.print(
        f"审核阈值 {result.review_threshold:.2f}：{result.review_share:.1%} 需人工审核，"
        f"自动通过的 {result.accepted_precision:.1%} 正确"
    )
    verdict = "优于" if model.macro_f1 > baseline.macro_f1 else "未优于"
    console.print(f"模型 macro-F1 {model.macro_f1:.4f} {verdict}关键词基线 {baseline.macro_f1:.4f}")
    scores = f"macro_f1={model.macro_f1:.4f} accuracy={model.accuracy:.4f}"
    print(f"{scores} baseline_macro_f1={baseline.macro_f1:.4f}")


def _print_report(title: str, report: EvaluationReport, strict: EvaluationReport | None = None) -> None:
    table = Table(title=f"{title}：准确率 {report.accuracy:.4f}，macro-F1 {report.macro_f1:.4f}")
    columns = ["类别", "精确率", "召回率", "F1", "样本数"] + (["严格 F1"] if strict else [])
    for column in columns:
        table.add_column(column)
    strict_f1 = {m.label: m.f1 for m in strict.per_label} if strict else {}
    for m in report.per_label:
        cells = [f"{_ZH[m.label]}（{m.label}）", f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.f1:.3f}", str(m.support)]
        if strict:
            cells.append(f"{strict_f1.get(m.label, 0.0):.3f}")
        table.add_row(*cells)
    console.print(table)


def _print_matrix(report: EvaluationReport) -> None:
    matrix = Table(title="混淆矩阵（行：标注，列：预测）")
    matrix.add_column("")
    for label in report.labels:
        matrix.add_column(_ZH[label])
    for label, row in zip(report.labels, report.confusion, strict=True):
        matrix.add_row(_ZH[label], *(str(n) for n in row))
    console.print(matrix)


def _print_genres(result: FullEvaluation) -> None:
    table = Table(title="各体裁准确率")
    for column in ("体裁", "样本数", "正确", "准确率"):
        table.add_column(column)
    for g in result.genres:
        table.add_row(g.genre, str(g.total), str(g.correct), f"{g.accuracy:.3f}")
    console.print(table)


def _print_worst(result: FullEvaluation) -> None:
    table = Table(title=f"最严重的错误（模型最有把握的 {len(result.worst)} 个错答）")
    for column in ("置信度", "标注", "预测", "体裁", "文本"):
        table.add_column(column)
    for e in result.worst:
        gold = _ZH[e.label] + (f"/{_ZH[e.alt]}" if e.alt else "")
        text = e.text.replace("\n", " ")
        table.add_row(f"{e.confidence:.2f}", gold, _ZH[e.predicted], e.genre or "-", text[:60])
    console.print(table)


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
