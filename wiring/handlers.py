"""The composition root of background work: which handler runs which job kind."""

from __future__ import annotations

from wenming.queue.models import JobKind
from wenming.queue.worker import Handler


def default_handlers() -> dict[str, Handler]:
    """Every job kind the application knows (``JobKind``) and the domain function that does it."""
    from classifier import jobs as classifier_jobs
    from classifier.ocr import jobs as ocr_jobs

    return {
        JobKind.OCR_REPORT.value: ocr_jobs.handle_ocr_report,
        JobKind.CLASSIFIER_TRAIN.value: classifier_jobs.handle_train,
        JobKind.CLASSIFIER_RECLASSIFY.value: classifier_jobs.handle_reclassify,
    }
