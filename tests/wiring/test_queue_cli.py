"""The commands staff use: ``wenming status``, ``wenming jobs ...`` and ``wenming worker --burst``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from classifier.ocr.models import MediaText, ReportPhotoEvidence
from tests.classifier.ocr_support import feed_report
from tests.ingest.builders import photo
from tests.support import cli_settings
from wenming import schema
from wenming.db import create_db_engine, make_session_factory, transaction
from wenming.queue import repository
from wenming.queue import service as queue_service
from wenming.queue.models import Job
from wenming.settings import Settings, get_settings
from wiring.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli_db(fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    schema.upgrade(fresh_database_url)
    db = create_db_engine(fresh_database_url)
    with cli_settings(
        monkeypatch, database_url=fresh_database_url, media_dir=tmp_path / "media", queue_poll_seconds="0.05"
    ):
        yield make_session_factory(db)
    db.dispose()


def test_status_backlog_worker_and_retry(cli_db: sessionmaker[Session]) -> None:
    settings = get_settings()
    with transaction(cli_db) as session:
        report = feed_report(session, settings, photo(71), text="今天的活动")
        dead = queue_service.enqueue(session, "retrain.model", {}, max_attempts=1)
        claimed = repository.claim(session, "w", 30, ["retrain.model"])
        assert claimed is not None
        repository.mark_failed(
            session,
            dead.id,
            claimed.lease_token or "",
            "ValueError: 训练数据为空",
            permanent=True,
            retry_at=dead.run_after,
        )

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "待处理：0；失败：1" in status.output
    assert f"#{dead.id} retrain.model" in status.output and "训练数据为空" in status.output

    backlog = runner.invoke(app, ["jobs", "ocr-backlog"])
    assert "已为 1 条报送排入图片文字识别任务" in backlog.output
    assert "已为 0 条报送" in runner.invoke(app, ["jobs", "ocr-backlog"]).output  # queued once only

    worked = runner.invoke(app, ["worker", "--burst"])
    assert worked.exit_code == 0, worked.output
    assert "完成 1" in worked.output
    with transaction(cli_db) as session:
        assert session.scalars(select(MediaText.status)).all() == ["read"]
        assert session.scalars(select(ReportPhotoEvidence.report_id)).all() == [report.id]
    assert "已识别 1 张" in runner.invoke(app, ["status"]).output

    retried = runner.invoke(app, ["jobs", "retry", str(dead.id)])
    assert f"已重新排队 1 个任务：{dead.id}" in retried.output
    with transaction(cli_db) as session:
        assert session.get_one(Job, dead.id).status == "queued"
    missing = runner.invoke(app, ["jobs", "retry", "9999"])
    assert missing.exit_code == 1 and "找不到处于失败状态的任务 9999" in missing.output


def test_several_workers_refused_on_sqlite(cli_db: sessionmaker[Session]) -> None:
    if not get_settings().database_url.startswith("sqlite"):
        pytest.skip("only SQLite limits workers to one")
    result = runner.invoke(app, ["worker", "--processes", "2", "--burst"])
    assert result.exit_code == 1 and "SQLite 数据库只支持一个工作进程" in result.output


def test_ocr_switched_off_refuses_backlog(cli_db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENMING_OCR_ENABLED", "false")
    get_settings.cache_clear()
    assert isinstance(get_settings(), Settings) and not get_settings().ocr_enabled
    result = runner.invoke(app, ["jobs", "ocr-backlog"])
    assert result.exit_code == 1 and "图片文字识别已关闭" in result.output
