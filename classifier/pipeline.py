"""What happens to every new or changed report, whichever edge captured it: classify, then queue OCR."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from classifier import jobs as classifier_jobs
from classifier import service as classifier_service
from classifier.ocr import service as ocr_service
from ingest.models import Report, ReportStatus
from wenming.settings import Settings

ReportHook = Callable[[Session, Report], None]


def report_hook(settings: Settings, *, read_photos: bool = True) -> ReportHook:
    """The one ``on_report`` hook for live capture, history import and replay."""

    def hook(session: Session, report: Report) -> None:
        classifier_service.classify_report(session, settings, report)
        _queue_photos(session, settings, report, read_photos)

    return hook


class DeferredClassification:
    """An ``on_report`` hook for big imports: reports are stored now and classified by background jobs.

    New reports are gathered into chunks of ``classifier.jobs.RECLASSIFY_CHUNK``; call ``flush`` before the
    transaction that assembled them commits, so every stored report has its job.
    """

    def __init__(self, settings: Settings, *, read_photos: bool = True) -> None:
        self.settings = settings
        self.read_photos = read_photos
        self.pending: list[int] = []
        self.queued = 0

    def __call__(self, session: Session, report: Report) -> None:
        self.pending.append(report.id)
        _queue_photos(session, self.settings, report, self.read_photos)
        if len(self.pending) >= classifier_jobs.RECLASSIFY_CHUNK:
            self.flush(session)

    def flush(self, session: Session) -> None:
        if self.pending:
            self.queued += len(classifier_jobs.enqueue_reclassify(session, self.settings, self.pending))
            self.pending = []


def finish(hook: ReportHook | None, session: Session) -> None:
    """End of an assembly transaction: hand any gathered reports to their background jobs."""
    if isinstance(hook, DeferredClassification):
        hook.flush(session)


def _queue_photos(session: Session, settings: Settings, report: Report, read_photos: bool) -> None:
    if read_photos and report.photo_count and report.status != ReportStatus.WITHDRAWN.value:
        ocr_service.enqueue_ocr_for_report(session, report.id, settings)
