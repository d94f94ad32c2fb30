"""Units (文明单位): list, create, read, update (aliases, honour level, headcount), delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from api import presenters, schemas
from api import repository as repo
from api.deps import DbSession, Paging, ResourceId, Reviewer, Viewer
from api.errors import Conflict, ErrorResponse, NotFound
from ingest.models import HonourLevel, Unit

router = APIRouter(prefix="/units", tags=["单位"])

CONFLICT = {409: {"model": ErrorResponse}}


def get_unit(db: DbSession, unit_id: int) -> Unit:
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"单位 {unit_id} 不存在")
    return unit


def _check_names(db: DbSession, names: list[str], exclude_unit_id: int | None) -> None:
    """A name or alias must identify one unit only, or attribution becomes ambiguous."""
    taken = repo.unit_names_in_use(db, exclude_unit_id)
    clashes = {name: taken[name] for name in names if name in taken}
    if clashes:
        listed = "、".join(clashes)
        raise Conflict(f"名称或别名已被其他单位使用：{listed}", details={"clashes": clashes})


def _snapshot(unit: Unit) -> dict[str, Any]:
    return {
        "unit_id": unit.id,
        "name": unit.name,
        "aliases": list(unit.aliases or []),
        "honour_level": unit.honour_level,
        "category": unit.category,
        "headcount": unit.headcount,
        "active": unit.active,
    }


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
def create_unit(body: schemas.UnitCreate, db: DbSession, me: Reviewer) -> schemas.UnitOut:
    _check_names(db, [body.name, *body.aliases], None)
    unit = Unit(
        name=body.name,
        aliases=[a for a in body.aliases if a != body.name],
        honour_level=body.honour_level.value,
        category=body.category,
        headcount=body.headcount,
        active=body.active,
    )
    db.add(unit)
    db.flush()
    repo.record_change(db, "unit", me.actor, {}, _snapshot(unit))
    return presenters.unit_out(unit)


@router.get("/{unit_id}", response_model=schemas.UnitOut)
def read_unit(unit_id: ResourceId, db: DbSession, _me: Viewer) -> schemas.UnitOut:
    return presenters.unit_out(get_unit(db, unit_id))


@router.patch("/{unit_id}", response_model=schemas.UnitOut, responses=CONFLICT)
def update_unit(unit_id: ResourceId, body: schemas.UnitUpdate, db: DbSession, me: Reviewer) -> schemas.UnitOut:
    unit = get_unit(db, unit_id)
    before = _snapshot(unit)
    new_name = body.name if body.name is not None else unit.name
    new_aliases = body.aliases if body.aliases is not None else list(unit.aliases or [])
    _check_names(db, [new_name, *new_aliases], unit.id)
    unit.name = new_name
    unit.aliases = [a for a in new_aliases if a != new_name]
    if body.honour_level is not None:
        unit.honour_level = body.honour_level.value
    fields = body.model_fields_set
    if "category" in fields:
        unit.category = body.category
    if "headcount" in fields:
        unit.headcount = body.headcount
    if body.active is not None:
        unit.active = body.active
    db.flush()
    after = _snapshot(unit)
    if after != before:
        repo.record_change(db, "unit", me.actor, before, after)
    return presenters.unit_out(unit)


@router.delete("/{unit_id}", status_code=status.HTTP_204_NO_CONTENT, responses=CONFLICT)
def delete_unit(unit_id: ResourceId, db: DbSession, me: Reviewer) -> Response:
    """Delete a unit entered by mistake; a unit with reports or members can only be deactivated."""
    unit = get_unit(db, unit_id)
    reports = repo.unit_report_count(db, unit.id)
    members = repo.unit_member_count(db, unit.id)
    if reports or members:
        raise Conflict(
            f"该单位已有 {reports} 条报送、{members} 名成员，不能删除；如不再考核，请将其设为停用",
            details={"reports": reports, "members": members},
        )
    repo.record_change(db, "unit", me.actor, _snapshot(unit), {"deleted": True})
    db.delete(unit)
    db.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
