"""A burst of events on the live path (issue 16, finding 8): deliveries keep flowing while assembly catches up.

    WENMING_DATABASE_URL=... .venv/bin/python bench/bench_burst.py [--events 20000]

One thread delivers every event through the bot's sink (one short transaction each, as the adapters do) as fast
as it can; another runs the sink's assembly tick every ``--tick`` seconds, as ``wenming run`` does. Printed: the
delivery rate, the longest single delivery (goal: no writer waits more than 1 s), how many went to the spool
("database is locked" or an outage), and when the last event was assembled — the drain rate against the delivery
rate measured in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from bench_ingest import DEMO, make_big_file, scratch_database
from sqlalchemy import func, select

from bot.sink import IngestSink
from ingest import replay as jsonl
from ingest import unit_import
from ingest.models import RawMessage, RawStatus
from wenming import schema
from wenming.db import create_db_engine, make_session_factory, transaction
from wenming.settings import Settings, get_settings


def _pending(factory: object) -> int:
    with factory() as session:  # type: ignore[operator]
        query = select(func.count()).select_from(RawMessage).where(RawMessage.status == RawStatus.RECEIVED.value)
        return int(session.scalar(query) or 0)


def run(url: str, path: Path, work: Path, tick: float) -> None:
    schema.upgrade(url)
    settings = Settings(database_url=url, media_dir=work / "media", data_dir=work / "data", _env_file=None)  # type: ignore[call-arg]
    factory = make_session_factory(create_db_engine(url))
    with transaction(factory) as session:
        unit_import.import_units_file(session, DEMO / "units.csv")
    sink = IngestSink(factory, settings)
    lines = [line for line in jsonl.read_jsonl(path, max_image_bytes=settings.max_image_bytes) if line.message]
    from ingest.schemas import IncomingMessage

    messages = [IncomingMessage.model_validate(line.message) for line in lines]
    sink.assemble_sync()  # classifier loaded before the clock starts
    waits: list[float] = []
    spooled = 0
    delivering = threading.Event()
    delivering.set()

    def deliver() -> None:
        nonlocal spooled
        for message in messages:
            t0 = time.perf_counter()
            spooled += sink.deliver_sync(message).spooled
            waits.append(time.perf_counter() - t0)
        delivering.clear()

    started = time.perf_counter()
    thread = threading.Thread(target=deliver)
    thread.start()
    ticks = 0
    while delivering.is_set() or _pending(factory):
        time.sleep(tick)
        sink.assemble_sync()
        ticks += 1
    thread.join()
    drained = time.perf_counter() - started
    delivered = sum(waits)
    slow = sum(w > 1 for w in waits)
    rate = len(messages) / delivered
    print(f"{len(messages):,} 条事件：逐条入库 {rate:,.0f} 条/秒（单条最长等待 {max(waits):.2f} 秒，", end="")
    print(f"第 {waits.index(max(waits)) + 1} 条；超过 1 秒 {slow} 条，进入暂存区 {spooled} 条）")
    print(
        f"全部整理完成 {drained:.0f} 秒（{ticks} 次整理）：{len(messages) / drained:,.0f} 条/秒，"
        f"为入库速度的 {(len(messages) / drained) / (len(messages) / delivered):.2f}×"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--tick", type=float, default=2.0, help="整理间隔秒数（wenming run 的 bot_assemble_interval）")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wenming-burst-") as tmp:
        work = Path(tmp)
        path = make_big_file(work / "burst", args.events)
        with scratch_database(get_settings().database_url, work) as url:
            run(url, path, work, args.tick)


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
