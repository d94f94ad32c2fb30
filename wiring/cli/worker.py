"""``wenming worker`` runs background jobs; ``wenming status`` shows the backlog and failures."""

from __future__ import annotations

import multiprocessing
import signal

import typer
from rich.table import Table

from classifier.ocr import engine as ocr_engine
from classifier.ocr import service as ocr_service
from classifier.ocr.models import MediaTextStatus
from classifier.ocr.service import OCR_REPORT_JOB
from wenming.queue import service as queue_service
from wenming.queue.models import JobKind, JobStatus
from wenming.queue.worker import Worker
from wiring.cli.common import (
    UserError,
    actor,
    console,
    friendly_errors,
    reading,
    session_factory,
    settings,
    unit_of_work,
)
from wiring.handlers import default_handlers

jobs_app = typer.Typer(help="后台任务管理：重试失败任务、清理已完成任务", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Attach ``worker``, ``status`` and ``jobs`` to the root command."""
    app.command("worker")(worker)
    app.command("status")(status)
    app.add_typer(jobs_app, name="jobs")


def _run_one_worker(burst: bool, kinds: list[str] | None) -> None:
    """Body of one worker process: engine and handlers (OCR model included) are loaded once, here."""
    if settings().ocr_enabled and (not kinds or OCR_REPORT_JOB in kinds):
        ocr_engine.get_engine(settings().ocr_threads)
    worker = Worker(session_factory(), settings(), default_handlers(), kinds=kinds or None)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    stats = worker.run(burst=burst)
    console.print(
        f"工作进程 {worker.worker_id} 退出：完成 {stats.done}，待重试 {stats.retried}，"
        f"失败 {stats.dead}，租约丢失 {stats.lost}，回收中断任务 {stats.reaped}"
    )


@friendly_errors
def worker(
    processes: int = typer.Option(1, "--processes", "-n", min=1, max=32, help="工作进程数（SQLite 只能为 1）"),
    burst: bool = typer.Option(False, "--burst", help="队列清空后退出（默认持续等待新任务）"),
    kind: list[str] = typer.Option([], "--kind", help="只处理这些任务类型（可重复）"),
) -> None:
    """运行后台任务工作进程（图片文字识别等）。"""
    session_factory()  # refuse an un-migrated database before starting anything
    if processes > 1 and settings().database_url.startswith("sqlite"):
        raise UserError("SQLite 数据库只支持一个工作进程；多进程请使用 PostgreSQL")
    console.print(f"启动 {processes} 个工作进程{'（清空队列后退出）' if burst else '（Ctrl-C 停止）'}")
    if processes == 1:
        _run_one_worker(burst, kind)
        return
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_run_one_worker, args=(burst, kind)) for _ in range(processes)]
    for child in children:
        child.start()
    try:
        for child in children:
            child.join()
    except KeyboardInterrupt:
        for child in children:
            child.terminate()
            child.join()


@friendly_errors
def status(dead: int = typer.Option(10, "--dead", min=0, help="显示最近多少条失败任务")) -> None:
    """显示后台任务队列：排队、执行中、完成、失败数量及失败原因。"""
    with reading() as session:
        current = queue_service.queue_status(session, dead_limit=dead)
        ocr = ocr_service.ocr_summary(session)
    table = Table(title="后台任务队列")
    table.add_column("任务类型")
    for state in JobStatus:
        table.add_column(state.zh, justify="right")
    for kind, counts in current.by_kind.items():
        table.add_row(f"{JobKind.zh_of(kind)}（{kind}）", *(str(counts.get(state.value, 0)) for state in JobStatus))
    console.print(table)
    console.print(f"待处理：{current.backlog}；失败：{current.total(JobStatus.DEAD)}")
    if current.oldest_due_at is not None:
        local = current.oldest_due_at.astimezone(settings().tz)
        console.print(f"最早到期未处理的任务：{local:%Y-%m-%d %H:%M:%S}")
    media = "，".join(f"{MediaTextStatus.zh_of(k)} {v} 张" for k, v in sorted(ocr.media_by_status.items())) or "无"
    switch = "开启" if settings().ocr_enabled else "关闭"
    console.print(
        f"图片文字识别（{switch}）：{media}；识别出 {ocr.lines} 行文字；"
        f"{ocr.banner_reports} 条报送读到横幅，其中 {ocr.disagreeing_reports} 条文字与照片的活动类型不一致"
    )
    for job in current.dead:
        when = f"{job.finished_at.astimezone(settings().tz):%m-%d %H:%M}" if job.finished_at else "时间未知"
        first_line = (job.error or "无").splitlines()[0]
        what = f"#{job.id} {JobKind.zh_of(job.kind)}（尝试 {job.attempts} 次，{when}）"
        console.print(f"[red]失败[/red] {what}：{first_line}")


@jobs_app.command("retry")
@friendly_errors
def retry(job_id: int | None = typer.Argument(None, help="任务编号；省略则重试全部失败任务")) -> None:
    """把已失败的任务重新放回队列。"""
    with unit_of_work() as session:
        ids = queue_service.retry(session, actor(), job_id)
    console.print(f"已重新排队 {len(ids)} 个任务" + (f"：{', '.join(map(str, ids))}" if ids else ""))


@jobs_app.command("ocr-backlog")
@friendly_errors
def ocr_backlog(limit: int | None = typer.Option(None, "--limit", min=1, help="最多排入多少条报送")) -> None:
    """为尚未识别图片文字的历史报送排入识别任务。"""
    if not settings().ocr_enabled:
        raise UserError("图片文字识别已关闭（WENMING_OCR_ENABLED=false）")
    with unit_of_work() as session:
        queued = ocr_service.request_backlog(session, actor(), settings(), limit=limit)
    console.print(f"已为 {queued} 条报送排入图片文字识别任务；运行 wenming worker 处理")


@jobs_app.command("prune")
@friendly_errors
def prune(days: int = typer.Option(30, "--days", min=1, help="删除多少天前已完成的任务")) -> None:
    """清理早已完成的任务记录。"""
    with unit_of_work() as session:
        removed = queue_service.prune(session, actor(), days)
    console.print(f"已删除 {removed} 条已完成任务记录")
