"""Staff-entered records: who and when, the fields each kind needs, voiding instead of deleting."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from scoring import models as m
from scoring import records, service
from scoring.errors import RecordNotFound
from scoring.models import AdjustmentKind, CheckKind, RecordKind
from scoring.schemas import AdjustmentIn, CriticismIn, MediaAdoptionIn, VolunteerStatsIn, XixiangCheckIn
from tests.scoring.conftest import World
from wenming.audit import AuditEntry
from wenming.settings import Settings


def test_records_carry_who_and_when_and_void_keeps_the_row(world: World) -> None:
    unit = world.unit("县水利局")
    out = service.add_criticism(
        world.session,
        CriticismIn(unit_id=unit.id, occurred_on=date(2026, 5, 6), reason="迟报材料"),
        actor=" 郑书洋 ",
    )
    assert out.created_by == "郑书洋" and out.created_at is not None
    assert out.summary == "2026-05-06 通报批评：迟报材料"
    service.void_record(world.session, "criticism", out.id, "李科长", "误录")
    row = world.session.scalars(select(m.Criticism).where(m.Criticism.id == out.id)).one()
    assert row.voided_by == "李科长" and row.void_reason == "误录" and row.voided_at is not None
    with pytest.raises(service.ScoringError, match=r"已于 .* 作废"):
        service.void_record(world.session, "criticism", out.id, "李科长", "再次")


def test_list_records_is_the_audit_view(world: World) -> None:
    unit = world.unit("县审计局")
    kept = service.add_criticism(
        world.session, CriticismIn(unit_id=unit.id, occurred_on=date(2026, 5, 6), reason="迟报"), actor="甲"
    )
    wrong = service.add_media_adoption(
        world.session,
        MediaAdoptionIn(
            unit_id=unit.id,
            title="审计进社区",
            outlet="湖州日报",
            level="市级",
            published_on=date(2026, 6, 1),
        ),
        actor="乙",
    )
    service.add_criticism(  # another year: not listed
        world.session, CriticismIn(unit_id=unit.id, occurred_on=date(2025, 5, 6), reason="旧事"), actor="甲"
    )
    service.void_record(world.session, "media_adoption", wrong.id, "丙", "标题录错")
    rows = service.list_records(world.session, unit.id, 2026)
    assert [(r.kind, r.id) for r in rows] == [("criticism", kept.id), ("media_adoption", wrong.id)]
    assert rows[1].summary == "《审计进社区》 湖州日报（市级）2026-06-01"
    assert rows[1].voided_by == "丙" and rows[1].void_reason == "标题录错"
    assert [r.id for r in service.list_records(world.session, unit.id, 2026, include_voided=False)] == [kept.id]


def test_actor_and_unit_are_required(world: World) -> None:
    unit = world.unit("县交通局")
    with pytest.raises(service.ScoringError, match="请注明录入人"):
        service.add_criticism(
            world.session, CriticismIn(unit_id=unit.id, occurred_on=date(2026, 1, 1), reason="x"), "  "
        )
    with pytest.raises(service.ScoringError, match="没有编号为 9999 的单位"):
        service.add_criticism(world.session, CriticismIn(unit_id=9999, occurred_on=date(2026, 1, 1), reason="x"), "甲")


def test_adoption_level_accepts_chinese_and_report_must_belong_to_the_unit(world: World) -> None:
    unit = world.unit("县公安局")
    other = world.unit("县消防大队")
    foreign = world.report(other, date(2026, 4, 1), ("news",))
    data = MediaAdoptionIn(
        unit_id=unit.id, title="平安建设", outlet="陕西文明网", level="省级", published_on=date(2026, 4, 2)
    )
    assert data.level.value == "province"
    with pytest.raises(service.ScoringError, match="不属于该单位"):
        service.add_media_adoption(world.session, data.model_copy(update={"report_id": foreign.id}), "甲")
    with pytest.raises(ValidationError, match="未知的级别"):
        MediaAdoptionIn(unit_id=unit.id, title="x", outlet="y", level="乡级", published_on=date(2026, 4, 2))


def test_check_kinds_need_their_fields(world: World) -> None:
    unit = world.unit("县残联")
    base = {"unit_id": unit.id, "year": 2026, "done_on": date(2026, 3, 1)}
    with pytest.raises(service.ScoringError, match="按季度考核，请注明季度"):
        service.add_xixiang_check(world.session, XixiangCheckIn(kind=CheckKind.TRAINING, **base), "甲")
    with pytest.raises(service.ScoringError, match="按月考核，请注明月份"):
        service.add_xixiang_check(world.session, XixiangCheckIn(kind=CheckKind.MONTHLY_SUMMARY, **base), "甲")
    with pytest.raises(service.ScoringError, match="知晓率调查请填写百分比"):
        service.add_xixiang_check(world.session, XixiangCheckIn(kind=CheckKind.AWARENESS, quarter=1, **base), "甲")
    with pytest.raises(service.ScoringError, match="满意率评价应为 优秀/良好/一般"):
        service.add_xixiang_check(
            world.session, XixiangCheckIn(kind=CheckKind.SATISFACTION, quarter=1, grade="很好", **base), "甲"
        )
    out = service.add_xixiang_check(
        world.session, XixiangCheckIn(kind=CheckKind.MONTHLY_SUMMARY, month=5, **base), "甲"
    )
    assert world.session.get(m.XixiangCheck, out.id).quarter == 2  # type: ignore[union-attr]


def test_bonus_and_deduction_kinds_are_kept_apart(world: World) -> None:
    unit = world.unit("县红十字会")
    day = date(2026, 6, 1)
    with pytest.raises(service.ScoringError, match="不是加分项目"):
        service.add_bonus(
            world.session,
            AdjustmentIn(unit_id=unit.id, kind=AdjustmentKind.PERFUNCTORY, occurred_on=day, reason="x"),
            "甲",
        )
    with pytest.raises(service.ScoringError, match="需注明级别"):
        service.add_bonus(
            world.session,
            AdjustmentIn(unit_id=unit.id, kind=AdjustmentKind.RESEARCH_VISIT, occurred_on=day, reason="x"),
            "甲",
        )
    with pytest.raises(service.ScoringError, match="请填写扣分分值"):
        service.add_deduction(
            world.session,
            AdjustmentIn(unit_id=unit.id, kind=AdjustmentKind.FALSIFICATION, occurred_on=day, reason="x"),
            "甲",
        )


def test_volunteer_stats_newest_entry_wins(world: World, settings: Settings) -> None:
    unit = world.unit("县退役军人事务局")
    for registered in (50, 90):
        service.set_volunteer_stats(
            world.session,
            VolunteerStatsIn(
                unit_id=unit.id, year=2026, quarter=1, headcount=100, registered=registered, active=registered
            ),
            "甲",
        )
    rubric = service.load_rubric("xixiang-2022")
    row = service.quarter_table(world.session, settings, rubric, 2026, 1, as_of=date(2026, 4, 1)).rows[0]
    assert row.items["team"] == 5.0  # 90% from the newer entry, not 50%
    with pytest.raises(ValidationError, match="参加服务人数不能超过注册志愿者人数"):
        VolunteerStatsIn(unit_id=unit.id, year=2026, quarter=1, headcount=100, registered=5, active=6)


def test_resolve_unit_by_id_name_or_unique_fragment(world: World) -> None:
    edu = world.unit("长兴县教育局")
    world.unit("长兴县教育基金会")
    assert service.resolve_unit(world.session, str(edu.id)).id == edu.id
    assert service.resolve_unit(world.session, "长兴县教育局").id == edu.id
    with pytest.raises(service.ScoringError, match="不唯一"):
        service.resolve_unit(world.session, "教育")
    with pytest.raises(service.ScoringError, match="找不到单位"):
        service.resolve_unit(world.session, "气象局")


def test_the_registry_knows_every_kind_and_names_it_once(world: World) -> None:
    assert set(records.TYPES) == set(RecordKind)
    unit = world.unit("县妇联")
    entered = [
        service.add_record(
            world.session, "criticism", {"unit_id": unit.id, "occurred_on": "2026-03-02", "reason": "迟报"}, "甲"
        ),
        service.add_record(
            world.session,
            RecordKind.CHECK,
            {"unit_id": unit.id, "kind": "awareness", "year": 2026, "quarter": 1, "done_on": "2026-03-20", "value": 92},
            "甲",
        ),
        service.add_record(
            world.session,
            "adjustment",
            {"unit_id": unit.id, "kind": "perfunctory", "points": 1.5, "occurred_on": "2026-03-05", "reason": "走过场"},
            "甲",
        ),
    ]
    assert [(r.kind, r.unit_name, r.on) for r in entered] == [
        ("criticism", "县妇联", date(2026, 3, 2)),
        ("check", "县妇联", date(2026, 3, 20)),
        ("adjustment", "县妇联", date(2026, 3, 5)),
    ]
    assert entered[1].summary == "2026年第1季度 知晓率电话调查 92%（2026-03-20）"
    assert entered[2].summary == "扣分 1.5：志愿服务活动敷衍了事、形式主义（2026-03-05）走过场"
    with pytest.raises(service.ScoringError, match="未知的记录类型 'praise'"):
        service.add_record(world.session, "praise", {}, "甲")


def test_records_are_listed_newest_first_and_paged_in_sql(world: World) -> None:
    unit, other = world.unit("县残联"), world.unit("县红十字会")
    for day in range(1, 6):
        service.add_criticism(
            world.session, CriticismIn(unit_id=unit.id, occurred_on=date(2026, 4, day), reason=f"第{day}次"), "甲"
        )
    stats = service.set_volunteer_stats(
        world.session,
        VolunteerStatsIn(unit_id=other.id, year=2026, quarter=2, headcount=40, registered=20, active=10),
        "乙",
    )
    [newest], _ = service.page_records(world.session, kind="criticism", limit=1)
    service.void_record(world.session, "criticism", newest.id, "甲", "重复")
    page, total = service.page_records(world.session, offset=0, limit=3)
    assert total == 5  # six entered, one voided
    assert [r.kind for r in page] == ["volunteer_stats", "criticism", "criticism"]
    assert page[0].id == stats.id and page[0].on is None and page[0].unit_name == "县红十字会"
    rest, _ = service.page_records(world.session, offset=3, limit=3)
    assert len(rest) == 2 and {(r.kind, r.id) for r in rest}.isdisjoint({(r.kind, r.id) for r in page})
    mine, mine_total = service.page_records(world.session, unit_id=unit.id, include_voided=True, limit=50)
    assert mine_total == 5 and mine[-1].summary == "2026-04-01 通报批评：第1次" and newest.summary.endswith("第5次")
    assert sum(r.voided_at is not None for r in mine) == 1


def test_entering_and_voiding_each_leave_one_audit_row(world: World) -> None:
    unit = world.unit("县科协")
    out = service.add_criticism(
        world.session, CriticismIn(unit_id=unit.id, occurred_on=date(2026, 5, 6), reason="迟报"), "甲"
    )
    service.void_record(world.session, "criticism", out.id, "乙", "误录")
    rows = world.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.kind, r.actor, r.subject_type, r.subject_id) for r in rows] == [
        ("record", "甲", "criticism", str(out.id)),
        ("record", "乙", "criticism", str(out.id)),
    ]
    assert rows[0].after["reason"] == "迟报" and rows[0].after["occurred_on"] == "2026-05-06"
    assert rows[1].after == {"voided": True} and rows[1].reason == "误录"
    with pytest.raises(RecordNotFound, match="没有编号为 999 的通报批评记录"):
        service.void_record(world.session, "criticism", 999, "乙", "误录")
