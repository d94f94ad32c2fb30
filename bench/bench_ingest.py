"""Replay throughput: the demo file and a generated file, against the compute floor and a bare INSERT.

    WENMING_DATABASE_URL=... .venv/bin/python bench/bench_ingest.py [--messages 10000]

Runs on the backend ``WENMING_DATABASE_URL`` names (default SQLite) but never touches its data: PostgreSQL gets a
throw-away schema in that database, SQLite a throw-away file in a temporary directory. Each measurement starts from an
empty, migrated database; the replay and the compute floor are measured ``--repeat`` times, alternately, and the
table gives their medians. Two baselines are measured in the same run: the compute floor (classifying every text and
decoding + pHashing every image of the same messages, in process, no database; goal ≥ 0.5×) and a bare
``executemany`` INSERT of the same rows into ``raw_messages``. The table also gives the SQL statements the replay
sent per message (cursor executions counted by an engine event listener). The growth line compares the replay rate
of the first and the last ``--window`` messages of the generated file (flat = cost does not grow with history).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from sqlalchemy import event, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from classifier import pipeline  # noqa: E402
from ingest import unit_import  # noqa: E402
from ingest.models import RawMessage, RawStatus  # noqa: E402
from wenming import schema  # noqa: E402
from wenming.db import create_db_engine, make_session_factory, transaction  # noqa: E402
from wenming.settings import Settings, get_settings  # noqa: E402
from wiring.replay import replay_file  # noqa: E402

_spec = importlib.util.spec_from_file_location("demo_generate", REPO / "demo" / "generate.py")
assert _spec is not None and _spec.loader is not None
demo_generator = sys.modules["demo_generate"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_generator)

DEMO = REPO / "demo" / "data"
BATCH = 500


@contextmanager
def scratch_database(base_url: str, workdir: Path) -> Iterator[str]:
    """An empty database of the same backend: a temporary PostgreSQL schema, or a new SQLite file."""
    url = make_url(base_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{workdir / f'bench_{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def baseline_rows(path: Path) -> list[dict[str, object]]:
    """The raw_messages rows the pipeline would store for each line, without any of its work."""
    now = datetime.now(UTC)
    rows = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(raw)
        rows.append(
            {
                "platform": data["platform"],
                "group_id": None,
                "sender_id": None,
                "platform_message_id": data.get("message_id"),
                "sent_at": datetime.fromisoformat(data["sent_at"]),
                "kind": data["kind"],
                "text": data.get("text"),
                "media_ref": data.get("image_name"),
                "payload": data.get("payload", {}),
                "received_at": now,
                "status": RawStatus.RECEIVED.value,
            }
        )
    return rows


def measure_baseline(url: str, path: Path) -> float:
    """Messages per second of a bare batched executemany INSERT into an empty raw_messages table."""
    rows = baseline_rows(path)
    schema.upgrade(url)
    engine = create_db_engine(url)
    statement = insert(RawMessage.__table__)
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        with engine.begin() as conn:
            conn.execute(statement, rows[start : start + BATCH])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len(rows) / elapsed


def measure_floor(path: Path, settings: Settings) -> float:
    """Messages per second of the work no database can save: classify each text, decode and pHash each image."""
    classifier_service = importlib.import_module("classifier.service")
    from ingest import media as media_store
    from ingest import replay as jsonl

    lines = list(jsonl.read_jsonl(path, max_image_bytes=settings.max_image_bytes))
    classifier_service.classify_text("预热")
    started = time.perf_counter()
    for line in lines:
        message = line.message or {}
        if message.get("media"):
            with contextlib.suppress(media_store.MediaError):
                media_store.inspect_image(message["media"]["data"], settings)
        elif message.get("text"):
            classifier_service.classify_text(message["text"])
    return len(lines) / (time.perf_counter() - started)


def measure_pipeline(
    url: str, path: Path, media_dir: Path, classify: str, window: int
) -> tuple[float, int, int, float, float, int]:
    """Messages per second of ``wenming ingest replay`` (store, commit, assemble, commit) on an empty database.

    Also counts the SQL statements the replay sends (one per cursor execute; an executemany counts once).
    """
    schema.upgrade(url)
    settings = Settings(
        database_url=url,
        media_dir=media_dir,
        data_dir=media_dir.parent / "data",
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        unit_import.import_units_file(session, DEMO / "units.csv")
    hooks = {
        "now": lambda: pipeline.report_hook(settings, read_photos=False),
        "later": lambda: pipeline.DeferredClassification(settings, read_photos=False),
        "off": lambda: None,
    }
    hook = hooks[classify]()
    if hook is not None:  # build/load the model before the clock starts: a one-off cost, not throughput
        importlib.import_module("classifier.service").active_predictor(settings)
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_: object) -> None:
        statements[0] += 1

    marks: list[tuple[int, float]] = [(0, time.perf_counter())]

    def progress(done: int) -> None:
        marks.append((marks[-1][0] + done, time.perf_counter()))

    summary = replay_file(factory, settings, path, batch_size=BATCH, on_report=hook, progress=progress)
    engine.dispose()
    return summary.rate, summary.lines, summary.reports_created, *_first_and_last(marks, window), statements[0]


def _first_and_last(marks: list[tuple[int, float]], window: int) -> tuple[float, float]:
    """Replay rate over the first and the last ``window`` messages (batch boundaries nearest to them)."""
    total = marks[-1][0]
    first = next(m for m in marks if m[0] >= min(window, total))
    last = next(m for m in reversed(marks) if m[0] <= max(total - window, 0))
    first_rate = first[0] / (first[1] - marks[0][1])
    last_rate = (total - last[0]) / (marks[-1][1] - last[1])
    return first_rate, last_rate


def make_big_file(folder: Path, messages: int) -> Path:
    """A generated file of exactly ``messages`` lines: the demo traffic scaled up, photos from a pool of 300."""
    scale = max(1, -(-messages // 2500))
    count = demo_generator.generate(folder, seed=demo_generator.SEED + 1, scale=scale, photo_pool=300, limit=messages)
    while count < messages:
        scale += max(1, scale // 4)
        count = demo_generator.generate(
            folder, seed=demo_generator.SEED + 1, scale=scale, photo_pool=300, limit=messages
        )
    return folder / "messages.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description="回放吞吐量基准：演示数据与生成的 10 万条消息")
    parser.add_argument("--messages", type=int, default=10_000, help="生成文件的消息条数")
    parser.add_argument("--window", type=int, default=0, help="首尾各多少条比较速度（默认 1 万条，不超过五分之一）")
    parser.add_argument("--repeat", type=int, default=3, help="每项测几次取中位数（下限与回放交替测量）")
    parser.add_argument("--no-classifier", action="store_true", help="不调用分类模块（即使已安装）")
    parser.add_argument(
        "--classify-later", action="store_true", help="分类交给后台任务（wenming ingest replay --classify-later）"
    )
    args = parser.parse_args()
    base_url = get_settings().database_url
    backend = make_url(base_url).get_backend_name()
    classify = "off" if args.no_classifier else "later" if args.classify_later else "now"
    with tempfile.TemporaryDirectory(prefix="wenming-bench-") as tmp:
        work = Path(tmp)
        modes = {"now": "入库时分类", "later": "分类排入后台任务", "off": "不分类"}
        print(f"数据库后端：{backend}；分类：{modes[classify]}")
        started = time.perf_counter()
        big = make_big_file(work / "big", args.messages)
        print(f"已生成 {args.messages} 条消息（{time.perf_counter() - started:.0f} 秒）：{big}")
        window = args.window or min(10_000, args.messages // 5)
        floor_settings = Settings(media_dir=work / "floor", data_dir=work / "floor", _env_file=None)  # type: ignore[call-arg]
        results = []
        for label, path in [("演示数据", DEMO / "messages.jsonl"), (f"生成数据 {args.messages:,} 条", big)]:
            floors, runs = [], []
            for attempt in range(args.repeat):  # alternated, so a slow spell of the machine hits both sides
                floors.append(measure_floor(path, floor_settings))
                with scratch_database(base_url, work) as url:
                    runs.append(measure_pipeline(url, path, work / f"media_{len(results)}_{attempt}", classify, window))
            with scratch_database(base_url, work) as url:
                baseline = measure_baseline(url, path)
            floor = statistics.median(floors)
            rate, lines, reports, first, last, statements = sorted(runs)[len(runs) // 2]  # the median run
            results.append((label, lines, reports, rate, floor, baseline, statements / lines, first, last))
            spread = "、".join(f"{r[0]:,.0f}/{f:,.0f}" for r, f in zip(runs, floors, strict=True))
            print(f"{label}：{lines} 条，回放/下限 {spread} 条/秒；中位数比值 {rate / floor:.2f}×")
    print()
    head = "| 消息数 | 报送数 | 回放 条/秒 | 计算下限 条/秒 | 比值（目标 ≥ 0.5×） | 裸 INSERT 条/秒 | SQL 语句/条 |"
    print(f"| {backend} {head}")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, lines, reports, rate, floor, baseline, per_message, *_ in results:
        print(
            f"| {label} | {lines} | {reports} | {rate:,.0f} | {floor:,.0f} | {rate / floor:.2f}× | {baseline:,.0f} "
            f"| {per_message:.1f} |"
        )
    label, *_, first, last = results[-1]
    growth = f"前 {window:,} 条 {first:,.0f} 条/秒，后 {window:,} 条 {last:,.0f} 条/秒，后/前 {last / first:.2f}"
    print(f"\n增长（{label}）：{growth}")


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
