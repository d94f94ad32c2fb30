"""Messages that are not reports (消息): find them, promote one to a report, demote a report back to messages."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api import presenters, schemas
from api import repository as repo
from api.deps import AppSettings, DbSession, OptionalId, Paging, ResourceId, Reviewer, Viewer
from api.errors import BadRequest, ErrorResponse
from classifier import pipeline
from ingest import service as ingest_service
from ingest.models import MessageKind, MessageReason

router = APIRouter(tags=["消息"])


@router.get("/messages", response_model=schemas.Page[schemas.MessageOut])
def list_messages(
    db: DbSession,
    settings: AppSettings,
    _me: Viewer,
    paging: Paging,
    status: Annotated[
        schemas.MessageStatus | None,
        Query(description="chatter（留作消息，默认）、ignored（不成报送）、rejected（有误）"),
    ] = "chatter",
    reason: Annotated[MessageReason | None, Query(description="为什么不是报送")] = None,
    kind: MessageKind | None = None,
    unit_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="发送人所属单位")] = None,
    unassigned: Annotated[bool | None, Query(description="true：只看认不出单位的发送人的消息")] = None,
    group_id: OptionalId = None,
    sender_id: OptionalId = None,
    date_from: Annotated[date | None, Query(description="发送日期起（含）")] = None,
    date_to: Annotated[date | None, Query(description="发送日期止（含）")] = None,
    q: Annotated[str | None, Query(max_length=100, description="内容包含")] = None,
) -> schemas.Page:
    """Group messages kept as messages, newest first: acknowledgements, questions, stickers, anonymous lines…"""
    if date_from and date_to and date_from > date_to:
        raise BadRequest("起始日期不能晚于结束日期")
    f = repo.message_filter(
        settings.tz,
        status=status,
        reason=reason.value if reason else None,
        kind=kind.value if kind else None,
        unit_id=unit_id,
        unassigned=unassigned,
        group_id=group_id,
        sender_id=sender_id,
        date_from=date_from,
        date_to=date_to,
        q=q,
    )
    rows = repo.page_rows(db, repo.message_query(f), paging.offset, paging.page_size)
    items = [presenters.message_out(*row) for row in rows]
    return schemas.Page(items=items, total=repo.count_messages(db, f), page=paging.page, page_size=paging.page_size)


@router.post(
    "/messages/{message_id}/promote",
    response_model=schemas.ReportDetail,
    responses={404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}},
)
def promote_message(
    message_id: ResourceId, body: schemas.MessageAction, db: DbSession, settings: AppSettings, me: Reviewer
) -> schemas.ReportDetail:
    """Staff judge a kept message an activity report: it opens or joins a report, is classified; audited."""
    report = ingest_service.promote_message(
        db, settings, message_id, actor=me.actor, reason=body.reason, on_report=pipeline.report_hook(settings)
    )
    row = repo.report_row(db, report.id)
    assert row is not None
    return presenters.report_detail(db, *row)


@router.post(
    "/reports/{report_id}/demote",
    response_model=schemas.DemoteOut,
    responses={404: {"model": ErrorResponse}},
)
def demote_report(report_id: ResourceId, body: schemas.MessageAction, db: DbSession, me: Reviewer) -> schemas.DemoteOut:
    """Staff judge a report chatter: its messages are kept as messages and it leaves every count; audited."""
    ids = ingest_service.demote_report(db, report_id, actor=me.actor, reason=body.reason)
    messages = [presenters.message_out(*row) for row in repo.message_rows(db, ids)]
    return schemas.DemoteOut(report_id=report_id, messages=messages)
