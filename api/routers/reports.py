"""Reports: filtered lists, details with photos, the review queue, relabelling and unit assignment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from api import presenters, schemas
from api import repository as repo
from api.cache import ResultCache
from api.deps import DbSession, OptionalId, Paging, ResourceId, Reviewer, Viewer
from api.errors import BadRequest, ErrorResponse, NotFound
from classifier import service as classifier_service
from classifier.models import Label
from classifier.schemas import ClassificationPatch
from ingest import service as ingest_service
from ingest.models import ReportStatus

router = APIRouter(tags=["报送"])


def _total(request: Request, key: tuple[object, ...], count: Callable[[], int]) -> int:
    """A list's total, shared by the requests of the next few seconds (see api.cache): counting every report took
    more than reading the page itself. In-process writes are seen at once, other processes' within seconds."""
    cache: ResultCache = request.app.state.count_cache
    return cache.get(key, count)


def _page(db: DbSession, stmt, total: int, paging: Paging) -> schemas.Page:  # type: ignore[no-untyped-def]
    rows = repo.page_rows(db, stmt, paging.offset, paging.page_size)
    items = [presenters.report_out(r, unit_name, sender) for r, unit_name, sender in rows]
    return schemas.Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/reports", response_model=schemas.Page[schemas.ReportOut])
def list_reports(
    request: Request,
    db: DbSession,
    _me: Viewer,
    paging: Paging,
    unit_id: OptionalId = None,
    unassigned: Annotated[bool | None, Query(description="true：只看未归属单位的报送")] = None,
    label: Annotated[Label | None, Query(description="主标签或副标签")] = None,
    status: ReportStatus | None = None,
    date_from: Annotated[date | None, Query(description="报送日期起（含）")] = None,
    date_to: Annotated[date | None, Query(description="报送日期止（含）")] = None,
    q: Annotated[str | None, Query(max_length=100, description="正文包含")] = None,
    group_id: OptionalId = None,
    sender_id: OptionalId = None,
) -> schemas.Page:
    if date_from and date_to and date_from > date_to:
        raise BadRequest("起始日期不能晚于结束日期")
    f = repo.ReportFilter(
        unit_id=unit_id,
        unassigned=unassigned,
        label=label.value if label else None,
        status=status.value if status else None,
        date_from=date_from,
        date_to=date_to,
        q=q,
        group_id=group_id,
        sender_id=sender_id,
    )
    total = _total(request, ("reports", repr(f)), lambda: repo.count_reports(db, f))
    return _page(db, repo.report_query(f), total, paging)


@router.get("/review", response_model=schemas.Page[schemas.ReportOut])
def review_queue(
    request: Request, db: DbSession, _me: Viewer, paging: Paging, unit_id: OptionalId = None
) -> schemas.Page:
    """Reports awaiting staff: low-confidence classifications and reports without a unit, oldest first."""
    total = _total(request, ("review", unit_id), lambda: repo.count_review(db, unit_id))
    return _page(db, repo.review_query(unit_id), total, paging)


def _detail(db: DbSession, report_id: int) -> schemas.ReportDetail:
    row = repo.report_row(db, report_id)
    if row is None:
        raise NotFound(f"报送 {report_id} 不存在")
    return presenters.report_detail(db, *row)


@router.get("/reports/{report_id}", response_model=schemas.ReportDetail)
def read_report(report_id: ResourceId, db: DbSession, _me: Viewer) -> schemas.ReportDetail:
    return _detail(db, report_id)


@router.patch(
    "/reports/{report_id}/classification",
    response_model=schemas.ReportDetail,
    responses={404: {"model": ErrorResponse}},
)
def patch_classification(
    report_id: ResourceId, body: ClassificationPatch, db: DbSession, me: Reviewer
) -> schemas.ReportDetail:
    """Correct a report's labels and facts; audited, never overwritten by the model, used for retraining."""
    classifier_service.relabel(db, me.actor, report_id, body)
    return _detail(db, report_id)


@router.post(
    "/reports/{report_id}/assign",
    response_model=schemas.ReportDetail,
    responses={404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}},
)
def assign_report(
    report_id: ResourceId, body: schemas.ReportAssign, db: DbSession, me: Reviewer
) -> schemas.ReportDetail:
    """Attribute a report to a unit, optionally remembering the sender for future reports."""
    ingest_service.assign_report_unit(
        db, report_id, body.unit_id, actor=me.actor, reason=body.reason, remember_sender=body.remember_sender
    )
    return _detail(db, report_id)
