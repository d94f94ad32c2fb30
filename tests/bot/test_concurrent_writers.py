"""What `wenming run` does at once on one database: the bot stores messages while the OCR worker reads photos.

On SQLite a transaction that read and then wrote used to fail with "database is locked" whenever the other
side committed in between: OCR jobs were retried and live messages went to the spool. Neither may happen.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.sink import IngestSink
from classifier.ocr import engine
from classifier.ocr import service as ocr_service
from classifier.ocr.models import MediaText, MediaTextStatus
from ingest.models import RawMessage, Report
from tests.ingest.builders import T0, message, photo
from wenming.db import transaction
from wenming.queue.worker import start_in_thread, wait_until_idle
from wenming.settings import Settings
from wiring.handlers import default_handlers

REPORTS = 6
LIVE_MESSAGES = 40


def _slow_reading(_settings: Settings, media: ocr_service.PhotoToRead, _engine: object) -> ocr_service._Reading:
    """Inference takes a while and finds no text; meanwhile the bot keeps writing."""
    time.sleep(0.15)
    return ocr_service._Reading(media.id, MediaTextStatus.READ, result=engine.OcrResult(320, 240))


def test_bot_and_ocr_worker_write_the_same_database_without_locking_each_other_out(
    sink: IngestSink, committed_factory: sessionmaker[Session], live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "get_engine", lambda *_: object())
    monkeypatch.setattr(ocr_service, "read_media", _slow_reading)
    for n in range(REPORTS):
        at = T0 + timedelta(hours=n)
        for k in range(3):
            sink.deliver_sync(message(sender=f"s{n}", image=photo(100 * n + k), at=at + timedelta(seconds=k)))
    sink.assemble_sync()
    with transaction(committed_factory) as session:
        report_ids = session.scalars(select(Report.id)).all()
        for report_id in report_ids:
            ocr_service.enqueue_ocr_for_report(session, report_id, live_settings)
    assert len(report_ids) == REPORTS

    worker, thread = start_in_thread(committed_factory, live_settings, default_handlers())
    spooled = 0
    try:
        for n in range(LIVE_MESSAGES):
            text = f"第{n}条：志愿者在社区开展文明实践活动"
            delivery = sink.deliver_sync(message(sender="live", text=text, at=T0 + timedelta(days=1, minutes=n)))
            spooled += delivery.spooled
            if n % 10 == 9:
                sink.assemble_sync()
            time.sleep(0.02)
        assert wait_until_idle(committed_factory, timeout=60)
    finally:
        worker.stop()
        thread.join(30)

    assert spooled == 0 and not sink.spool.pending()
    assert (worker.stats.done, worker.stats.retried, worker.stats.dead) == (REPORTS, 0, 0)
    with committed_factory() as session:
        assert session.scalar(select(func.count()).select_from(MediaText)) == REPORTS * 3
        assert session.scalar(select(func.count()).select_from(RawMessage)) == REPORTS * 3 + LIVE_MESSAGES
