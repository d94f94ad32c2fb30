"""A process killed between storing and assembling loses nothing, and re-running never duplicates."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest import service
from ingest.models import RawMessage, RawStatus, Report, ReportPhoto, Unit
from wenming import schema
from wenming.db import create_db_engine, make_session_factory, transaction
from wenming.settings import Settings

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import timedelta
    from ingest import service
    from tests.ingest.builders import T0, message, photo
    from wenming.db import create_db_engine, make_session_factory, transaction
    from wenming.settings import Settings

    url, media_dir, mode = sys.argv[1:4]
    settings = Settings(database_url=url, media_dir=media_dir, _env_file=None)
    factory = make_session_factory(create_db_engine(url))
    messages = []
    for i in range(4):
        at = T0 + timedelta(hours=i)
        messages.append(message(text=f"第{i}次文明实践活动", at=at, message_id=f"t{i}"))
        messages += [message(image=photo(10 * i + k), at=at + timedelta(minutes=k + 1), message_id=f"p{i}{k}")
                     for k in range(2)]
    with transaction(factory) as session:
        for msg in messages:
            service.receive(session, settings, msg)
    if mode == "after-store":
        os.kill(os.getpid(), signal.SIGKILL)
    def die(_session, _report):
        os.kill(os.getpid(), signal.SIGKILL)
    with transaction(factory) as session:
        service.assemble_pending(session, settings, on_report=die)
    """
)


@pytest.mark.parametrize("mode", ["after-store", "mid-assembly"])
def test_sigkill_loses_nothing_and_rerun_does_not_duplicate(fresh_database_url: str, tmp_path: Path, mode: str) -> None:
    schema.upgrade(fresh_database_url)
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, fresh_database_url, str(tmp_path / "media"), mode],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr

    settings = Settings(database_url=fresh_database_url, media_dir=tmp_path / "media", _env_file=None)  # type: ignore[call-arg]
    engine = create_db_engine(fresh_database_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 12
        assert session.scalar(select(func.count()).select_from(Report)) == 0
        session.add(Unit(name="长兴县市场监督管理局", aliases=["县市场监管局"]))
    for _ in range(2):
        with transaction(factory) as session:
            service.assemble_pending(session, settings)
    with transaction(factory) as session:
        statuses = session.scalars(select(RawMessage.status)).all()
        assert set(statuses) == {RawStatus.ASSEMBLED}
        reports = session.scalars(select(Report).order_by(Report.first_message_at)).all()
        assert [(r.text, r.photo_count) for r in reports] == [(f"第{i}次文明实践活动", 2) for i in range(4)]
        assert session.scalar(select(func.count()).select_from(ReportPhoto)) == 8
    engine.dispose()
