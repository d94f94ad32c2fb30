"""Queue handlers of the OCR area: the worker calls these; they only flush (the worker commits with the job)."""

from __future__ import annotations

from typing import Any

from classifier.ocr import service as ocr_service
from classifier.ocr.service import OCR_REPORT_JOB
from wenming.queue.worker import JobContext, PermanentJobError

__all__ = ["OCR_REPORT_JOB", "handle_ocr_report"]


def handle_ocr_report(ctx: JobContext) -> dict[str, Any]:
    """Read a report's photos (each image once, ever) and refresh its evidence and classification."""
    try:
        report_id = int(ctx.payload["report_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentJobError(f"任务参数缺少报送编号：{ctx.payload!r}") from None
    return ocr_service.read_report_photos(ctx.session, ctx.settings, report_id).as_dict()
