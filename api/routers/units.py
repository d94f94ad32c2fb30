"""Units (文明单位): list, create, read, update (aliases, honour level, headcount), delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import presenters, schemas
from api import repository as repo
from api.deps import DbSession, Paging, ResourceId, Reviewer, Viewer
from api.errors import ErrorResponse
from ingest import units as unit_service
from ingest.models import HonourLevel
from ingest.schemas import UnitCreate, UnitUpdate

router = APIRouter(prefix="/units", tags=["单位"])

CONFLICT = {409: {"model": ErrorResponse}}


@router.get("", response_model=schemas.Page[schemas.UnitOut])
def list_units(
    db: DbSession,
    _me: Viewer,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=100, description="名称或别名包含")] = None,
    honour_level: HonourLevel | None = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    active: bool | None = None,
) -> schemas.Page:
    stmt = repo.unit_query(db, q, honour_level.value if honour_level else None, category, active)
    rows, total = repo.paged(db, stmt, paging.offset, paging.page_size)
    items = [presenters.unit_out(r[0]) for r in rows]
    return schemas.Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.post("", response_model=schemas.UnitOut, status_code=201, responses=CONFLICT)
def create_unit(body: UnitCreate, db: DbSession, me: Reviewer) -> schemas.UnitOut:
    return presenters.unit_out(unit_service.create_unit(db, me.actor, body))


@router.get("/{unit_id}", response_model=schemas.UnitOut)
def read_unit(unit_id: ResourceId, db: DbSession, _me: Viewer) -> schemas.UnitOut:
    return presenters.unit_out(unit_service.get_unit(db, unit_id))


@router.patch("/{unit_id}", response_model=schemas.UnitOut, responses=CONFLICT)
def update_unit(unit_id: ResourceId, body: UnitUpdate, db: DbSession, me: Reviewer) -> schemas.UnitOut:
    return presenters.unit_out(unit_service.update_unit(db, me.actor, unit_id, body))


@router.delete("/{unit_id}", status_code=status.HTTP_204_NO_CONTENT, responses=CONFLICT)
def delete_unit(unit_id: ResourceId, db: DbSession, me: Reviewer) -> Response:
    """Delete a unit entered by mistake; a unit with reports or members can only be deactivated."""
    unit_service.delete_unit(db, me.actor, unit_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
