"""西乡 2022: the six items' sub-rules, the annual average and the bonus table, hand-computed."""

from __future__ import annotations

from datetime import date

import pytest

from scoring import service
from scoring.models import AdjustmentKind, CheckKind
from scoring.schemas import AdjustmentIn, MediaAdoptionIn, VolunteerStatsIn, XixiangCheckIn
from tests.scoring.conftest import World
from wenming.settings import Settings

AFTER_Q1 = date(2026, 4, 10)
YEAR_END = date(2026, 12, 31)
ACTOR = "中心办公室"


def _stats(world: World, unit, quarter: int = 1, **values) -> None:  # type: ignore[no-untyped-def]
    defaults = {"headcount": 100, "registered": 80, "active": 80}
    data = VolunteerStatsIn(unit_id=unit.id, year=2026, quarter=quarter, **(defaults | values))
    service.set_volunteer_stats(world.session, data, ACTOR)


def _check(world: World, unit, kind: CheckKind, on: date, **values) -> None:  # type: ignore[no-untyped-def]
    data = XixiangCheckIn(unit_id=unit.id, kind=kind, year=on.year, done_on=on, **values)
    service.add_xixiang_check(world.session, data, ACTOR)


def _q1(world: World, settings: Settings, rubric, as_of: date = AFTER_Q1) -> dict:  # type: ignore[no-untyped-def]
    table = service.quarter_table(world.session, settings, rubric, 2026, 1, as_of=as_of)
    return {row.unit_name: row.items for row in table.rows}


def test_registration_80_percent_minus_half_a_point_per_point(world: World, settings: Settings, xixiang) -> None:
    for name, headcount, registered in (
        ("达标", 100, 80),
        ("差1.5点", 1000, 785),
        ("差3点", 100, 77),
        ("差20点", 100, 60),
    ):
        _stats(world, world.unit(name), headcount=headcount, registered=registered, active=registered)
    team = {name: items["team"] for name, items in _q1(world, settings, xixiang).items()}
    # only the registration rule scores here (no flag, uniform or training records)
    assert team == {"达标": 5.0, "差1.5点": 4.5, "差3点": 3.5, "差20点": 0.0}  # 78.5% → 1 whole point (floor)
    ceil = xixiang.model_copy(update={"point_rounding": "ceil"})
    assert _q1(world, settings, ceil)["差1.5点"]["team"] == 4.0  # 1.5 started points → 2


def test_service_count_thresholds_by_project_count(world: World, settings: Settings, xixiang) -> None:
    cases = (("三个项目", 3, 5), ("四个项目少三次", 4, 7), ("四个项目十次", 4, 10))
    for name, projects, services in cases:
        unit = world.unit(name)
        _stats(world, unit, registered=10, active=10, service_projects=projects, service_hours=50)  # 5 h each
        for i in range(services):
            world.report(unit, date(2026, 1 + i % 3, 1 + i), ("volunteer",))
    world.unit("无统计无服务")
    activity = {name: items["activity"] for name, items in _q1(world, settings, xixiang).items()}
    # services (30 − 5 per missing) + participation 10 + awareness 10 (no survey → full, rubric parameter)
    assert activity == {
        "三个项目": 25 + 10 + 10,  # needs 6, did 5
        "四个项目少三次": 15 + 10 + 10,  # needs 10, did 7
        "四个项目十次": 30 + 10 + 10,
        "无统计无服务": 0 + 0 + 10,  # needs 6, did 0 → floor 0; no registered volunteers → 0
    }


def test_participation_hours_per_volunteer(world: World, settings: Settings, xixiang) -> None:
    almost = world.unit("人均4.2小时")
    short = world.unit("人均3小时")
    from_reports = world.unit("按报送时长")
    _stats(world, almost, registered=10, active=10, service_projects=3, service_hours=42)
    _stats(world, short, registered=10, active=10, service_projects=3, service_hours=30)
    _stats(world, from_reports, registered=10, active=10, service_projects=3)
    world.report(from_reports, date(2026, 2, 2), ("volunteer",), facts={"volunteer_hours": 2, "participants": 10})
    activity = {name: items["activity"] for name, items in _q1(world, settings, xixiang).items()}
    assert activity["人均4.2小时"] == 0 + 10 + 10  # 0.8 h short is not a whole hour
    assert activity["人均3小时"] == 0 + 6 + 10  # 2 h short × 2
    # 1 service of 6 → 30 − 25 = 5; 2 h × 10 people / 10 registered = 2 h → 3 h short → 10 − 6 = 4
    assert activity["按报送时长"] == 5 + 4 + 10


def test_awareness_survey_80_percent_minus_one_per_point(world: World, settings: Settings, xixiang) -> None:
    for name, value in (("知晓80", 80.0), ("知晓75.5", 75.5), ("知晓65", 65.0)):
        _check(world, world.unit(name), CheckKind.AWARENESS, date(2026, 3, 1), quarter=1, value=value)
    world.unit("未调查")
    activity = {name: items["activity"] for name, items in _q1(world, settings, xixiang).items()}
    assert activity == {"知晓80": 10.0, "知晓75.5": 6.0, "知晓65": 0.0, "未调查": 10.0}
    strict = xixiang.model_copy(
        update={
            "items": xixiang.items.model_copy(
                update={
                    "activity": xixiang.items.activity.model_copy(
                        update={
                            "awareness": xixiang.items.activity.awareness.model_copy(update={"when_missing": "zero"})
                        }
                    )
                }
            )
        }
    )
    assert _q1(world, settings, strict)["未调查"]["activity"] == 0.0


def test_monthly_summary_before_the_25th_and_satisfaction(world: World, settings: Settings, xixiang) -> None:
    unit = world.unit("反馈单位")
    _check(world, unit, CheckKind.MONTHLY_SUMMARY, date(2026, 1, 25), month=1)  # on the 25th: in time
    _check(world, unit, CheckKind.MONTHLY_SUMMARY, date(2026, 2, 26), month=2)  # a day late
    _check(world, unit, CheckKind.SATISFACTION, date(2026, 3, 30), quarter=1, grade="良好")
    # after the quarter: Feb late + Mar missing → 5 − 0.5 × 2 = 4; 良好 → 4
    assert _q1(world, settings, xixiang)["反馈单位"]["feedback"] == 8.0
    # on 20 March the March summary is not yet due
    assert _q1(world, settings, xixiang, as_of=date(2026, 3, 20))["反馈单位"]["feedback"] == 8.5
    exclusive = xixiang.model_copy(
        update={
            "items": xixiang.items.model_copy(
                update={
                    "feedback": xixiang.items.feedback.model_copy(
                        update={
                            "monthly_summary": xixiang.items.feedback.monthly_summary.model_copy(
                                update={"deadline_inclusive": False}
                            )
                        }
                    )
                }
            )
        }
    )
    assert _q1(world, settings, exclusive)["反馈单位"]["feedback"] == 7.5  # the 25th no longer counts


def test_media_highest_level_per_item_and_no_cap(world: World, settings: Settings, xixiang) -> None:
    unit = world.unit("宣传大户")
    for i in range(3):
        service.add_media_adoption(
            world.session,
            MediaAdoptionIn(
                unit_id=unit.id,
                title=f"央媒报道{i}",
                outlet="央视网",
                level="central",
                published_on=date(2026, 2, i + 1),
            ),
            ACTOR,
        )
    world.report(unit, date(2026, 3, 2), ("news",), facts={"outlet_level": "county", "article_title": "志愿服务进社区"})
    service.add_media_adoption(
        world.session,
        MediaAdoptionIn(
            unit_id=unit.id,
            title="志愿服务进社区",
            outlet="汉中日报",
            level="市级",
            published_on=date(2026, 3, 5),
        ),
        ACTOR,
    )
    # 3 × 5 + max(county 1, city 2) = 17; 细则: 超出标准分以实际得分为准
    assert _q1(world, settings, xixiang)["宣传大户"]["media"] == 17.0


def test_year_scoped_documents_apply_to_every_quarter(world: World, settings: Settings, xixiang) -> None:
    unit = world.unit("材料单位")
    _check(world, unit, CheckKind.ANNUAL_PLAN, date(2026, 2, 1))
    _check(world, unit, CheckKind.BRAND_PLAN, date(2026, 2, 1))
    _check(world, unit, CheckKind.MATERIALS, date(2026, 2, 1), quarter=1)
    _check(world, unit, CheckKind.TRAINING, date(2026, 8, 1), quarter=3)
    q3 = service.quarter_table(world.session, settings, xixiang, 2026, 3, as_of=YEAR_END).rows[0].items
    assert q3["plan"] == 1.5  # annual plan yes, summary no, Q1 materials do not count in Q3
    assert q3["brand"] == 4.0
    assert q3["team"] == 4.0  # one training in Q3


def test_annual_is_the_quarter_average_plus_bonus_minus_deductions(world: World, settings: Settings, xixiang) -> None:
    unit = world.unit("年度单位")
    world.unit("对照单位")
    _check(world, unit, CheckKind.ANNUAL_PLAN, date(2026, 1, 20))
    _check(world, unit, CheckKind.MATERIALS, date(2026, 3, 1), quarter=1)
    for kind, level in (
        ("hosted_event", None),
        ("research_visit", "central"),
        ("leader_instruction", "city"),
        ("research_visit", "county"),
    ):
        data = AdjustmentIn(
            unit_id=unit.id,
            kind=AdjustmentKind(kind),
            level=level,
            occurred_on=date(2026, 6, 1),
            reason="承办",
        )
        service.add_bonus(world.session, data, ACTOR)
    service.add_deduction(
        world.session,
        AdjustmentIn(
            unit_id=unit.id,
            kind=AdjustmentKind.PERFUNCTORY,
            points=2,
            occurred_on=date(2026, 9, 1),
            reason="敷衍",
        ),
        ACTOR,
    )
    scores = {s.unit_name: s for s in service.annual_scores(world.session, settings, xixiang, 2026, as_of=YEAR_END)}
    # Q1 = plan 1.5 + materials 2 + awareness 10 + summaries 5 − 3 × 0.5 = 17; Q2–Q4 = 1.5 + 10 + 3.5 = 15
    # average (17 + 15 × 3) / 4 = 15.5; bonus 0.5 + 2 + 1 + 0 (county research is not in the table) = 3.5; −2
    assert scores["年度单位"].score == 17.0
    assert scores["年度单位"].items["bonus"] == 3.5 and scores["年度单位"].items["deduction"] == -2.0
    assert scores["对照单位"].score == 13.5  # 10 + 3.5 each quarter
    assert scores["年度单位"].warning is False  # 西乡 sets no warning line
    explanation = service.explain_unit(world.session, settings, xixiang, unit.id, 2026, as_of=YEAR_END)
    assert explanation.total == 17.0
    bonus = next(i for i in explanation.items if i.key == "bonus")
    assert any("不在加分表内" in line for line in bonus.lines)
    plan = next(i for i in explanation.items if i.key == "plan")
    assert plan.lines[-1] == "3.5 + 1.5 + 1.5 + 1.5 = 8，÷ 4 个季度 = 2 分"


def test_quarter_table_has_the_six_items(world: World, settings: Settings, xixiang) -> None:
    world.unit("县妇联")
    table = service.quarter_table(world.session, settings, xixiang, 2026, 2, as_of=YEAR_END)
    assert [c.title for c in table.columns] == [
        "计划总结资料上传",
        "队伍建设",
        "活动开展",
        "打造品牌",
        "媒体宣传",
        "反馈评价",
    ]
    assert sum(c.max_points or 0 for c in table.columns) == 100


@pytest.mark.parametrize("quarter", [0, 5])
def test_quarter_out_of_range_is_refused(world: World, settings: Settings, xixiang, quarter: int) -> None:
    with pytest.raises(service.ScoringError, match="季度应为 1–4"):
        service.quarter_table(world.session, settings, xixiang, 2026, quarter)
