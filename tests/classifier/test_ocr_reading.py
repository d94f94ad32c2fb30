"""OCR with the real model on small generated photos (few on purpose: the CPU is shared)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from classifier.models import Classification
from classifier.ocr import banners, engine, samples
from classifier.ocr import service as ocr_service
from classifier.ocr.models import MediaText, MediaTextLine, ReportPhotoEvidence
from ingest.models import Report
from tests.classifier.ocr_support import feed_report
from wenming.db import transaction
from wenming.queue.models import Job
from wenming.queue.worker import Worker
from wenming.settings import Settings
from wiring.handlers import default_handlers

SMALL = (800, 450)
PAIRING = "县市场监管局与城东村结对共建志愿服务活动"


def _read(jpeg: bytes, settings: Settings) -> tuple[list[str], list[str]]:
    limits = ocr_service.limits_from(settings)
    result = engine.read_image(engine.load_image(jpeg, limits), limits, engine.get_engine(1))
    flags = banners.banner_flags(banners.ImageLines(result.width, result.height, result.lines))
    chosen = [line.text for line, flag in zip(result.lines, flags, strict=True) if flag]
    return [line.text for line in result.lines], chosen


@pytest.mark.parametrize(
    ("label", "text", "blur", "rotation", "quality"),
    [
        ("pairing", "县人民医院党支部与东方社区结对共建", 1.0, -3.5, 60),
        ("volunteer", "学雷锋志愿服务进社区活动", 0.6, 3.0, 55),
        ("practice", "新时代文明实践理论宣讲进农村", 1.2, -2.0, 70),
        ("news", "湖州日报报道县市场监管局文明创建工作", 0.4, 1.5, 65),
    ],
)
def test_blurred_rotated_banner_is_read_and_names_its_kind(
    settings: Settings, label: str, text: str, blur: float, rotation: float, quality: int
) -> None:
    jpeg, *_ = samples.render(text, seed=len(text), size=SMALL, blur=blur, rotation=rotation, quality=quality)
    _lines, banner_lines = _read(jpeg, settings)
    assert banner_lines == [text]
    assert banners.kind_of(banner_lines) == label


def test_photo_without_text_reads_nothing(settings: Settings) -> None:
    jpeg, *_ = samples.render(None, seed=4, size=SMALL, clutter=False)  # its figures once read as a low-confidence "1"
    assert _read(jpeg, settings) == ([], [])


def test_photo_only_pairing_report_is_read_by_the_worker_once(
    committed_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    banner_photo, *_ = samples.render(PAIRING, seed=3, size=SMALL, blur=0.8, rotation=2.5, quality=65)
    plain_photo, *_ = samples.render(None, seed=4, size=SMALL, clutter=False)
    with transaction(committed_factory) as session:
        report = feed_report(session, settings, banner_photo, plain_photo)
        assert report.text is None and report.photo_count == 2
        ocr_service.enqueue_ocr_for_report(session, report.id, settings)
    worker = Worker(committed_factory, settings, default_handlers())
    worker.run(burst=True)
    assert worker.stats.done == 1

    with transaction(committed_factory) as session:
        evidence = session.scalars(select(ReportPhotoEvidence)).one()
        assert evidence.banner_lines == [PAIRING] and evidence.banner_read
        assert (evidence.photo_kind, evidence.facts) == ("pairing", {"partner": "城东村"})
        assert (evidence.distinct_photos, evidence.photos_read, evidence.text_kind) == (2, 2, None)
        stored = session.scalars(select(MediaTextLine).where(MediaTextLine.is_banner.is_(True))).one()
        assert stored.confidence > 0.9 and len(stored.box) == 4 and stored.line_height > 20
        lines = session.scalars(select(MediaTextLine)).all()
        assert {line.media_id for line in lines} == {stored.media_id}  # the plain photo has no lines
        report = session.get_one(Report, report.id)
        assert (report.label, report.status) == ("pairing", "classified")  # from its banner, not left for review
        classification = session.scalars(select(Classification).where(Classification.is_current.is_(True))).one()
        assert classification.facts.get("partner") == "城东村"
        assert f"横幅：{PAIRING}" in classification.evidence
        job = session.scalars(select(Job)).one()
        assert job.result is not None and job.result["media_read"] == 2

    monkeypatch.setattr(engine, "get_engine", lambda *_: pytest.fail("an image was read twice"))
    with transaction(committed_factory) as session:
        again = ocr_service.read_report_photos(session, settings, report.id)
        assert (again.media_read, again.media_skipped, again.banner_lines) == (0, 2, [PAIRING])
        assert session.scalar(select(func.count()).select_from(MediaText)) == 2
