"""Assembly cost alone: statements and milliseconds per assembled message, first and last window of a replay.

    WENMING_DATABASE_URL=... .venv/bin/python bench/bench_assembly.py [--messages 10000] [--profile out.prof]

Replays a generated file (classification off) on a throw-away database of the ``WENMING_DATABASE_URL`` backend, and
times only ``ingest.service.assemble_pending`` — the part ``ingest.assembly`` owns — counting the SQL statements it
sends (an ``executemany`` counts once). The baseline in the same run is the whole replay's per-message time, so the
share assembly takes is printed beside it; ``--profile`` writes a cProfile of the assembly calls.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import DEMO, make_big_file, scratch_database
from sqlalchemy import event
from sqlalchemy.engine import make_url

from ingest import service as ingest_service
from ingest import unit_import
from wenming import schema
from wenming.db import create_db_engine, make_session_factory, transaction
from wenming.settings import Settings, get_settings
from wiring.replay import replay_file

SHAPES: dict[str, int] = {}


def measure(url: str, path: Path, media_dir: Path, profiler: cProfile.Profile | None) -> list[tuple[int, int, float]]:
    """(messages, statements, seconds) of every assembly call of one replay."""
    schema.upgrade(url)
    settings = Settings(database_url=url, media_dir=media_dir, data_dir=media_dir.parent / "data", _env_file=None)  # type: ignore[call-arg]
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        unit_import.import_units_file(session, DEMO / "units.csv")
    statements = [0]
    active = [False]

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        statements[0] += 1
        if active[0]:
            shape = " ".join(sql.split())[:90]
            SHAPES[shape] = SHAPES.get(shape, 0) + 1

    calls: list[tuple[int, int, float]] = []
    original = ingest_service.assemble_pending

    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        before, started = statements[0], time.perf_counter()
        active[0] = True
        if profiler is not None:
            profiler.enable()
        try:
            stats = original(*args, **kwargs)
        finally:
            active[0] = False
            if profiler is not None:
                profiler.disable()
        calls.append((stats.processed, statements[0] - before, time.perf_counter() - started))
        return stats

    ingest_service.assemble_pending = timed
    try:
        started = time.perf_counter()
        summary = replay_file(factory, settings, path, batch_size=500, on_report=None)
        total = time.perf_counter() - started
    finally:
        ingest_service.assemble_pending = original
        engine.dispose()
    print(f"  回放 {summary.lines} 条，{summary.reports_created} 个报送，整体 {summary.lines / total:,.0f} 条/秒")
    return calls


def _line(label: str, calls: list[tuple[int, int, float]]) -> str:
    messages = sum(c[0] for c in calls) or 1
    statements = sum(c[1] for c in calls)
    seconds = sum(c[2] for c in calls)
    return (
        f"{label}：{messages} 条，{statements / messages:.2f} 条语句/条，{seconds * 1000 / messages:.2f} ms/条，"
        f"{messages / seconds:,.0f} 条/秒"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="组装（assembly）单独计时：每条消息的语句数和毫秒数")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--window", type=int, default=0, help="首尾各多少条（默认五分之一）")
    parser.add_argument("--profile", type=Path, help="把组装部分的 cProfile 写到这个文件")
    parser.add_argument("--statements", action="store_true", help="列出组装发出的语句（按形状计数）")
    args = parser.parse_args()
    base_url = get_settings().database_url
    print(f"数据库后端：{make_url(base_url).get_backend_name()}")
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="wenming-bench-") as tmp:
        work = Path(tmp)
        big = make_big_file(work / "big", args.messages)
        with scratch_database(base_url, work) as url:
            calls = measure(url, big, work / "media", profiler)
    window = args.window or args.messages // 5
    print(_line("全部", calls))
    first, last, done = [], [], 0
    for call in calls:
        if done < window:
            first.append(call)
        done += call[0]
        if done > args.messages - window:
            last.append(call)
    print(_line(f"前 {window:,} 条", first))
    print(_line(f"后 {window:,} 条", last))
    if profiler is not None:
        profiler.dump_stats(args.profile)
    if args.statements:
        for shape, count in sorted(SHAPES.items(), key=lambda item: -item[1])[:25]:
            print(f"{count:7d}  {shape}")


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
