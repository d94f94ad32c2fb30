"""Two assemblies at once (an agent's batch, the live loop, an import) never build the same report twice: the second
waits until the first has committed, then finds nothing left to assemble."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ingest import service as ingest_service
from ingest.models import Report, Unit
from tests.ingest.builders import T0, message
from wenming.db import transaction
from wenming.settings import Settings


def test_a_second_assembly_waits_for_the_first_and_duplicates_nothing(
    committed_factory: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(committed_factory) as session:
        session.add(Unit(name="长兴县市场监督管理局", aliases=["县市场监管局"], honour_level="county"))
        for i in range(6):
            ingest_service.receive(
                session, settings, message(sender=f"u{i}", at=T0 + timedelta(hours=i), text=f"第{i}次开展志愿服务活动")
            )
    first = committed_factory()
    stats = ingest_service.assemble_pending(first, settings)  # holds the assembly lock until it commits
    assert stats.reports_created == 6
    second: dict[str, object] = {}

    def run_second() -> None:
        with transaction(committed_factory) as session:
            second["stats"] = ingest_service.assemble_pending(session, settings)

    worker = threading.Thread(target=run_second)
    worker.start()
    worker.join(timeout=1.0)
    assert worker.is_alive()  # blocked behind the first, not reading the same received messages
    first.commit()
    first.close()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert second["stats"].processed == 0  # type: ignore[attr-defined]
    with committed_factory() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 6
