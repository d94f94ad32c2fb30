"""Benchmark photo OCR and the job queue, printing ratios against baselines measured in the same run.

    python bench/bench_ocr.py                       # OCR accuracy + photos/s, ingest with and without OCR queued
    python bench/bench_ocr.py --queue-url postgresql+psycopg://postgres@127.0.0.1:5432/DB --queue-jobs 1000

1. OCR on generated 1280×720 JPEGs with Chinese banners (blur, rotation, JPEG artefacts): banner lines read
   exactly, character accuracy, activity kind named by the banners, false banners on photos without one,
   and photos per second for one worker (one ONNX thread).
2. End-to-end ingest rate (messages/s through ``receive`` + ``assemble_pending``) without OCR and with an OCR
   job queued for every report: the cost that queueing adds to ingest.
3. With ``--queue-url`` (PostgreSQL): two worker processes drain ``--queue-jobs`` jobs; how many each took,
   whether any job ran twice, and jobs per second.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from classifier import service as classifier_service  # noqa: E402
from classifier.ocr import banners, engine, samples  # noqa: E402
from classifier.ocr import service as ocr_service  # noqa: E402
from ingest import service as ingest_service  # noqa: E402
from ingest.schemas import IncomingMessage, MediaContent  # noqa: E402
from wenming import schema  # noqa: E402
from wenming.db import create_db_engine, make_session_factory, transaction  # noqa: E402
from wenming.queue import service as queue_service  # noqa: E402
from wenming.queue.models import Job  # noqa: E402
from wenming.queue.worker import JobContext, Worker  # noqa: E402
from wenming.settings import Settings  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def bench_ocr(per_label: int, settings: Settings, *, hard: bool) -> None:
    photos = samples.generated_set(per_label, hard=hard)
    limits = ocr_service.limits_from(settings)
    ocr_engine = engine.get_engine(settings.ocr_threads)
    warm = samples.render("文明实践志愿服务", seed=0)[0]
    engine.read_image(engine.load_image(warm, limits), limits, ocr_engine)  # warm-up, not timed

    exact = kinds = false_banners = labelled = 0
    chars_wrong = chars_total = 0
    elapsed = 0.0
    misses: list[str] = []
    for sample in photos:
        started = time.perf_counter()
        result = engine.read_image(engine.load_image(sample.jpeg, limits), limits, ocr_engine)
        elapsed += time.perf_counter() - started
        flags = banners.banner_flags(banners.ImageLines(result.width, result.height, result.lines))
        chosen = [line.text for line, flag in zip(result.lines, flags, strict=True) if flag]
        kinds += (banners.kind_of(chosen) or "other") == sample.label
        # The photo as the only content of a post: does the classifier get its label, sure enough to skip review?
        verdict = classifier_service.classify_text(None, photo_count=1, extra_texts=chosen, settings=settings)
        if sample.banner is not None:
            labelled += verdict.label == sample.label and not verdict.needs_review
        if sample.banner is None:
            false_banners += bool(chosen)
            continue
        best = min(chosen or [""], key=lambda line: edit_distance(line, sample.banner or ""))
        chars_wrong += min(edit_distance(best, sample.banner), len(sample.banner))
        chars_total += len(sample.banner)
        exact += best == sample.banner
        if best != sample.banner:
            misses.append(f"    {sample.banner} → {best or '（未选出横幅）'}")
    with_banner = sum(sample.banner is not None for sample in photos)
    title = "困难组：横幅小、模糊 1.2–2.2、旋转 4–8°、JPEG 质量 25–45" if hard else "常规组：模糊 0–1.2、旋转 ±4°"
    print(f"OCR {title}；{len(photos)} 张 1280×720（{with_banner} 张有横幅，{len(photos) - with_banner} 张无横幅）")
    print(f"  横幅整行完全正确：{exact}/{with_banner} = {exact / with_banner:.1%}")
    print(f"  字符准确率：{1 - chars_wrong / chars_total:.2%}（{chars_total} 字）")
    print(f"  按横幅判断的活动类型正确：{kinds}/{len(photos)} = {kinds / len(photos):.1%}")
    print(f"  无横幅照片误选横幅：{false_banners}/{len(photos) - with_banner}")
    print(f"  作为只有照片的报送，按横幅分类正确且无需审核：{labelled}/{with_banner} = {labelled / with_banner:.1%}")
    print(f"  速度：每张 {elapsed / len(photos):.3f} s，单工作进程 {len(photos) / elapsed:.2f} 张/秒（ONNX 线程数 1）")
    for miss in misses:
        print(miss)


def _messages(reports: int, images: list[bytes]) -> list[IncomingMessage]:
    """Reports as units post them: one text then three photos, a few minutes apart, from many senders."""
    start = datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)
    messages = []
    for n in range(reports):
        at = start + timedelta(minutes=30 * n)
        sender = f"u{n % 40}"
        common = {"platform": "wechat", "group_id": "g1", "sender_id": sender, "sender_name": f"单位{n % 40}-联络员"}
        messages.append(IncomingMessage(**common, message_id=f"t{n}", sent_at=at, kind="text", text="今天的活动"))
        for k in range(3):
            data = images[(3 * n + k) % len(images)]
            messages.append(
                IncomingMessage(
                    **common,
                    message_id=f"p{n}-{k}",
                    sent_at=at + timedelta(minutes=k + 1),
                    kind="image",
                    media=MediaContent(data=data, original_name="IMG.jpg"),
                )
            )
    return messages


def _ingest_rate(messages: list[IncomingMessage], queue_ocr: bool, workdir: Path, name: str) -> tuple[float, int]:
    url = f"sqlite:///{workdir / f'{name}.db'}"
    schema.upgrade(url)
    settings = Settings(database_url=url, media_dir=workdir / f"media-{name}", _env_file=None)  # type: ignore[call-arg]
    factory = make_session_factory(create_db_engine(url))

    def hook(session, report) -> None:  # type: ignore[no-untyped-def]
        ocr_service.enqueue_ocr_for_report(session, report.id, settings)

    started = time.perf_counter()
    for offset in range(0, len(messages), 40):
        with transaction(factory) as session:
            for message in messages[offset : offset + 40]:
                ingest_service.receive(session, settings, message)
            ingest_service.assemble_pending(session, settings, on_report=hook if queue_ocr else None)
    elapsed = time.perf_counter() - started
    with transaction(factory) as session:
        jobs = session.scalar(select(func.count()).select_from(Job)) or 0
    return len(messages) / elapsed, jobs


def bench_ingest(reports: int) -> None:
    images = [samples.render(samples.BANNERS["pairing"][i % 4], seed=500 + i)[0] for i in range(3 * reports)]
    messages = _messages(reports, images)
    with tempfile.TemporaryDirectory() as tmp:
        _ingest_rate(messages[:20], True, Path(tmp), "warm-up")
        runs = [_ingest_rate(messages, queue, Path(tmp), f"{queue}-{n}") for n in range(2) for queue in (False, True)]
    base = max(rate for rate, jobs in runs[0::2])
    queued, jobs = max(runs[1::2])
    print(
        f"入库速度（SQLite，{reports} 条报送 = {len(messages)} 条消息，每条报送 1 文 3 图；两种方式交替各测两次取最好）"
    )
    print(f"  不识别：{base:.1f} 条/秒（基线）")
    print(f"  同时排入识别任务：{queued:.1f} 条/秒 = 基线的 {queued / base:.2f} 倍；排入任务 {jobs} 个")


def _queue_handler(ctx: JobContext) -> dict[str, str]:
    return {"worker": ctx.worker_id}


def _queue_worker(url: str, name: str) -> None:
    settings = Settings(database_url=url, queue_poll_seconds=0.05, _env_file=None)  # type: ignore[call-arg]
    db = create_db_engine(url)
    Worker(make_session_factory(db), settings, {"bench.noop": _queue_handler}, worker_id=name).run(burst=True)


def bench_queue(url: str, jobs: int) -> None:
    db = create_db_engine(url)
    schema.upgrade(url)
    factory = make_session_factory(db)
    with transaction(factory) as session:
        session.execute(text("DELETE FROM jobs WHERE kind = 'bench.noop'"))
        for n in range(jobs):
            queue_service.enqueue(session, "bench.noop", {"n": n})
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_queue_worker, args=(url, f"w{i + 1}")) for i in range(2)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    with transaction(factory) as session:
        rows = session.execute(
            select(Job.locked_by, Job.status, Job.attempts, func.count())
            .where(Job.kind == "bench.noop")
            .group_by(Job.locked_by, Job.status, Job.attempts)
        ).all()
        first, last = session.execute(
            select(func.min(Job.started_at), func.max(Job.finished_at)).where(Job.kind == "bench.noop")
        ).one()
        session.execute(text("DELETE FROM jobs WHERE kind = 'bench.noop'"))
    drain = (last - first).total_seconds()
    print(f"队列（PostgreSQL，2 个工作进程，{jobs} 个任务）")
    print(f"  清空用时 {drain:.2f} s（{jobs / drain:.0f} 个/秒）；含进程启动 {elapsed:.1f} s")
    for locked_by, status, attempts, count in sorted(rows):
        print(f"  {locked_by}: {count} 个，状态 {status}，尝试次数 {attempts}")
    twice = sum(count for _by, _status, attempts, count in rows if attempts != 1)
    print(f"  被执行多于一次的任务：{twice}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-label", type=int, default=5, help="每类生成多少张照片（另加同样多张无横幅）")
    parser.add_argument("--reports", type=int, default=40, help="入库测速用多少条报送")
    parser.add_argument("--queue-url", help="PostgreSQL 地址：测两个工作进程处理队列")
    parser.add_argument("--queue-jobs", type=int, default=1000)
    args = parser.parse_args()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    bench_ocr(args.per_label, settings, hard=False)
    bench_ocr(args.per_label, settings, hard=True)
    bench_ingest(args.reports)
    if args.queue_url:
        bench_queue(args.queue_url, args.queue_jobs)


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
