"""The composition root of background work: which handler runs which job kind."""

from __future__ import annotations

from wenming.queue.worker import Handler


def default_handlers() -> dict[str, Handler]:
    """Every job kind the application knows; imported lazily so the queue stays free of domain imports."""
    from classifier.ocr import jobs as ocr_jobs

    return {ocr_jobs.OCR_REPORT_JOB: ocr_jobs.handle_ocr_report}
