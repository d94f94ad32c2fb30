"""Reports: filtered lists, details with photos, the review queue, relabelling and unit assignment."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from accounts.service import Principal
from api import presenters, schemas
from api import repository as repo
from api.deps import DbSession, OptionalId, Pagination, Paging, ResourceId, Reviewer, Viewer
from api.errors import BadRequest, ErrorResponse, NotFound
from api.ready import ready_response, ready_viewer
from classifier import service as classifier_service
from classifier.models import Label
from classifier.schemas import ClassificationPatch
from ingest import service as ingest_service
from ingest.models import ReportStatus
from wenming import versions

router = APIRouter(tags=["报送"])
ReadyViewer = Annotated[Principal, Depends(ready_viewer)]


def encode_after(at: datetime, report_id: int) -> str:
    """An opaque cursor naming the last row of a page (its time and id)."""
    return base64.urlsafe_b64encode(f"{at.astimezone(UTC).isoformat()}|{report_id}".encode()).decode().rstrip("=")


def decode_after(cursor: str) -> tuple[datetime, int]:
    """The row a cursor names; a tampered or truncated cursor is the client's error (400)."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, report_id = text.split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(at)
        return moment, int(report_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("翻页游标 after 无效，请从第一页重新开始") from exc


@router.get("/reports", response_model=schemas.Page[schemas.ReportOut])
async def list_reports(
    request: Request,
    _me: ReadyViewer,
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
    after: Annotated[
        str | None, Query(max_length=100, description="上一页返回的 next_after：从它之后接着列（不必跳过前面的页）")
    ] = None,
) -> Response:
    """Reports newest first; page by ``page`` or, faster on deep lists, by the ``after`` cursor of the last page.

    Pages are served as ready bytes keyed by the query and the database's ``reports`` version, which every write
    to a listed report (or its tags, unit name or sender name) moves, in whichever process (see api.ready), and
    the ``rankings`` version.
    """
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
    cursor = decode_after(after) if after else None
    key = ("reports", repr(f), cursor, paging.page, paging.page_size)
    # The rankings counter too: every classification and assembly moves it by hand, so even a write that bypassed
    # the session's statements (wenming.versions marks those) still shows.
    scopes = (versions.REPORTS, versions.RANKINGS)
    return await ready_response(
        request, request.app.state.list_cache, key, scopes, lambda db: _report_page(db, f, cursor, paging)
    )


def _report_page(db: Session, f: repo.ReportFilter, cursor: tuple[datetime, int] | None, paging: Pagination) -> bytes:
    """One page of the report list as JSON bytes (with the filter's total and the cursor of the next page)."""
    total = repo.count_reports(db, f)
    offset = 0 if cursor else paging.offset
    rows = repo.page_rows(db, repo.report_list_query(f, cursor), offset, paging.page_size + 1)
    more, rows = len(rows) > paging.page_size, rows[: paging.page_size]
    last = rows[-1] if more else None
    page = schemas.Page[schemas.ReportOut](
        items=[presenters.report_list_out(row) for row in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
        next_after=encode_after(last.first_message_at, last.id) if last else None,
    )
    return page.model_dump_json().encode()


@router.get("/review", response_model=schemas.Page[schemas.ReportOut])
async def review_queue(request: Request, _me: ReadyViewer, paging: Paging, unit_id: OptionalId = None) -> Response:
    """Reports awaiting staff: low-confidence classifications and reports without a unit, oldest first.

    Served as ready bytes like the report list: a review, an assignment or a new report moves the versions.
    """
    key = ("review", unit_id, paging.page, paging.page_size)
    scopes = (versions.REPORTS, versions.RANKINGS)
    return await ready_response(
        request, request.app.state.list_cache, key, scopes, lambda db: _review_page(db, unit_id, paging)
    )


def _review_page(db: Session, unit_id: int | None, paging: Pagination) -> bytes:
    """One page of the review queue as JSON bytes."""
    rows = repo.page_rows(db, repo.review_query(unit_id), paging.offset, paging.page_size)
    page = schemas.Page[schemas.ReportOut](
        items=[presenters.report_out(r, unit_name, sender) for r, unit_name, sender in rows],
        total=repo.count_review(db, unit_id),
        page=paging.page,
        page_size=paging.page_size,
    )
    return page.model_dump_json().encode()


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
