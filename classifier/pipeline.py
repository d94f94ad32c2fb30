"""What happens to every new or changed report, whichever edge captured it: classify, then queue OCR."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from classifier import jobs as classifier_jobs
from classifier import service as classifier_service
from classifier.ocr import service as ocr_service
from ingest.models import Report, ReportStatus
from wenming.settings import Settings

if TYPE_CHECKING:
    from ingest.assembly import AssemblyStats

ReportHook = Callable[[Session, Report], None]


class ClassifyReports:
    """The one ``on_report`` hook for live capture, history import and replay.

    Called with one report it classifies that one; ``many`` takes every report an assembly run changed, so that
    classification and OCR queueing are a handful of statements for the batch instead of several per report.
    """

    def __init__(self, settings: Settings, *, read_photos: bool = True) -> None:
        self.settings = settings
        self.read_photos = read_photos

    def __call__(self, session: Session, report: Report) -> None:
        self.many(session, [report])

    def many(self, session: Session, reports: Sequence[Report]) -> None:
        classifier_service.classify_reports(session, self.settings, reports)
        _queue_photos(session, self.settings, reports, self.read_photos)


def report_hook(settings: Settings, *, read_photos: bool = True) -> ClassifyReports:
    """The one ``on_report`` hook for live capture, history import and replay."""
    return ClassifyReports(settings, read_photos=read_photos)


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
        self.many(session, [report])

    def many(self, session: Session, reports: Sequence[Report]) -> None:
        _queue_photos(session, self.settings, reports, self.read_photos)
        for report in reports:
            self.pending.append(report.id)
            if len(self.pending) >= classifier_jobs.RECLASSIFY_CHUNK:
                self.flush(session)

    def flush(self, session: Session) -> None:
        if self.pending:
            self.queued += len(classifier_jobs.enqueue_reclassify(session, self.settings, self.pending))
            self.pending = []


def finish(hook: ReportHook | ClassifyReports | DeferredClassification | None, session: Session) -> None:
    """End of an assembly transaction: hand any gathered reports to their background jobs."""
    if isinstance(hook, DeferredClassification):
        hook.flush(session)


def assemble_in_batches(
    begin: Callable[[], AbstractContextManager[Session]],
    settings: Settings,
    hook: ReportHook | ClassifyReports | DeferredClassification | None,
    limit: int,
) -> Iterator[AssemblyStats]:
    """Assemble every pending message, ``limit`` per transaction (each opened by ``begin``), and yield each batch's
    stats: one short write lock per batch, never one over a whole backlog. The caller's loop body runs between two
    transactions (counting, pausing for waiting deliveries)."""
    from ingest import service as ingest_service  # as at the callers: not loaded by importing this module

    while True:
        with begin() as session:
            stats = ingest_service.assemble_pending(session, settings, on_report=hook, limit=limit)
            finish(hook, session)
        yield stats
        if stats.processed < limit:
            return


def _queue_photos(session: Session, settings: Settings, reports: Sequence[Report], read_photos: bool) -> None:
    if read_photos:
        shown = [r for r in reports if r.photo_count and r.status != ReportStatus.WITHDRAWN.value]
        ocr_service.enqueue_ocr_for_reports(session, shown, settings)
