"""Coverage, as-of, the two-year rule's history, close/publish with adjustments, appeals and unit links."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from classifier import service as classifier_service
from scoring import appeals, closing, service, unit_links
from scoring.models import AppealTarget
from scoring.schemas import AnnualScoreIn, AppealIn, AppealResolveIn, CriticismIn
from tests.scoring.conftest import World
from wenming.audit import AuditEntry
from wenming.settings import Settings


def _by_unit(scores):  # type: ignore[no-untyped-def]
    return {s.unit_id: s for s in scores}


def test_months_before_coverage_are_no_data_and_open_years_are_provisional(
    world: World, settings: Settings, changxing
) -> None:
    early = world.unit("县教育局")
    late = world.unit("县科协")
    future = world.unit("县档案馆")
    late.scoring_start = "2026-05"
    future.scoring_start = "2027-01"
    for month in (3, 4, 5, 6):
        world.report(early, date(2026, month, 4))
        world.report(early, date(2026, month, 9))
        world.report(late, date(2026, month, 4))
        world.report(late, date(2026, month, 9))
    office = settings.model_copy(update={"scoring_start": "2026-03"})
    scores = _by_unit(service.annual_scores(world.session, office, changxing, 2026, as_of=date(2026, 6, 30)))
    assert future.id not in scores  # no covered month: not ranked as zero
    assert service.uncovered_units(world.session, office, 2026) == ["县档案馆"]
    first = scores[early.id]
    assert first.coverage == "2026年3—12月" and first.through == "2026年6月"
    # projection: 4 of 4 covered months met → 30 + 20 (cooperation); pairing 0 of 2 quarters, news 0
    assert first.score == 50.0
    # earned so far on the full-year scale: 30 × 4 / 10 covered months = 12, + 20
    assert first.running_total == 32.0
    assert first.provisional is True and first.warning is True  # below 70, but only 预计
    assert scores[late.id].coverage == "2026年5—12月"  # March and April reports do not count for it
    assert scores[late.id].running_total == round(30 * 2 / 8 + 20, 2)
    april = service.monthly_ranking(world.session, office, changxing, 2026, 4)
    assert {r.unit_name for r in april.rows} == {"县教育局"} and april.no_data == ["县档案馆", "县科协"]
    explanation = service.explain_unit(world.session, office, changxing, future.id, 2026, as_of=date(2026, 6, 30))
    assert explanation.total is None and explanation.notes == ["2026年无数据：计分自 2027年1月 起"]


def test_stray_report_is_no_history_but_an_entered_annual_score_is(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县水利局")
    world.report(unit, date(2025, 12, 31), ("other",))  # one stray report in 2025
    end = date(2026, 12, 31)
    score = _by_unit(service.annual_scores(world.session, settings, changxing, 2026, as_of=end))[unit.id]
    assert score.previous_score is None and score.rectification is False and score.two_year_average is None
    service.add_annual_score(
        world.session, AnnualScoreIn(unit_id=unit.id, year=2025, score=62, document="长文明办〔2026〕3号"), "郑书洋"
    )
    closing.close(world.session, settings, changxing, "2026", "郑书洋", as_of=date(2027, 1, 4))
    score = _by_unit(service.annual_scores(world.session, settings, changxing, 2026, as_of=end))[unit.id]
    assert score.previous_score == 62.0 and score.previous_source == "entered"
    assert score.provisional is False and score.rectification is True  # 20 now, 62 entered for 2025
    assert score.two_year_average == 41.0
    closing.publish(world.session, changxing, "2026", "郑书洋")
    published = service.published_board(world.session, changxing.name, "year", 2026, 0)
    assert [(s.unit_name, s.provisional, s.rectification) for s in published] == [("县水利局", False, True)]


def test_published_october_keeps_its_ranking_until_republished(world: World, settings: Settings, changxing) -> None:
    a, b = world.unit("甲单位"), world.unit("乙单位")
    world.report(a, date(2026, 10, 5), photos=3)
    world.report(a, date(2026, 10, 6))
    late_label = world.report(b, date(2026, 10, 7), ("other",))
    after = date(2026, 11, 3)
    with pytest.raises(service.ScoringError, match="尚未结束"):
        closing.close(world.session, settings, changxing, "2026-10", "郑书洋", as_of=date(2026, 10, 20))
    closing.close(world.session, settings, changxing, "2026-10", "郑书洋", as_of=after)
    with pytest.raises(service.ScoringError, match="2026年10月已关账，如需更改请先重开"):
        closing.close(world.session, settings, changxing, "2026-10", "郑书洋", as_of=after)
    closing.publish(world.session, changxing, "2026-10", "郑书洋")
    published_b = next(r for r in closing.result(world.session, settings, changxing, "2026-10", after).rows)
    assert published_b.unit_name == "甲单位" and published_b.adjustment is None
    # a correction in November turns 乙单位's October report into a practice activity
    classifier_service.correct_classification(
        world.session, late_label.id, label="practice", actor="郑书洋", reason="实为志愿服务活动"
    )
    shown = closing.result(world.session, settings, changxing, "2026-10", after)
    row_b = next(r for r in shown.rows if r.unit_id == b.id)
    assert row_b.published == 0.0 and row_b.current == 2.0 and row_b.adjustment == "现为 2（+2）"
    assert any("实为志愿服务活动" in reason for reason in row_b.reasons)
    board, period = closing.published_board(world.session, changxing.name, "2026-10")  # type: ignore[misc]
    assert [r.unit_name for r in board.rows] == ["甲单位", "乙单位"] and period.state == "published"
    assert next(r for r in board.rows if r.unit_id == b.id).liveliness == 0.0  # posts keep the published figure
    closing.republish(world.session, settings, changxing, "2026-10", "郑书洋", "吸收 11 月更正", as_of=after)
    again = closing.result(world.session, settings, changxing, "2026-10", after)
    assert again.adjusted == 0 and next(r for r in again.rows if r.unit_id == b.id).published == 2.0
    transitions = [e.after["state"] for e in closing.period_history(world.session, changxing.name, "2026-10")]
    assert transitions == ["closed", "published", "published"]


def test_open_appeal_blocks_closing_unless_overridden(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县审计局")
    report = world.report(unit, date(2026, 10, 9), ("other",))
    appeals.file(
        world.session,
        settings,
        unit.id,
        AppealIn(target=AppealTarget.REPORT, report_id=report.id, wanted_label="practice", reason="这是实践活动"),
        "unit-link:1",
        now=date(2026, 11, 2),
    )
    with pytest.raises(service.ScoringError, match="1 条待处理的申诉"):
        closing.close(world.session, settings, changxing, "2026-10", "郑书洋", as_of=date(2026, 11, 3))
    closed = closing.close(
        world.session, settings, changxing, "2026-10", "郑书洋", as_of=date(2026, 11, 3), override="通报会议前必须关账"
    )
    assert closed.state == "closed"
    entry = world.session.scalars(select(AuditEntry).where(AuditEntry.kind == "scoring_period")).one()
    assert entry.reason == "通报会议前必须关账" and entry.after["open_appeals"] == 1


def test_appeal_accepted_changes_the_score_and_is_audited(world: World, settings: Settings, changxing) -> None:
    unit, other = world.unit("县交通局"), world.unit("县城管局")
    report = world.report(unit, date(2026, 10, 9), ("other",))
    foreign = world.report(other, date(2026, 10, 9), ("other",))
    now = date(2026, 11, 2)
    with pytest.raises(appeals.AppealNotFound):  # another unit's report cannot be disputed (nor revealed)
        appeals.file(
            world.session,
            settings,
            unit.id,
            AppealIn(target=AppealTarget.REPORT, report_id=foreign.id, reason="不是我们的"),
            "unit-link:1",
            now=now,
        )
    with pytest.raises(appeals.AppealRefused, match="申诉期限"):
        appeals.file(
            world.session,
            settings,
            unit.id,
            AppealIn(target=AppealTarget.REPORT, report_id=report.id, reason="太晚了"),
            "unit-link:1",
            now=date(2026, 11, 16),  # October + 15 days
        )
    filed = appeals.file(
        world.session,
        settings,
        unit.id,
        AppealIn(target=AppealTarget.REPORT, report_id=report.id, wanted_label="practice", reason="这是实践活动"),
        "unit-link:1",
        now=now,
    )
    assert [a.id for a in appeals.list_appeals(world.session, status="open")] == [filed.id]
    done = appeals.resolve(world.session, filed.id, "郑书洋", AppealResolveIn(accept=True, note="核实属实"))
    assert done.status_zh == "已采纳" and "更正为「文明实践」" in (done.resolution or "")
    ranking = service.monthly_ranking(world.session, settings, changxing, 2026, 10)
    assert next(r for r in ranking.rows if r.unit_id == unit.id).practice_count == 1
    kinds = [e.kind for e in world.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert kinds == ["appeal", "classification", "appeal"]
    with pytest.raises(appeals.AppealRefused, match="已采纳"):
        appeals.resolve(world.session, filed.id, "郑书洋", AppealResolveIn(accept=False, note="再驳回"))


def test_record_appeal_rejected_keeps_the_record(world: World, settings: Settings, changxing) -> None:
    unit = world.unit("县林业局")
    record = service.add_criticism(
        world.session, CriticismIn(unit_id=unit.id, occurred_on=date(2026, 10, 12), reason="迟报"), "郑书洋"
    )
    filed = appeals.file(
        world.session,
        settings,
        unit.id,
        AppealIn(target=AppealTarget.RECORD, record_kind="criticism", record_id=record.id, reason="已按时报送"),
        "unit-link:2",
        now=date(2026, 10, 20),
    )
    done = appeals.resolve(world.session, filed.id, "郑书洋", AppealResolveIn(accept=False, note="督查记录显示迟报"))
    assert done.status == "rejected" and done.resolution == "督查记录显示迟报"
    assert service.list_records(world.session, unit.id, 2026)[0].voided_at is None


def test_appeal_rate_limit_per_link(world: World, settings: Settings) -> None:
    unit = world.unit("县统计局")
    strict = settings.model_copy(update={"appeal_rate_per_hour": 2})
    data = AppealIn(target=AppealTarget.MISSING, happened_on=date(2026, 10, 9), reason="10月9日的活动未计入")
    for _ in range(2):
        appeals.file(world.session, strict, unit.id, data, "unit-link:7", link_id=7, now=date(2026, 10, 20))
    with pytest.raises(appeals.AppealRateLimited):
        appeals.file(world.session, strict, unit.id, data, "unit-link:7", link_id=7, now=date(2026, 10, 20))


def test_unit_links_are_signed_per_unit_expire_and_revoke(world: World, settings: Settings) -> None:
    unit, other = world.unit("县气象局"), world.unit("县烟草局")
    with pytest.raises(unit_links.LinksDisabled, match="WENMING_UNIT_LINK_SECRET"):
        unit_links.issue(world.session, settings, unit.id, "郑书洋")
    signed = settings.model_copy(
        update={"unit_link_secret": SecretStr("x" * 32), "public_url": "https://wm.example.cn/", "unit_link_days": 30}
    )
    link = unit_links.issue(world.session, signed, unit.id, "郑书洋")
    assert link.url is not None and link.url.startswith(f"https://wm.example.cn/u/{unit.id}/")
    token = link.url.rsplit("/", 1)[1]
    assert unit_links.verify(world.session, signed, unit.id, token).unit_id == unit.id
    with pytest.raises(unit_links.LinkNotFound):
        unit_links.verify(world.session, signed, other.id, token)  # another unit's id in the URL
    expiry, sig = token.split(".")
    with pytest.raises(unit_links.LinkNotFound):
        unit_links.verify(world.session, signed, unit.id, f"{int(expiry) + 86400}.{sig}")  # forged expiry
    later = datetime.now(UTC) + timedelta(days=31)
    with pytest.raises(unit_links.LinkExpired, match="过期"):
        unit_links.verify(world.session, signed, unit.id, token, now=later)
    assert unit_links.revoke(world.session, unit.id, "郑书洋", "联络员更换") == 1
    with pytest.raises(unit_links.LinkExpired, match="停用"):
        unit_links.verify(world.session, signed, unit.id, token)


def test_record_entered_after_publication_is_an_adjustment_with_its_reason(
    world: World, settings: Settings, changxing
) -> None:
    unit = world.unit("县住建局")
    after = date(2027, 1, 5)
    closing.close(world.session, settings, changxing, "2026Q4", "郑书洋", as_of=after)
    closing.publish(world.session, changxing, "2026Q4", "郑书洋")
    service.add_criticism(
        world.session,
        CriticismIn(unit_id=unit.id, occurred_on=date(2026, 11, 10), reason="创建任务落实不到位"),
        "郑书洋",
    )
    row = closing.result(world.session, settings, changxing, "2026Q4", after).rows[0]
    assert row.delta == -5.0 and row.adjustment == f"现为 {row.current:g}（-5）"
    assert any("新录入通报批评" in why and "创建任务落实不到位" in why for why in row.reasons)


def test_as_of_reads_nothing_dated_later(world: World, settings: Settings, changxing, xixiang) -> None:
    unit = world.unit("县侨联")
    world.report(unit, date(2026, 8, 4))
    world.report(unit, date(2026, 8, 20))  # after the as-of day
    service.add_criticism(
        world.session, CriticismIn(unit_id=unit.id, occurred_on=date(2026, 8, 25), reason="迟报"), "郑书洋"
    )
    early = service.quarter_table(world.session, settings, changxing, 2026, 3, as_of=date(2026, 8, 10)).rows[0]
    late = service.quarter_table(world.session, settings, changxing, 2026, 3, as_of=date(2026, 8, 31)).rows[0]
    assert early.items["practice"] == 7.5 and early.items["cooperation"] == 20.0  # 30 × 0.5 / 2 months, no criticism
    assert late.items["practice"] == 15.0 and late.items["cooperation"] == 15.0
    before = service.quarter_table(world.session, settings, xixiang, 2026, 3, as_of=date(2026, 8, 19)).rows[0].items
    on = service.quarter_table(world.session, settings, xixiang, 2026, 3, as_of=date(2026, 8, 20)).rows[0].items
    assert {k for k in before if before[k] != on[k]} == {"activity"}  # only the second service moved it
