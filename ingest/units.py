"""The unit roster as staff change it: create, update, delete and import units, each change audited once.

Every door (API, console, ``wenming units import``, the demo) calls these; names and aliases are checked by
``resolution.name_clashes``, folded exactly as attribution folds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import unit_import
from ingest.models import Member, Report, Unit
from ingest.resolution import RosterEntry, name_clashes, normalize
from ingest.schemas import UnitCreate, UnitUpdate
from ingest.unit_import import ImportSummary
from wenming import audit
from wenming.audit import AuditKind
from wenming.errors import Conflict, NotFound


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"单位 {unit_id} 不存在")
    return unit


def find_unit(session: Session, name: str) -> Unit | None:
    """The unit called ``name`` as staff type it: its exact name first, then an alias (folded like matching)."""
    name = name.strip()
    if not name:
        return None
    unit = session.scalar(select(Unit).where(Unit.name == name))
    if unit is not None:
        return unit
    key = normalize(name)
    roster = _roster(session)
    for texts in ([(e, e.name) for e in roster], [(e, alias) for e in roster for alias in e.aliases]):
        for entry, text in texts:
            if normalize(text) == key:
                return session.get(Unit, entry.unit_id)
    return None


def snapshot(unit: Unit) -> dict[str, Any]:
    """What the audit keeps of a unit before and after a change."""
    return {
        "unit_id": unit.id,
        "name": unit.name,
        "aliases": list(unit.aliases or []),
        "honour_level": unit.honour_level,
        "category": unit.category,
        "headcount": unit.headcount,
        "active": unit.active,
    }


def _roster(session: Session, exclude_unit_id: int | None = None) -> list[RosterEntry]:
    rows = session.execute(select(Unit.id, Unit.name, Unit.aliases).order_by(Unit.id))
    return [RosterEntry(name, tuple(aliases or ()), uid) for uid, name, aliases in rows if uid != exclude_unit_id]


def check_names(session: Session, name: str, aliases: list[str], unit_id: int | None = None) -> None:
    """A name or alias must identify one unit only, or attribution becomes ambiguous: refuse a clash."""
    mine = RosterEntry(name, tuple(aliases), unit_id)
    clashes = [c for c in name_clashes([*_roster(session, unit_id), mine]) if c.entry is mine]
    if clashes:
        listed = "；".join(f"「{c.text}」与单位「{c.other.name}」" for c in clashes)
        raise Conflict(
            f"名称或别名已被其他单位使用：{listed}（比较时不计空格、标点和全角半角）",
            details={"clashes": {c.text: c.other.unit_id for c in clashes}},
        )


def create_unit(session: Session, actor: str, data: UnitCreate) -> Unit:
    """Add a unit to the roster."""
    aliases = [a for a in data.aliases if a != data.name]
    check_names(session, data.name, aliases)
    unit = Unit(
        name=data.name,
        aliases=aliases,
        honour_level=data.honour_level.value,
        category=data.category,
        headcount=data.headcount,
        active=data.active,
    )
    session.add(unit)
    session.flush()
    audit.record(session, actor, AuditKind.UNIT, subject=("unit", unit.id), after=snapshot(unit))
    return unit


def update_unit(session: Session, actor: str, unit_id: int, data: UnitUpdate) -> Unit:
    """Change a unit's name, aliases, level, category, headcount or activity; only the given fields change."""
    unit = get_unit(session, unit_id)
    before = snapshot(unit)
    name = data.name if data.name is not None else unit.name
    aliases = data.aliases if data.aliases is not None else list(unit.aliases or [])
    aliases = [a for a in aliases if a != name]
    check_names(session, name, aliases, unit.id)
    unit.name, unit.aliases = name, aliases
    if data.honour_level is not None:
        unit.honour_level = data.honour_level.value
    if "category" in data.model_fields_set:
        unit.category = data.category
    if "headcount" in data.model_fields_set:
        unit.headcount = data.headcount
    if data.active is not None:
        unit.active = data.active
    session.flush()
    after = snapshot(unit)
    if after != before:
        audit.record(session, actor, AuditKind.UNIT, subject=("unit", unit.id), before=before, after=after)
    return unit


def delete_unit(session: Session, actor: str, unit_id: int) -> None:
    """Delete a unit entered by mistake; a unit with reports or members can only be deactivated."""
    unit = get_unit(session, unit_id)
    reports = int(session.scalar(select(func.count()).where(Report.unit_id == unit.id)) or 0)
    members = int(session.scalar(select(func.count()).where(Member.unit_id == unit.id)) or 0)
    if reports or members:
        raise Conflict(
            f"该单位已有 {reports} 条报送、{members} 名成员，不能删除；如不再考核，请将其设为停用",
            details={"reports": reports, "members": members},
        )
    audit.record(
        session, actor, AuditKind.UNIT, subject=("unit", unit.id), before=snapshot(unit), after={"deleted": True}
    )
    session.delete(unit)
    session.flush()


def import_roster(session: Session, actor: str, path: Path) -> ImportSummary:
    """Import a roster file (new units added, existing ones updated by name); one audit row for the import."""
    summary = unit_import.import_units_file(session, path)
    after = {
        "file": path.name,
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": len(summary.unchanged),
    }
    audit.record(session, actor, AuditKind.UNIT_IMPORT, subject=("roster", path.name), after=after)
    return summary
