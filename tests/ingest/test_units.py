"""The unit roster service: one name check, folded as attribution folds names, for every door."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import service, units
from ingest.models import Report, Unit
from ingest.resolution import RosterEntry, UnitMatcher, name_clashes
from ingest.schemas import UnitCreate, UnitUpdate
from ingest.unit_import import UnitImportError
from tests.ingest.builders import message
from wenming.audit import AuditEntry
from wenming.errors import Conflict, NotFound
from wenming.settings import Settings

ACTOR = "staff:li"


def test_texts_that_fold_alike_clash_whoever_holds_them() -> None:
    roster = [RosterEntry("县团委", unit_id=1), RosterEntry("县青年志愿者协会", ("县 团委",), unit_id=2)]
    [clash] = name_clashes(roster)
    assert (clash.text, clash.entry.unit_id, clash.other.name) == ("县 团委", 2, "县团委")
    assert name_clashes([RosterEntry("县团委", ("县 团委", "【县团委】"))]) == []  # one unit's own spellings


def test_the_clash_would_otherwise_leave_reports_unattributed() -> None:
    matcher = UnitMatcher([(1, "县团委", []), (2, "县青年志愿者协会", ["县 团委"])])
    assert matcher.match("县团委-张三") is None  # why the service refuses such a roster


def test_api_and_console_path_refuses_an_alias_that_folds_to_another_units_name(session: Session) -> None:
    units.create_unit(session, ACTOR, UnitCreate(name="县团委"))
    with pytest.raises(Conflict, match="「县 团委」与单位「县团委」") as refused:
        units.create_unit(session, ACTOR, UnitCreate(name="县青年志愿者协会", aliases=["县 团委"]))
    assert refused.value.details == {
        "clashes": {"县 团委": session.scalar(select(Unit.id).where(Unit.name == "县团委"))}
    }
    other = units.create_unit(session, ACTOR, UnitCreate(name="县青年志愿者协会"))
    with pytest.raises(Conflict):
        units.update_unit(session, ACTOR, other.id, UnitUpdate(aliases=["县团委 "]))
    with pytest.raises(Conflict):
        units.update_unit(session, ACTOR, other.id, UnitUpdate(name="县　团委"))  # a full-width space


def test_roster_import_refuses_the_same_clash(session: Session, tmp_path: Path) -> None:
    roster = tmp_path / "units.csv"
    roster.write_text("单位名称,别名,级别\n县团委,,县\n县青年志愿者协会,县 团委,县\n", encoding="utf-8")
    with pytest.raises(UnitImportError, match="第 3 行「别名」列：别名「县 团委」与单位「县团委」的名称或别名重复"):
        units.import_roster(session, ACTOR, roster)
    assert session.scalars(select(Unit)).all() == []
    assert session.scalars(select(AuditEntry)).all() == []


def test_a_roster_import_leaves_one_audit_row(session: Session, tmp_path: Path) -> None:
    roster = tmp_path / "units.csv"
    roster.write_text("单位名称,别名,级别\n县团委,共青团,县\n县教育局,,市\n", encoding="utf-8")
    units.import_roster(session, "cli:root", roster)
    [row] = session.scalars(select(AuditEntry)).all()
    assert (row.kind, row.actor, row.subject_type, row.subject_id) == ("unit_import", "cli:root", "roster", "units.csv")
    assert sorted(row.after["created"]) == ["县团委", "县教育局"] and row.after["updated"] == []


def test_update_audits_only_real_changes_and_delete_refuses_units_in_use(session: Session, settings: Settings) -> None:
    unit = units.create_unit(session, ACTOR, UnitCreate(name="县团委", aliases=["团县委"], honour_level="市"))
    units.update_unit(session, ACTOR, unit.id, UnitUpdate(headcount=12))
    units.update_unit(session, ACTOR, unit.id, UnitUpdate(headcount=12))  # nothing changes: no row
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    changes = [(r.kind, r.subject_id, r.after.get("headcount")) for r in rows]
    assert changes == [("unit", str(unit.id), None), ("unit", str(unit.id), 12)]
    service.receive(session, settings, message(text="团县委开展志愿服务", name="团县委-小张"))
    service.assemble_pending(session, settings)
    assert session.scalar(select(Report.unit_id)) == unit.id
    with pytest.raises(Conflict, match="不能删除"):
        units.delete_unit(session, ACTOR, unit.id)
    with pytest.raises(NotFound):
        units.delete_unit(session, ACTOR, 999_999)


def test_staff_type_a_unit_by_name_or_by_an_alias_spelled_loosely(session: Session) -> None:
    unit = units.create_unit(session, ACTOR, UnitCreate(name="县团委", aliases=["共青团长兴县委"]))
    assert units.find_unit(session, "县团委") is unit
    assert units.find_unit(session, " 共青团 长兴县委") is unit
    assert units.find_unit(session, "团委") is None
