"""What happens to every new or changed report, whichever edge captured it: classify, then queue OCR."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from classifier import service as classifier_service
from classifier.ocr import service as ocr_service
from ingest.models import Report, ReportStatus
from wenming.settings import Settings

ReportHook = Callable[[Session, Report], None]


def report_hook(settings: Settings, *, read_photos: bool = True) -> ReportHook:
    """The one ``on_report`` hook for live capture, history import and replay."""

    def hook(session: Session, report: Report) -> None:
        classifier_service.classify_report(session, settings, report)
        if read_photos and report.photo_count and report.status != ReportStatus.WITHDRAWN.value:
            ocr_service.enqueue_ocr_for_report(session, report.id, settings)

    return hook
