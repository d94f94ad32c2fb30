"""长兴 2020: every rule of 附件1 checked against hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from scoring import closing, service
from scoring.schemas import CriticismIn, MediaAdoptionIn, PairingSheetIn, VolunteerStatsIn
from tests.scoring.conftest import World
from wenming.settings import Settings

YEAR_END = date(2026, 12, 31)


def _row(table, unit_id: int):  # type: ignore[no-untyped-def]
    return next(r for r in table.rows if r.unit_id == unit_id)


def _item(explanation, key: str):  # type: ignore[no-untyped-def]
    return next(i for i in explanation.items if i.key == key)


def test_practice_two_a_month_with_half_credit_for_one(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县教育局")
    world.report(unit, date(2026, 10, 3))
    world.report(unit, date(2026, 10, 20), ("practice", "volunteer"))  # counts once, not twice
    world.report(unit, date(2026, 11, 5), ("volunteer",))  # volunteer service is a practice activity
    table = service.quarter_table(world.session, settings, changxing, 2026, 4, as_of=YEAR_END)
    # Oct 2 → 1, Nov 1 → 0.5 (rubric `partial`), Dec 0 → 0: 30 × 1.5 / 3 = 15
    assert _row(table, unit.id).items["practice"] == 15.0


def test_news_one_a_month_and_pairing_per_quarter(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县卫健局")
    world.report(unit, date(2026, 7, 8), ("news",))
    world.report(unit, date(2026, 8, 8), ("news", "practice"))  # secondary label news counts too
    world.report(unit, date(2026, 9, 30), ("pairing",))
    table = service.quarter_table(world.session, settings, changxing, 2026, 3, as_of=YEAR_END)
    row = _row(table, unit.id)
    assert row.items["information"] == round(20 * 2 / 3, 2)  # Jul, Aug yes; Sep no → 13.33
    assert row.items["pairing"] == 20.0  # one pairing report in the quarter
    assert row.items["cooperation"] == 20.0
    assert row.items["practice"] == 5.0  # the August report is also 1 practice activity: 30 × 0.5 / 3
    assert row.total == round(5 + 20 + 20 * 2 / 3 + 20, 2)


def test_pairing_sheet_required_when_rubric_says_sheet(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县司法局")
    other = world.unit("县民政局")
    world.report(unit, date(2026, 8, 1), ("pairing",))
    service.add_pairing_sheet(
        world.session,
        PairingSheetIn(unit_id=other.id, year=2026, quarter=3, partner="城东村"),
        actor="郑书洋",
    )
    strict = changxing.model_copy(
        update={
            "items": changxing.items.model_copy(
                update={"pairing": changxing.items.pairing.model_copy(update={"evidence": "sheet"})}
            )
        }
    )
    table = service.quarter_table(world.session, settings, strict, 2026, 3, as_of=YEAR_END)
    assert _row(table, unit.id).items["pairing"] == 0.0
    assert _row(table, other.id).items["pairing"] == 20.0


def test_adoptions_cap_at_ten(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县文旅局")
    for i in range(4):  # 4 central articles × 3 = 12 → capped at 10
        service.add_media_adoption(
            world.session,
            MediaAdoptionIn(
                unit_id=unit.id,
                title=f"稿件{i}",
                outlet="人民网",
                level="中央",
                published_on=date(2026, 5, i + 1),
            ),
            actor="郑书洋",
        )
    explanation = service.explain_unit(world.session, settings, changxing, unit.id, 2026, as_of=YEAR_END)
    adoption = _item(explanation, "adoption")
    assert adoption.points == 10.0
    assert "4 篇合计 12 分，加满 10 分为止 → 10 分" in adoption.lines[-1]
    assert len(adoption.record_ids) == 4


def test_same_article_counts_once_at_its_highest_level(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县农业农村局")
    facts = {
        "outlet": "长兴新闻网",
        "outlet_level": "county",
        "article_title": "《我局开展“文明餐桌”志愿服务》",
    }
    notice = world.report(unit, date(2026, 4, 2), ("news",), facts=facts)
    # staff enter the provincial adoption of the same article, spelled with different spaces/quotes
    service.add_media_adoption(
        world.session,
        MediaAdoptionIn(
            unit_id=unit.id,
            title="我局开展 “文明餐桌” 志愿服务",
            outlet="浙江文明网",
            level="省级",
            published_on=date(2026, 4, 9),
        ),
        actor="郑书洋",
    )
    # a second article found only by the classifier, city level
    other = world.report(
        unit,
        date(2026, 4, 12),
        ("news",),
        facts={"outlet_level": "city", "article_title": "城乡结对共建见成效"},
    )
    # a staff record linked to that report (no need to retype the title the same way) does not double count
    service.add_media_adoption(
        world.session,
        MediaAdoptionIn(
            unit_id=unit.id,
            title="结对共建",
            outlet="湖州日报",
            level="city",
            published_on=date(2026, 4, 13),
            report_id=other.id,
        ),
        actor="郑书洋",
    )
    table = service.quarter_table(world.session, settings, changxing, 2026, 2, as_of=YEAR_END)
    # province 2 (not 2 + 0.5) + city 1 = 3; news: Apr 2 of 3 months → 20/3
    assert _row(table, unit.id).items["information"] == round(20 / 3 + 3, 2)
    explanation = service.explain_unit(world.session, settings, changxing, unit.id, 2026, as_of=YEAR_END)
    adoption = _item(explanation, "adoption")
    assert adoption.points == 3.0
    assert notice.id in adoption.report_ids
    assert any("省级" in line and "取最高级别" in line for line in adoption.lines)


def test_criticism_minus_five_each_down_to_zero(world: World, settings: Settings, changxing) -> None:
    twice = world.unit("县住建局")
    often = world.unit("县市场监管局")
    for unit, times in ((twice, 2), (often, 5)):
        for i in range(times):
            service.add_criticism(
                world.session,
                CriticismIn(unit_id=unit.id, occurred_on=date(2026, 3, i + 1), reason="创建任务落实不到位"),
                actor="督查组",
            )
    scores = {s.unit_id: s for s in service.annual_scores(world.session, settings, changxing, 2026, as_of=YEAR_END)}
    assert scores[twice.id].items["cooperation"] == 10.0
    assert scores[often.id].items["cooperation"] == 0.0  # 20 − 25 floors at 0
    line = _item(
        service.explain_unit(world.session, settings, changxing, often.id, 2026, as_of=YEAR_END),
        "cooperation",
    )
    assert line.lines[-1] == "20 − 5 × 5 次通报批评，扣完为止 = 0 分"


def test_volunteer_ratio_flags(world: World, settings: Settings, changxing) -> None:
    county_ok = world.unit("甲", "county")
    county_low = world.unit("乙", "county")
    provincial = world.unit("丙", "provincial")
    no_stats = world.unit("丁", "national")
    cases = ((county_ok, 13, 12), (county_low, 12, 12), (provincial, 49, 44))
    for unit, registered, active in cases:
        service.set_volunteer_stats(
            world.session,
            VolunteerStatsIn(
                unit_id=unit.id, year=2026, quarter=2, headcount=100, registered=registered, active=active
            ),
            actor="郑书洋",
        )
    scores = {
        s.unit_id: s.volunteer for s in service.annual_scores(world.session, settings, changxing, 2026, as_of=YEAR_END)
    }
    assert scores[county_ok.id].registered_ok is True  # 13% ≥ 13%
    assert scores[county_ok.id].active_ok is True  # 12/13 = 92% ≥ 90%
    assert scores[county_low.id].registered_ok is False  # 12% < 13%
    assert scores[county_low.id].active_ok is True  # 12/12
    assert scores[provincial.id].required_registered_ratio == 0.5
    assert scores[provincial.id].registered_ok is False  # 49% < 50% for provincial units
    assert scores[provincial.id].active_ok is False  # 44/49 = 89.8% < 90%
    assert scores[no_stats.id].registered_ok is None


def test_warning_below_70_and_rectification_after_two_years(world: World, settings: Settings, changxing) -> None:
    steady = world.unit("稳定单位")
    idle = world.unit("落后单位")
    for month in range(1, 13):  # 2025: full practice and news marks, pairing sheets every quarter
        world.report(steady, date(2025, month, 3))
        world.report(steady, date(2025, month, 10))
        world.report(steady, date(2025, month, 12), ("news",))
    for quarter in range(1, 5):
        service.add_pairing_sheet(
            world.session,
            PairingSheetIn(unit_id=steady.id, year=2025, quarter=quarter, partner="西溪村"),
            actor="郑书洋",
        )
    world.report(idle, date(2025, 6, 1), ("other",))
    # 2025 counts for the two-year rule only once staff closed and published it
    closing.close(world.session, settings, changxing, "2025", "郑书洋", as_of=date(2026, 1, 5))
    closing.publish(world.session, changxing, "2025", "郑书洋")
    scores = {s.unit_id: s for s in service.annual_scores(world.session, settings, changxing, 2026, as_of=YEAR_END)}
    # 2025 steady: 30 + 20 + 20 + 0 + 20 = 90; 2026: only 重点工作配合 20
    assert scores[steady.id].previous_score == 90.0
    assert scores[steady.id].score == 20.0
    assert scores[steady.id].warning is True
    assert scores[steady.id].rectification is False  # above 70 the year before
    assert scores[steady.id].year_over_year == -70.0
    assert scores[steady.id].two_year_average == 55.0
    assert scores[steady.id].review_component == 27.5  # 50% of the two-year average
    assert scores[idle.id].previous_score == 20.0
    assert scores[idle.id].rectification is True  # below 70 two years running
    assert scores[steady.id].rank == scores[idle.id].rank == 1  # tied at 20


def test_first_year_of_use_has_no_rectification(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("新建单位")
    world.report(unit, date(2026, 2, 1))
    score = next(s for s in service.annual_scores(world.session, settings, changxing, 2026, as_of=YEAR_END))
    assert score.warning is True
    assert score.previous_score is None and score.rectification is False


def test_quarter_boundary_at_midnight_shanghai(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县财政局")
    world.report(unit, datetime(2026, 9, 30, 15, 59, 59, tzinfo=UTC), ("news",))  # 23:59:59 on 30 Sep in Shanghai
    world.report(unit, datetime(2026, 9, 30, 16, 0, 0, tzinfo=UTC), ("news",))  # 00:00 on 1 Oct in Shanghai
    q3 = service.quarter_table(world.session, settings, changxing, 2026, 3, as_of=YEAR_END)
    q4 = service.quarter_table(world.session, settings, changxing, 2026, 4, as_of=YEAR_END)
    assert _row(q3, unit.id).items["information"] == round(20 / 3, 2)  # September only
    assert _row(q4, unit.id).items["information"] == round(20 / 3, 2)  # October only
    sep = service.monthly_ranking(world.session, settings, changxing, 2026, 9)
    oct_ = service.monthly_ranking(world.session, settings, changxing, 2026, 10)
    assert sep.rows[0].label_counts["news"] == 1 and oct_.rows[0].label_counts["news"] == 1


def test_backdated_report_counts_on_its_activity_date(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县发改局")
    world.report(unit, date(2026, 11, 2), activity_date=date(2026, 10, 30))
    world.report(unit, date(2026, 10, 12))
    october = service.monthly_ranking(world.session, settings, changxing, 2026, 10).rows[0]
    assert october.practice_count == 2
    by_post = changxing.model_copy(
        update={"counting": changxing.counting.model_copy(update={"date_basis": "post_date"})}
    )
    assert service.monthly_ranking(world.session, settings, by_post, 2026, 10).rows[0].practice_count == 1
    assert service.monthly_ranking(world.session, settings, by_post, 2026, 11).rows[0].practice_count == 1


def test_needs_review_counts_only_when_the_rubric_says_so(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县统计局")
    world.report(unit, date(2026, 10, 3))
    world.report(unit, date(2026, 10, 4), status="needs_review")
    world.report(unit, date(2026, 10, 5), status="unclassified")
    assert service.monthly_ranking(world.session, settings, changxing, 2026, 10).rows[0].practice_count == 1
    lenient = changxing.model_copy(
        update={"counting": changxing.counting.model_copy(update={"count_needs_review": True})}
    )
    assert service.monthly_ranking(world.session, settings, lenient, 2026, 10).rows[0].practice_count == 2


def test_quarter_table_has_the_attachment_3_layout(world: World, settings: Settings, changxing) -> None:
    world.unit("县委党校")
    table = service.quarter_table(world.session, settings, changxing, 2026, 3, as_of=YEAR_END)
    assert [c.title for c in table.columns] == [
        "常态化开展文明实践活动",
        "开展结对共建活动",
        "信息材料报送",
        "重点工作配合",
    ]
    assert [c.max_points for c in table.columns] == [30, 20, 30, 20]
    assert table.title == "2026年第3季度 长兴县各级文明单位创建动态管理量化考核（季度）汇总表"


def test_explanation_names_reports_and_arithmetic(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县人社局")
    first = world.report(unit, date(2026, 3, 4))
    second = world.report(unit, date(2026, 3, 18))
    explanation = service.explain_unit(world.session, settings, changxing, unit.id, 2026, as_of=YEAR_END)
    practice = _item(explanation, "practice")
    assert f"3月：2 次实践活动 → 满分（报送 #{first.id}、#{second.id}）" in practice.lines
    assert practice.lines[-1] == "30 × 1 / 12 个月 = 2.5 分"
    assert practice.report_ids == [first.id, second.id]
    assert explanation.total == 2.5 + 20
    assert "预计低于 70 分：年终可能发出预警" in explanation.notes  # the year is not closed
    assert "年度尚未关账，预警与整改以关账公布的年度得分为准" in explanation.notes  # as of 31 December


def test_in_progress_year_counts_started_months(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县科协")
    for month in (1, 2, 3):
        world.report(unit, date(2026, month, 5))
        world.report(unit, date(2026, month, 6))
    explanation = service.explain_unit(world.session, settings, changxing, unit.id, 2026, as_of=date(2026, 3, 20))
    assert _item(explanation, "practice").points == 30.0  # 3 of 3 started months
    assert explanation.notes[:2] == ["计分范围：2026年全年", "按已计入的 1—3 月（3 个月）计算"]


def test_criticism_entered_changes_the_score_at_once(
    session: Session, world: World, settings: Settings, changxing
) -> None:
    unit = world.unit("县医保局")
    before = service.quarter_table(world.session, settings, changxing, 2026, 1, as_of=YEAR_END)
    record = service.add_criticism(
        world.session,
        CriticismIn(unit_id=unit.id, occurred_on=date(2026, 2, 1), reason="迟报"),
        actor="督查组",
    )
    after = service.quarter_table(world.session, settings, changxing, 2026, 1, as_of=YEAR_END)
    assert _row(before, unit.id).total - _row(after, unit.id).total == 5
    service.void_record(world.session, "criticism", record.id, "督查组", "通报已撤回")
    restored = service.quarter_table(world.session, settings, changxing, 2026, 1, as_of=YEAR_END)
    assert _row(restored, unit.id).total == _row(before, unit.id).total


def test_tables_and_explanations_agree(world: World, settings: Settings, changxing, xixiang) -> None:
    """The table path skips writing lines; its numbers must equal the explained ones for every unit."""
    busy = world.unit("忙碌单位")
    quiet = world.unit("清闲单位")
    for month in (2, 3, 5, 8, 11):
        world.report(busy, date(2026, month, 4), ("practice", "news"), photos=2)
        world.report(busy, date(2026, month, 9), ("volunteer",), facts={"volunteer_hours": 3, "participants": 4})
    world.report(quiet, date(2026, 6, 1), ("pairing",))
    world.report(quiet, date(2026, 7, 1), ("news",), facts={"outlet_level": "province", "article_title": "一篇"})
    service.add_criticism(
        world.session, CriticismIn(unit_id=quiet.id, occurred_on=date(2026, 9, 1), reason="迟报"), actor="甲"
    )
    for rubric in (changxing, xixiang):
        scores = service.annual_scores(world.session, settings, rubric, 2026, as_of=YEAR_END)
        for score in scores:
            explained = service.explain_unit(world.session, settings, rubric, score.unit_id, 2026, as_of=YEAR_END)
            assert explained.total == score.score, (rubric.name, score.unit_name)
