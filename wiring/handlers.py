"""The composition root of background work: which handler runs which job kind."""

from __future__ import annotations

from wenming.queue.worker import Handler


def default_handlers() -> dict[str, Handler]:
    """Every job kind the application knows; imported lazily so the queue stays free of domain imports."""
    from classifier import jobs as classifier_jobs
    from classifier.ocr import jobs as ocr_jobs

    return {
        ocr_jobs.OCR_REPORT_JOB: ocr_jobs.handle_ocr_report,
        classifier_jobs.TRAIN_JOB: classifier_jobs.handle_train,
        classifier_jobs.RECLASSIFY_JOB: classifier_jobs.handle_reclassify,
    }


# What staff read for each job kind (console, status command); unknown kinds show as stored.
KIND_NAMES = {
    "ocr.report": "报送照片文字识别",
    "classifier.train": "用人工更正重新训练分类模型",
    "classifier.reclassify": "用当前模型重新分类报送",
}


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)
