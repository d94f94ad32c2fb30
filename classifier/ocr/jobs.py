"""Queue handlers of the OCR area: the worker calls these; they only flush (the worker commits with the job)."""

from __future__ import annotations

from typing import Any

from classifier.ocr import service as ocr_service
from classifier.ocr.service import OCR_REPORT_JOB
from wenming.db import read_transaction
from wenming.queue.worker import JobContext, PermanentJobError

__all__ = ["OCR_REPORT_JOB", "handle_ocr_report"]


def handle_ocr_report(ctx: JobContext) -> dict[str, Any]:
    """Read a report's photos (each image once, ever) and refresh its evidence and classification.

    The look-up runs in its own short read; the OCR runs with no transaction open; only the results are written
    in the job's transaction, so the database is never locked for the seconds inference takes.
    """
    try:
        report_id = int(ctx.payload["report_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentJobError(f"任务参数缺少报送编号：{ctx.payload!r}") from None
    with read_transaction(ctx.factory) as session:
        plan = ocr_service.plan_reading(session, report_id)
    readings = ocr_service.read_planned(ctx.settings, plan)
    return ocr_service.apply_readings(ctx.session, ctx.settings, plan, readings).as_dict()
