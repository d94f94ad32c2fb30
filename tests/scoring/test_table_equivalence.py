"""The all-units tables and the one-unit explanation are two computations of one score: they must agree.

The tables read grouped SQL and vectorised arithmetic; the explanations and the references below walk one unit
(or one report) at a time. Edge cases the table path could break: coverage starting mid-year or mid-quarter or
after the year, withdrawn / unclassified / needs-review reports, secondary tags that bring a group the primary
label does not, adoption records linked to reports and titles that differ only in punctuation, voided records,
bonus and deduction entries, a closed and published period, several as-of days, units without reports and ties.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from classifier.models import ReportTag
from ingest.models import Report, Unit
from scoring import articles, changxing, closing, repository, service, xixiang
from scoring import models as m
from scoring.changxing import _groups
from scoring.repository import AdoptionCandidate
from tests.scoring.conftest import World
from wenming.settings import Settings

LABELS = [
    ("practice",),
    ("practice", "volunteer"),
    ("news",),
    ("news", "practice"),  # a secondary tag brings the practice group
    ("pairing",),
    ("other", "pairing"),  # … and the pairing group
    ("volunteer",),
    ("volunteer", "news"),
    ("other",),
]
LEVELS = ["county", "city", "province", "central"]
STATUSES = ["classified", "classified", "corrected", "needs_review", "withdrawn", "unclassified"]
TITLES = ["简讯一", "《简讯一》", "简讯 二", "“简讯二”", "简讯三", None]
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _record(world: World, record: object) -> None:
    record.created_by, record.created_at = "测试", NOW  # type: ignore[attr-defined]
    world.session.add(record)


def _generate(world: World, seed: int) -> list[int]:
    """Sixteen units with seeded reports and staff records over 2026; late starters, twins and a silent unit."""
    rng = random.Random(seed)
    units = [
        world.unit(f"县第{n:02d}单位", honour_level=rng.choice(["county", "city", "provincial"])) for n in range(13)
    ]
    units[3].scoring_start = "2026-06"  # mid-year
    units[4].scoring_start = "2026-08"  # mid-quarter: Q3 counts (its last month is covered)
    units[5].scoring_start = "2027-01"  # after the year: 无数据
    silent = world.unit("县无报送单位")  # no reports, no records
    twins = [world.unit("县孪生甲"), world.unit("县孪生乙")]  # identical data: tied ranks, listed by name
    for unit in units:
        for _ in range(rng.randint(0, 45)):
            day = date(2026, rng.randint(1, 11), rng.randint(1, 28))
            labels = rng.choice(LABELS)
            facts = None
            if labels[0] == "news" and rng.random() < 0.6:
                facts = {"outlet": "县融媒体", "outlet_level": rng.choice(LEVELS)}
                title = rng.choice(TITLES)
                if title:
                    facts["article_title"] = title
            if labels[0] == "volunteer" and rng.random() < 0.5:
                facts = {"volunteer_hours": rng.choice([1.0, 2.5]), "participants": rng.randint(1, 9)}
            activity = date(2026, day.month, max(1, day.day - 3)) if rng.random() < 0.3 else None
            report = world.report(
                unit,
                day,
                labels,
                status=rng.choice(STATUSES),
                facts=facts,
                activity_date=activity,
                photos=rng.randint(0, 12),
                repost=rng.random() < 0.1,
            )
            if facts and "outlet_level" in facts and rng.random() < 0.3:  # staff entered it too, linked
                _adoption(world, unit.id, facts.get("article_title") or "报送稿件", day, rng, report.id)
        for _ in range(rng.randint(0, 3)):
            _adoption(world, unit.id, rng.choice([t for t in TITLES if t]), _day(rng), rng, None)
        _records(world, unit.id, rng)
    for twin in twins:
        for day in (3, 9, 9, 17):
            world.report(twin, date(2026, 10, day), ("practice",), photos=3)
    world.session.flush()
    return [u.id for u in [*units, silent, *twins]]


def _day(rng: random.Random) -> date:
    return date(2026, rng.randint(1, 11), rng.randint(1, 28))


def _adoption(world: World, unit_id: int, title: str, day: date, rng: random.Random, report_id: int | None) -> None:
    key = articles.normalize_title(title)
    adoption = m.MediaAdoption(
        unit_id=unit_id,
        title=title,
        title_key=key,
        outlet="湖州日报",
        level=rng.choice(LEVELS),
        published_on=day,
        report_id=report_id,
    )
    _record(world, adoption)
    if rng.random() < 0.15:
        adoption.voided_by, adoption.voided_at, adoption.void_reason = "测试", NOW, "录错"


def _records(world: World, unit_id: int, rng: random.Random) -> None:
    """Criticisms (one voided), pairing sheets, volunteer statistics, 西乡 checks, bonus and deduction entries."""
    for _ in range(rng.randint(0, 3)):
        criticism = m.Criticism(unit_id=unit_id, occurred_on=_day(rng), reason="督查通报")
        _record(world, criticism)
        if rng.random() < 0.3:
            criticism.voided_by, criticism.voided_at, criticism.void_reason = "测试", NOW, "撤回"
    for quarter in range(1, 5):
        if rng.random() < 0.4:
            _record(world, m.PairingSheet(unit_id=unit_id, year=2026, quarter=quarter, partner="城东村"))
        if rng.random() < 0.6:
            registered = rng.randint(0, 80)
            stats = m.VolunteerStats(
                unit_id=unit_id,
                year=2026,
                quarter=quarter,
                headcount=100,
                registered=registered,
                active=registered // 2,
                service_projects=rng.choice([None, 2, 5]),
                service_hours=rng.choice([None, 3.0 * registered]),
            )
            _record(world, stats)
        if rng.random() < 0.5:
            check = m.XixiangCheck(
                unit_id=unit_id, kind="awareness", year=2026, quarter=quarter, done_on=date(2026, 3 * quarter, 10)
            )
            check.value = rng.uniform(60, 100)
            _record(world, check)
    for month in range(1, 12):
        if rng.random() < 0.7:
            done = date(2026, month, rng.randint(15, 28))
            summary = m.XixiangCheck(
                unit_id=unit_id, kind="monthly_summary", year=2026, quarter=(month + 2) // 3, month=month, done_on=done
            )
            _record(world, summary)
    for kind in ("annual_plan", "team_flag", "brand_plan"):
        if rng.random() < 0.5:
            _record(world, m.XixiangCheck(unit_id=unit_id, kind=kind, year=2026, done_on=date(2026, 2, 1)))
    if rng.random() < 0.5:
        _record(
            world,
            m.Adjustment(
                unit_id=unit_id, kind="research_visit", level="province", occurred_on=_day(rng), reason="调研"
            ),
        )
    if rng.random() < 0.5:
        _record(
            world, m.Adjustment(unit_id=unit_id, kind="perfunctory", points=1.5, occurred_on=_day(rng), reason="敷衍")
        )


AS_OF = [date(2026, 3, 10), date(2026, 8, 20), date(2026, 11, 30)]


@pytest.mark.parametrize("rubric_name", ["changxing-2020", "xixiang-2022"])
@pytest.mark.parametrize("as_of", AS_OF)
def test_annual_table_agrees_with_every_units_explanation(
    world: World, settings: Settings, rubric_name: str, as_of: date
) -> None:
    rubric = service.load_rubric(rubric_name)
    unit_ids = _generate(world, seed=len(rubric_name) * 100 + as_of.month)
    table = {row.unit_id: row for row in service.annual_scores(world.session, settings, rubric, 2026, as_of)}
    begun = date(2026, as_of.month, 1)  # the June/August starters count once their months begin; 2027 never
    assert set(table) == {uid for uid in unit_ids if _start(world, settings, uid) <= begun}
    for unit_id in unit_ids:
        explained = service.explain_unit(world.session, settings, rubric, unit_id, 2026, as_of)
        row = table.get(unit_id)
        assert explained.total == (row.score if row else None), unit_id
        if row is not None:
            assert row.running_total <= row.score
    quarter = service.quarter_table(world.session, settings, rubric, 2026, 3, as_of)
    third = {uid for uid in unit_ids if _start(world, settings, uid) <= date(2026, 9, 1)}
    assert {r.unit_id for r in quarter.rows} == third
    assert len(quarter.no_data) == len(unit_ids) - len(third)


def _start(world: World, settings: Settings, unit_id: int) -> date:
    return service.coverage_start(settings, world.session.get(Unit, unit_id)) or date(2026, 1, 1)


@pytest.mark.parametrize("rubric_name", ["changxing-2020", "xixiang-2022"])
def test_a_closed_and_published_period_leaves_the_tables_as_the_explanations(
    world: World, settings: Settings, rubric_name: str
) -> None:
    rubric = service.load_rubric(rubric_name)
    unit_ids = _generate(world, seed=7)
    as_of = date(2026, 11, 30)
    before = service.quarter_table(world.session, settings, rubric, 2026, 2, as_of)
    closing.close(world.session, settings, rubric, "2026Q2", "测试", as_of=as_of, override="测试关账")
    closing.publish(world.session, rubric, "2026Q2", "测试")
    assert service.quarter_table(world.session, settings, rubric, 2026, 2, as_of) == before
    table = {row.unit_id: row.score for row in service.annual_scores(world.session, settings, rubric, 2026, as_of)}
    for unit_id in unit_ids:
        total = service.explain_unit(world.session, settings, rubric, unit_id, 2026, as_of).total
        assert total == table.get(unit_id), unit_id


def _quarter_reference(
    world: World, settings: Settings, rubric: service.Rubric, unit_ids: list[int], quarter: int, as_of: date
) -> dict[int, dict[str, float]]:
    """Per unit the 长兴 quarter columns from the explanation's line items over a one-unit period."""
    found = {}
    for unit_id in unit_ids:
        start = service.coverage_start(settings, world.session.get(Unit, unit_id))
        whole = changxing.Period.of(2026, 3 * quarter - 2, 3, as_of, rubric.counting.in_progress)
        period = changxing.covered(whole, start)
        if period is None:
            continue
        facts = changxing.gather(world.session, rubric, period, unit_id)
        items = {i.key: i.points for i in changxing.line_items(rubric, unit_id, period, facts)}
        found[unit_id] = {
            "practice": items["practice"],
            "pairing": items["pairing"],
            "information": round(items["news"] + items["adoption"], 2),
            "cooperation": items["cooperation"],
        }
    return found


@pytest.mark.parametrize("as_of", AS_OF)
def test_changxing_quarter_table_agrees_with_one_unit_periods(world: World, settings: Settings, as_of: date) -> None:
    rubric = service.load_rubric("changxing-2020")
    unit_ids = _generate(world, seed=as_of.day)
    for quarter in (1, 3):
        table = service.quarter_table(world.session, settings, rubric, 2026, quarter, as_of)
        expected = _quarter_reference(world, settings, rubric, unit_ids, quarter, as_of)
        assert {r.unit_id: r.items for r in table.rows} == expected
        ordered = sorted(table.rows, key=lambda r: (-r.total, r.unit_name))
        assert [r.unit_id for r in table.rows] == [r.unit_id for r in ordered]


def _old_bucket_counts(session, counting, start, bounds, groups):  # type: ignore[no-untyped-def]
    """The former single query: a UNION ALL of primary rows and per-report secondary rows, grouped once."""
    flagged = repository._counted_rows(counting, start, bounds[-1], groups, None)
    bucket = repository._bucket(flagged.c.d, bounds)
    query = select(
        flagged.c.unit_id, bucket.label("b"), *[func.sum(flagged.c[name]).label(name) for name in groups]
    ).group_by(flagged.c.unit_id, bucket)
    return {
        (row.unit_id, row.b): {name: int(getattr(row, name) or 0) for name in groups} for row in session.execute(query)
    }


@pytest.mark.parametrize("needs_review", [False, True])
def test_bucket_counts_equal_the_union_query(world: World, needs_review: bool) -> None:
    rubric = service.load_rubric("changxing-2020")
    counting = rubric.counting.model_copy(update={"count_needs_review": needs_review})
    _generate(world, seed=11)
    bounds = [date(2026, month, 1) for month in range(2, 13)] + [date(2027, 1, 1)]
    for groups in (
        _groups(rubric),
        {"services": ["volunteer", "practice"]},
        {"l_" + x: [x] for x in repository.LABELS},
    ):
        new = repository.bucket_counts(world.session, counting, date(2026, 1, 1), bounds, groups)
        old = _old_bucket_counts(world.session, counting, date(2026, 1, 1), bounds, groups)
        assert new == old
        assert any(sum(v.values()) for v in new.values())


def _liveliness_reference(world: World, rubric: service.Rubric, month: int) -> dict[int, tuple[float, int, int]]:
    """Liveliness from the ORM rows, one report at a time: (score, active days, practice count) per unit."""
    rule = rubric.liveliness
    statuses = {"classified", "corrected"}
    tags: dict[int, set[str]] = defaultdict(set)
    for report_id, label in world.session.execute(select(ReportTag.report_id, ReportTag.label)):
        tags[report_id].add(label)
    days: dict[int, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    practice: dict[int, int] = defaultdict(int)
    for report in world.session.scalars(select(Report)):
        day = report.activity_date or report.post_date
        if report.unit_id is None or report.status not in statuses or (day.year, day.month) != (2026, month):
            continue
        labels = tags[report.id]
        if labels & set(rule.labels):
            found = days[report.unit_id][day]
            found[0] += 1
            found[1] += 0 if report.possible_repost else report.photo_count
        practice[report.unit_id] += bool(labels & set(rubric.items.practice.labels))
    result = {}
    for unit_id, by_day in days.items():
        counted = sum(min(n, rule.daily_report_cap) for n, _ in by_day.values())
        photos = sum(min(p, rule.daily_photo_cap) for _, p in by_day.values())
        score = round(rule.report_weight * counted + rule.day_weight * len(by_day) + rule.photo_weight * photos, 2)
        result[unit_id] = (score, len(by_day), practice[unit_id])
    return result


@pytest.mark.parametrize("month", [3, 8, 10])
def test_monthly_ranking_agrees_with_a_report_by_report_count(world: World, settings: Settings, month: int) -> None:
    rubric = service.load_rubric("changxing-2020")
    unit_ids = _generate(world, seed=month)
    ranking = service.monthly_ranking(world.session, settings, rubric, 2026, month)
    expected = _liveliness_reference(world, rubric, month)
    rows = {r.unit_id: r for r in ranking.rows}
    for unit_id in rows:
        score, active, practice = expected.get(unit_id, (0.0, 0, 0))
        assert (rows[unit_id].liveliness, rows[unit_id].active_days, rows[unit_id].practice_count) == (
            score,
            active,
            practice,
        ), unit_id
    covered = {uid for uid in unit_ids if _start(world, settings, uid) <= date(2026, month, 1)}
    assert set(rows) == covered and "县第05单位" in ranking.no_data
    keys = [(-r.liveliness, -r.active_days, -r.practice_count) for r in ranking.rows]
    assert keys == sorted(keys)
    assert [r.rank for r in ranking.rows] == service._competition_ranks(keys)
    if month == 10:
        twins = [r for r in ranking.rows if r.unit_name.startswith("县孪生")]
        assert [t.unit_name for t in twins] == sorted(t.unit_name for t in twins)
        assert twins[0].rank == twins[1].rank and twins[0].liveliness == 8.2  # 4 counted + 3 days + 0.1 × 12 photos


def _candidate(rng: random.Random, unit_id: int, n: int) -> AdoptionCandidate:
    record = rng.random() < 0.4
    level = rng.choice([*LEVELS, "unknown"])
    return AdoptionCandidate(
        unit_id,
        date(2026, rng.randint(1, 3), rng.randint(1, 5)),
        level,
        rng.choice(TITLES),
        rng.choice([None, "县融媒体", "湖州日报"]),
        rng.randint(1, 8) if not record or rng.random() < 0.5 else None,
        n if record else None,
    )


@pytest.mark.parametrize("seed", range(25))
def test_article_points_of_a_table_equal_each_units_deduplication(seed: int) -> None:
    rng = random.Random(seed)
    candidates = [_candidate(rng, rng.randint(1, 4), n) for n in range(rng.randint(0, 40))]
    rubric = service.load_rubric("changxing-2020")
    per_level = dict(rubric.items.adoption.per_article) | {"unknown": 0.25}
    fast = articles.points_by_unit(candidates, per_level)
    for unit_id in range(1, 5):
        own = [c for c in candidates if c.unit_id == unit_id]
        expected = sum(a.points for a in articles.dedupe(own, per_level))
        assert fast.get(unit_id, 0) == expected


@pytest.mark.parametrize("as_of", AS_OF)
def test_a_years_services_and_notices_read_at_once_equal_each_quarters_own(world: World, as_of: date) -> None:
    rubric = service.load_rubric("xixiang-2022")
    _generate(world, seed=as_of.month + 40)
    quarters = [q for q in range(1, 5) if date(2026, 3 * q - 2, 1) <= as_of]
    once = xixiang.read_year_reports(world.session, rubric, 2026, quarters, as_of)
    for quarter in quarters:
        own = xixiang.read_year_reports(world.session, rubric, 2026, [quarter], as_of)
        assert once.services[quarter] == own.services[quarter]
        assert sorted(once.notices[quarter], key=repr) == sorted(own.notices[quarter], key=repr)
    assert any(once.services.values()) and any(once.notices.values())


def test_quarters_counted_after_a_clipped_one_read_their_own_windows(world: World, settings: Settings) -> None:
    """Averaging over all quarters: the as-of quarter is clipped, later ones are not (a gap between windows)."""
    shipped = service.load_rubric("xixiang-2022")
    rubric = shipped.model_copy(update={"annual": shipped.annual.model_copy(update={"average_over": "all_quarters"})})
    unit_ids = _generate(world, seed=5)
    as_of = date(2026, 5, 10)
    table = {row.unit_id: row.score for row in service.annual_scores(world.session, settings, rubric, 2026, as_of)}
    for unit_id in unit_ids:
        total = service.explain_unit(world.session, settings, rubric, unit_id, 2026, as_of).total
        assert total == table.get(unit_id), unit_id
