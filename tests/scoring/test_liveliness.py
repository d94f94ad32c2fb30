"""Monthly 活跃度 ranking: daily caps, repost photos, ties, and staff corrections moving a rank."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from classifier.models import ReportTag
from ingest.models import Report
from scoring import service
from tests.scoring.conftest import World
from wenming.settings import Settings


def _by_name(ranking) -> dict:  # type: ignore[no-untyped-def]
    return {row.unit_name: row for row in ranking.rows}


def test_a_flood_in_one_day_does_not_beat_a_steady_poster(world: World, settings: Settings, changxing) -> None:
    flood = world.unit("刷屏单位")
    steady = world.unit("持续单位")
    for _ in range(50):
        world.report(flood, date(2026, 10, 9), photos=9)
    for day in (3, 10, 17, 24):
        world.report(steady, date(2026, 10, day), photos=1)
    rows = _by_name(service.monthly_ranking(world.session, settings, changxing, 2026, 10))
    # flood: min(50, 2) + 1 day + 0.1 × min(450, 9) = 3.9; steady: 4 + 4 + 0.1 × 4 = 8.4
    assert rows["刷屏单位"].liveliness == 3.9
    assert rows["持续单位"].liveliness == 8.4
    assert rows["持续单位"].rank == 1 and rows["刷屏单位"].rank == 2
    assert rows["刷屏单位"].practice_count == 50 and rows["刷屏单位"].photos == 450
    assert rows["刷屏单位"].meets_minimum and rows["持续单位"].meets_minimum


def test_reposted_photos_earn_nothing(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("转发单位")
    world.report(unit, date(2026, 10, 9), photos=6, repost=True)
    world.report(unit, date(2026, 10, 10), photos=2)
    row = service.monthly_ranking(world.session, settings, changxing, 2026, 10).rows[0]
    assert row.photos == 2
    assert row.liveliness == 2 + 2 + 0.2
    assert row.practice_count == 2  # the report itself still counts as an activity


def test_only_practice_and_volunteer_reports_are_lively(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("宣传单位")
    world.report(unit, date(2026, 10, 1), ("news",), photos=5)
    world.report(unit, date(2026, 10, 2), ("other",), photos=5)
    world.report(unit, date(2026, 10, 3), ("volunteer", "news"), photos=1)
    row = service.monthly_ranking(world.session, settings, changxing, 2026, 10).rows[0]
    assert row.label_counts == {"practice": 0, "pairing": 0, "news": 2, "volunteer": 1, "other": 1}
    assert row.active_days == 1 and row.photos == 1
    assert row.liveliness == 1 + 1 + 0.1
    assert not row.meets_minimum  # 1 < 2 practice activities


def test_ties_share_a_rank_and_more_active_days_break_them(world: World, settings: Settings, changxing) -> None:
    bursty = world.unit("丙单位")
    steady_a = world.unit("甲单位")
    steady_b = world.unit("乙单位")
    world.unit("丁单位")
    for day in (5, 6):  # 2 days × 2 reports: 4 + 2 = 6
        world.report(bursty, date(2026, 10, day))
        world.report(bursty, date(2026, 10, day))
    for unit in (steady_a, steady_b):  # 3 days × 1 report: 3 + 3 = 6
        for day in (5, 12, 19):
            world.report(unit, date(2026, 10, day))
    ranking = service.monthly_ranking(world.session, settings, changxing, 2026, 10)
    assert [(r.rank, r.unit_name, r.liveliness) for r in ranking.rows] == [
        (1, "乙单位", 6.0),
        (1, "甲单位", 6.0),
        (3, "丙单位", 6.0),  # same liveliness, fewer active days
        (4, "丁单位", 0.0),
    ]
    assert "并列" in ranking.tie_rule


def test_inactive_units_are_not_ranked(world: World, settings: Settings, changxing) -> None:
    world.unit("在册单位")
    gone = world.unit("撤销单位")
    gone.active = False
    world.session.flush()
    names = [r.unit_name for r in service.monthly_ranking(world.session, settings, changxing, 2026, 10).rows]
    assert names == ["在册单位"]


def test_a_staff_correction_moves_a_rank(world: World, settings: Settings, changxing) -> None:
    leader = world.unit("领先单位")
    runner = world.unit("追赶单位")
    for day in (1, 2):
        world.report(leader, date(2026, 10, day))
    world.report(runner, date(2026, 10, 1))
    mislabelled = world.report(runner, date(2026, 10, 3), ("other",))
    world.report(runner, date(2026, 10, 4))
    before = _by_name(service.monthly_ranking(world.session, settings, changxing, 2026, 10))
    assert before["领先单位"].rank == 1 and before["追赶单位"].liveliness == 4.0
    # staff relabel the report as practice: a correction rewrites the tags and the mirrored label and status
    tag = world.session.scalars(select(ReportTag).where(ReportTag.report_id == mislabelled.id)).one()
    tag.label = "practice"
    report = world.session.get(Report, mislabelled.id)
    assert report is not None
    report.label, report.status = "practice", "corrected"
    world.session.flush()
    after = _by_name(service.monthly_ranking(world.session, settings, changxing, 2026, 10))
    assert after["追赶单位"].liveliness == 6.0 and after["追赶单位"].rank == 1
    assert after["领先单位"].rank == 2


def test_a_secondary_label_alone_makes_a_report_count(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("兼报单位")
    world.report(unit, date(2026, 10, 2), ("other", "practice"), photos=3)
    world.report(unit, date(2026, 10, 3), ("news", "volunteer", "practice"), photos=1)
    row = service.monthly_ranking(world.session, settings, changxing, 2026, 10).rows[0]
    assert row.practice_count == 2  # once each, though the second has two practice-group labels
    assert row.photos == 4 and row.active_days == 2
    assert row.label_counts == {"practice": 2, "pairing": 0, "news": 1, "volunteer": 1, "other": 1}


def test_month_boundary_uses_shanghai_midnight(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("跨月单位")
    world.report(unit, datetime(2026, 10, 31, 15, 59, tzinfo=UTC))  # 23:59 on 31 Oct local
    world.report(unit, datetime(2026, 10, 31, 16, 1, tzinfo=UTC))  # 00:01 on 1 Nov local
    october = service.monthly_ranking(world.session, settings, changxing, 2026, 10)
    november = service.monthly_ranking(world.session, settings, changxing, 2026, 11)
    assert october.rows[0].practice_count == 1 and november.rows[0].practice_count == 1
    assert november.start == date(2026, 11, 1) and november.end == date(2026, 12, 1)


def test_withdrawn_reports_never_count(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("撤回单位")
    world.report(unit, date(2026, 10, 9), photos=3)
    world.report(unit, date(2026, 10, 10), photos=4, status="withdrawn")  # its sender recalled it
    world.report(unit, date(2026, 10, 11), ("volunteer",), status="withdrawn")
    row = service.monthly_ranking(world.session, settings, changxing, 2026, 10).rows[0]
    assert row.practice_count == 1 and row.active_days == 1 and row.photos == 3
    assert row.label_counts["volunteer"] == 0
