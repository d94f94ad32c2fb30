"""Finding 8: after a burst, assembly works in short bounded transactions, so deliveries are never locked out.

One transaction over every pending message held SQLite's write lock for minutes after 20,000 events; each
``assemble_pending`` call the sink makes is one transaction, so no call may take more than a batch.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import sink as sink_module
from bot.sink import IngestSink
from ingest.models import RawMessage, RawStatus
from tests.ingest.builders import T0, assembly_batches, message

BURST = 2 * sink_module.ASSEMBLY_BATCH + 20


def test_a_burst_is_assembled_in_bounded_transactions(
    sink: IngestSink, committed_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(BURST):
        text = f"第{i}次开展文明实践志愿服务活动" if i % 3 else "收到"
        sink.deliver_sync(message(sender=f"u{i % 7}", text=text, message_id=f"b{i}", at=T0 + timedelta(minutes=i)))
    batches = assembly_batches(monkeypatch)
    monkeypatch.setattr(sink_module, "SQLITE_ASSEMBLY_PAUSE_SECONDS", 0.0)
    sink.assemble_sync()

    assert sum(batches) == BURST
    assert max(batches) <= sink_module.ASSEMBLY_BATCH and len(batches) >= 3
    with committed_factory() as session:
        pending = select(func.count()).select_from(RawMessage).where(RawMessage.status == RawStatus.RECEIVED.value)
        assert session.scalar(pending) == 0
