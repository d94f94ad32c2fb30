"""``wenming ingest``: feed recorded group traffic through the pipeline."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from classifier import pipeline
from classifier import service as classifier_service
from ingest.replay import count_lines
from wenming.settings import Settings
from wiring.cli.common import UserError, console, friendly_errors, session_factory, settings
from wiring.replay import ReplaySummary, replay_file

app = typer.Typer(help="消息采集：回放已记录的群消息", no_args_is_help=True)

ERRORS_SHOWN = 10


def run_replay(path: Path, batch_size: int, out: Console, *, classify_later: bool = False) -> ReplaySummary:
    """Replay one file with a progress bar; shared by ``ingest replay`` and ``demo``."""
    if not path.is_file():
        raise UserError(f"找不到文件：{path}")
    if batch_size < 1:
        raise UserError("--batch 必须是正整数")
    factory = session_factory()
    config = settings()
    hook = pipeline.DeferredClassification(config) if classify_later else pipeline.report_hook(config)
    if not classify_later:
        _load_model(config, out)
    total = count_lines(path)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("条"),
        TimeElapsedColumn(),
        TextColumn("剩余"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=out, transient=False) as progress:
        task = progress.add_task(f"回放 {path.name}", total=total)
        summary = replay_file(
            factory,
            config,
            path,
            batch_size=batch_size,
            on_report=hook,
            progress=lambda n: progress.advance(task, n),
        )
    return summary


def _load_model(config: Settings, out: Console) -> None:
    """Load (on a fresh data dir: train) the classifier before the clock starts, so the rate is the replay's."""
    with out.status("准备分类模型（首次运行时先训练种子模型，约需十秒）"):
        version = classifier_service.active_predictor(config).version
    out.print(f"分类模型 {version} 已就绪")


def render_summary(summary: ReplaySummary, out: Console) -> None:
    """The closing summary: what was stored, skipped, rejected and assembled."""
    table = Table(title="回放结果", show_header=False)
    table.add_column("项目")
    table.add_column("数量", justify="right")
    for label, value in [
        ("读取消息", summary.lines),
        ("新存入", summary.stored),
        ("重复（已存在，跳过）", summary.duplicates),
        ("有误（已保留原文待查）", summary.rejected),
        ("本次组装的消息", summary.assembled),
        ("新建报送", summary.reports_created),
        ("补充到已有报送", summary.reports_updated),
        ("留作消息（应答、致谢、提问、表情包、匿名等，不计入报送）", summary.chatter),
        ("不成报送（系统、工作人员、撤回等）", summary.ignored),
        ("未归属单位的报送", summary.unassigned),
        ("被撤回的报送（发送者撤回，不计分）", summary.withdrawn),
    ]:
        table.add_row(label, str(value))
    table.add_row("用时", f"{summary.seconds:.1f} 秒（{summary.rate:,.0f} 条/秒）")
    out.print(table)
    for line_no, error in summary.errors[:ERRORS_SHOWN]:
        prefix = "" if error.startswith(f"第 {line_no} 行") else f"第 {line_no} 行："
        out.print(f"[red]有误[/red] {prefix}{error}")
    if summary.rejected > ERRORS_SHOWN:
        out.print(f"……另有 {summary.rejected - ERRORS_SHOWN} 条有误的消息，原文已保存在数据库中。")


@app.command("replay")
@friendly_errors
def replay(
    file: Path = typer.Argument(..., help="规范化消息 JSONL 文件（格式见 docs/formats.md）"),
    batch: int = typer.Option(500, "--batch", help="每批提交的消息条数"),
    classify_later: bool = typer.Option(
        False, "--classify-later", help="先入库，分类交给后台任务（大批历史数据时更快；需运行 wenming worker）"
    ),
) -> None:
    """回放 JSONL 消息文件：先保存原始消息，再组装报送、识别单位；可重复运行，不会重复入库。"""
    summary = run_replay(file, batch, console, classify_later=classify_later)
    render_summary(summary, console)
    if classify_later:
        console.print("分类已排入后台任务：运行 wenming worker（或 wenming run）处理，进度见 wenming status")
