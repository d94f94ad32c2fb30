"""Which unit a report belongs to: staff mapping, nickname convention, never a guess."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import service
from ingest.models import Member, Report, Unit
from ingest.resolution import UnitMatcher
from tests.ingest.builders import T0, message
from wenming.audit import AuditEntry
from wenming.settings import Settings


def _report_units(session: Session, settings: Settings, *messages: object) -> list[int | None]:
    for msg in messages:
        service.receive(session, settings, msg)  # type: ignore[arg-type]
    service.assemble_pending(session, settings)
    return list(session.scalars(select(Report.unit_id).order_by(Report.first_message_at, Report.id)))


@pytest.mark.parametrize(
    "name",
    [
        "长兴县市场监管局-张三",
        "市场监管局 张三",
        "【县市场监管局】张三",
        "张三（长兴县市场监督管理局）",
        "市场监管局张三",
    ],
)
def test_nickname_conventions_resolve(session: Session, settings: Settings, units: dict[str, Unit], name: str) -> None:
    assert _report_units(session, settings, message(text="活动", name=name)) == [units["market"].id]


@pytest.mark.parametrize("name", ["张三", "长兴县教育局-长兴中学 李老师", "小王", None])
def test_unknown_or_ambiguous_names_stay_unassigned(
    session: Session, settings: Settings, units: dict[str, Unit], name: str | None
) -> None:
    assert _report_units(session, settings, message(text="活动", name=name)) == [None]


def test_staff_mapping_beats_nickname(session: Session, settings: Settings, units: dict[str, Unit]) -> None:
    _report_units(session, settings, message(text="第一条", name="长兴县市场监管局-张三", sender="u1", at=T0))
    member = session.scalar(select(Member).where(Member.platform_user_id == "u1"))
    assert member is not None
    service.assign_member_unit(session, member.id, units["hospital"].id, actor="admin", reason="实际调往医院")
    later = message(text="第二条", name="长兴县市场监管局-张三", sender="u1", at=T0 + timedelta(days=1))
    assert _report_units(session, settings, later) == [units["market"].id, units["hospital"].id]


def test_nickname_change_keeps_the_unit(session: Session, settings: Settings, units: dict[str, Unit]) -> None:
    result = _report_units(
        session,
        settings,
        message(text="九月活动", name="长兴县人民医院-王五", sender="w5", at=T0),
        message(text="十月活动", name="王五🌸", sender="w5", at=T0 + timedelta(days=20)),
    )
    assert result == [units["hospital"].id, units["hospital"].id]
    member = session.scalar(select(Member).where(Member.platform_user_id == "w5"))
    assert member is not None and member.display_name == "王五🌸"


def test_assigning_a_report_and_remembering_the_sender(
    session: Session, settings: Settings, units: dict[str, Unit]
) -> None:
    _report_units(
        session,
        settings,
        message(text="活动一", name="小李", sender="x", at=T0),
        message(text="活动二", name="小李", sender="x", at=T0 + timedelta(days=1)),
    )
    first, second = session.scalars(select(Report).order_by(Report.id)).all()
    service.assign_report_unit(
        session, first.id, units["school"].id, actor="reviewer1", reason="群内确认", remember_sender=True
    )
    assert (first.unit_id, second.unit_id) == (units["school"].id, units["school"].id)
    later = _report_units(session, settings, message(text="活动三", name="小李", sender="x", at=T0 + timedelta(days=2)))
    assert later[-1] == units["school"].id
    kinds = session.scalars(select(AuditEntry.kind).order_by(AuditEntry.id)).all()
    assert kinds == ["member_unit", "report_unit"]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "report_unit")).one()
    assert audit.actor == "reviewer1" and audit.before == {"unit_id": None}
    assert audit.after["also_assigned_report_ids"] == [second.id]


def test_assigning_to_a_missing_unit_is_a_clear_error(session: Session, settings: Settings) -> None:
    _report_units(session, settings, message(text="活动", name="小李"))
    report = session.scalars(select(Report)).one()
    with pytest.raises(service.IngestError, match="找不到单位"):
        service.assign_report_unit(session, report.id, 999999, actor="a")


def test_matcher_prefers_the_longest_name_and_detects_ambiguity() -> None:
    matcher = UnitMatcher([(1, "长兴县人民医院", []), (2, "长兴县中医院", []), (3, "长兴县人民政府", ["县政府"])])
    assert matcher.match("长兴县人民医院 护士小陈") == 1
    assert matcher.match("县政府-办公室") == 3
    assert matcher.match("人民医院和中医院联合") is None
    assert matcher.match("长兴县人民医院/长兴县中医院") is None
