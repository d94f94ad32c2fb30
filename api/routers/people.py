"""Chat groups and members (sender → unit mapping, with its history)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import repository as repo
from api import schemas
from api.deps import DbSession, OptionalId, Paging, ResourceId, Reviewer, Viewer
from api.errors import NotFound
from ingest import service as ingest_service
from ingest.models import ChatGroup, Member, Platform

router = APIRouter(tags=["群与成员"])


@router.get("/groups", response_model=schemas.Page[schemas.GroupOut])
def list_groups(
    db: DbSession,
    _me: Viewer,
    paging: Paging,
    platform: Platform | None = None,
    q: Annotated[str | None, Query(max_length=100, description="群名包含")] = None,
) -> schemas.Page:
    stmt = repo.group_query(platform.value if platform else None, q)
    rows, total = repo.paged(db, stmt, paging.offset, paging.page_size)
    items = [_group_out(group, count) for group, count in rows]
    return schemas.Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


def _group_out(group: ChatGroup, count: int) -> schemas.GroupOut:
    out = schemas.GroupOut.model_validate(group)
    out.report_count = int(count)
    return out


@router.get("/groups/{group_id}", response_model=schemas.GroupOut)
def read_group(group_id: ResourceId, db: DbSession, _me: Viewer) -> schemas.GroupOut:
    row = db.execute(repo.group_query().where(ChatGroup.id == group_id)).first()
    if row is None:
        raise NotFound("群不存在")
    return _group_out(row[0], row[1])


@router.patch("/groups/{group_id}", response_model=schemas.GroupOut)
def update_group(group_id: ResourceId, body: schemas.GroupUpdate, db: DbSession, me: Reviewer) -> schemas.GroupOut:
    ingest_service.rename_group(db, me.actor, group_id, body.name)
    return read_group(group_id, db, me)


def _member_out(member: Member, unit_name: str | None) -> schemas.MemberOut:
    out = schemas.MemberOut.model_validate(member)
    out.unit_name = unit_name
    return out


@router.get("/members", response_model=schemas.Page[schemas.MemberOut])
def list_members(
    db: DbSession,
    _me: Viewer,
    paging: Paging,
    unit_id: OptionalId = None,
    unassigned: Annotated[bool | None, Query(description="true：只看未归属单位的发送人")] = None,
    platform: Platform | None = None,
    q: Annotated[str | None, Query(max_length=100, description="昵称/群名片包含，或平台用户 ID")] = None,
) -> schemas.Page:
    stmt = repo.member_query(unit_id, unassigned, platform.value if platform else None, q)
    rows, total = repo.paged(db, stmt, paging.offset, paging.page_size)
    items = [_member_out(m, name) for m, name in rows]
    return schemas.Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/members/{member_id}", response_model=schemas.MemberDetail)
def read_member(member_id: ResourceId, db: DbSession, _me: Viewer) -> schemas.MemberDetail:
    row = db.execute(repo.member_query().where(Member.id == member_id)).first()
    if row is None:
        raise NotFound("成员不存在")
    member, unit_name = row
    return schemas.MemberDetail(
        **_member_out(member, unit_name).model_dump(),
        names=[schemas.MemberNameOut.model_validate(n) for n in repo.member_names(db, member_id)],
        unit_history=[schemas.AuditEntryOut.model_validate(c) for c in repo.member_unit_history(db, member_id)],
    )


@router.patch("/members/{member_id}", response_model=schemas.MemberDetail)
def assign_member(
    member_id: ResourceId, body: schemas.MemberAssign, db: DbSession, me: Reviewer
) -> schemas.MemberDetail:
    """Attribute a sender to a unit (or detach them); future reports follow, the change is audited."""
    ingest_service.assign_member_unit(db, member_id, body.unit_id, actor=me.actor, reason=body.reason)
    return read_member(member_id, db, me)
