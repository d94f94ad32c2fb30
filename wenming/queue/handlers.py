"""The composition root of background work: which handler runs which job kind."""

from __future__ import annotations

from wenming.queue.worker import Handler


def default_handlers() -> dict[str, Handler]:
    """Every job kind the application knows; imported lazily so the queue stays free of domain imports."""
    from classifier.ocr import jobs as ocr_jobs

    return {ocr_jobs.OCR_REPORT_JOB: ocr_jobs.handle_ocr_report}


# What staff read for each job kind (console, status command); unknown kinds show as stored.
KIND_NAMES = {"ocr.report": "报送照片文字识别"}


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)
