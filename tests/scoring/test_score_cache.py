"""Stored per-unit parts of the tables: every write path invalidates them, and a table read through them is exactly
the table computed afresh, after any sequence of changes, in a writable or a read-only session."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from classifier.models import Classification, ReportTag
from ingest.models import Report, Unit
from scoring import models as m
from scoring import repository, score_cache, service
from tests.scoring.conftest import World
from tests.scoring.test_table_equivalence import NOW, _generate
from wenming.db import READ_ONLY
from wenming.settings import Settings


def _changed(session: Session) -> set[int]:
    session.flush()
    return set(session.scalars(select(m.ScoreChange.unit_id)))


def _clear(session: Session) -> None:
    session.flush()
    session.execute(delete(m.ScoreChange))


def _two_units(world: World) -> tuple[Unit, Unit, Report]:
    first, second = world.unit("县甲单位"), world.unit("县乙单位")
    report = world.report(first, date(2026, 5, 6), ("practice",), photos=2)
    world.session.flush()
    _clear(world.session)
    return first, second, report


def _criticism(world: World, unit: Unit) -> m.Criticism:
    record = m.Criticism(unit_id=unit.id, occurred_on=date(2026, 5, 9), reason="督查通报", created_by="测试")
    world.session.add(record)
    return record


WRITES: dict[str, Callable[[World, Unit, Unit, Report], None]] = {
    "new report": lambda w, a, b, r: w.report(a, date(2026, 6, 1), ("news",)) and None,
    "label changed (ORM)": lambda w, a, b, r: setattr(r, "label", "news"),
    "status changed (Core UPDATE)": lambda w, a, b, r: (
        w.session.execute(update(Report).where(Report.id == r.id).values(status="withdrawn")) and None
    ),
    "status changed (hand-written SQL)": lambda w, a, b, r: (
        w.session.execute(text("UPDATE reports SET status = 'needs_review' WHERE id = :id"), {"id": r.id}) and None
    ),
    "report moved to another unit": lambda w, a, b, r: setattr(r, "unit_id", b.id),
    "photos added": lambda w, a, b, r: setattr(r, "photo_count", 5),
    "report deleted": lambda w, a, b, r: w.session.delete(r),
    "tag added": lambda w, a, b, r: w.session.add(
        ReportTag(report_id=r.id, label="volunteer", is_primary=False, score=0.5)
    ),
    "tags replaced (Core DELETE)": lambda w, a, b, r: (
        w.session.execute(delete(ReportTag).where(ReportTag.report_id == r.id)) and None
    ),
    "new classification with facts": lambda w, a, b, r: w.session.add(
        Classification(
            report_id=r.id,
            label="news",
            secondary_labels=[],
            confidence=0.9,
            facts={"outlet_level": "city"},
            evidence=[],
            source="model",
            is_current=True,
        )
    ),
    "criticism entered": lambda w, a, b, r: _criticism(w, a) and None,
    "coverage start changed": lambda w, a, b, r: setattr(a, "scoring_start", "2026-07"),
}
UNCHANGED: dict[str, Callable[[World, Unit, Unit, Report], None]] = {
    "text edited": lambda w, a, b, r: setattr(r, "text", "补充说明"),
    "unit renamed": lambda w, a, b, r: setattr(a, "name", "县甲单位（新名）"),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_every_write_path_marks_the_units_whose_scores_it_changes(world: World, name: str) -> None:
    first, second, report = _two_units(world)
    WRITES[name](world, first, second, report)
    expected = {first.id, second.id} if name == "report moved to another unit" else {first.id}
    assert _changed(world.session) == expected


@pytest.mark.parametrize("name", list(UNCHANGED))
def test_writes_that_change_no_score_leave_the_parts_current(world: World, name: str) -> None:
    first, second, report = _two_units(world)
    UNCHANGED[name](world, first, second, report)
    assert _changed(world.session) == set()


def test_voiding_a_record_marks_its_unit(world: World) -> None:
    first, _second, _report = _two_units(world)
    record = _criticism(world, first)
    world.session.flush()
    _clear(world.session)
    record.voided_by, record.voided_at, record.void_reason = "测试", NOW, "撤回"
    assert _changed(world.session) == {first.id}


def _tables(session: Session, settings: Settings) -> dict[str, object]:
    """Every table kind of both rubrics, as plain data, including as-of days inside and after a quarter."""
    found: dict[str, object] = {}
    for name in ("changxing-2020", "xixiang-2022"):
        rubric = service.load_rubric(name)
        found[f"{name} October"] = service.monthly_ranking(session, settings, rubric, 2026, 10).model_dump()
        for as_of in (date(2026, 8, 20), date(2026, 11, 30)):
            quarter = service.quarter_table(session, settings, rubric, 2026, 3, as_of)
            found[f"{name} Q3 {as_of}"] = quarter.model_dump()
            annual = service.annual_scores(session, settings, rubric, 2026, as_of)
            found[f"{name} year {as_of}"] = [row.model_dump() for row in annual]
    return found


def _fresh(session: Session, settings: Settings) -> dict[str, object]:
    score_cache.bypass(session)
    try:
        return _tables(session, settings)
    finally:
        score_cache.bypass(session, off=False)


def _mutate(world: World, rng: random.Random, unit_ids: list[int]) -> str:
    """One random change of a kind staff, the classifier or ingest make every day."""
    session = world.session
    reports = list(session.scalars(select(Report).where(Report.unit_id.is_not(None)).order_by(Report.id)))
    report = rng.choice(reports)
    kind = rng.choice(["label", "status", "move", "date", "new", "record", "start", "tag"])
    if kind == "label":
        report.label = rng.choice(["practice", "news", "pairing", "volunteer", "other"])
    elif kind == "status":
        report.status = rng.choice(["classified", "corrected", "needs_review", "withdrawn"])
    elif kind == "move":
        report.unit_id = rng.choice(unit_ids)
    elif kind == "date":
        report.activity_date = date(2026, rng.choice([7, 9, 10]), rng.randint(1, 28))
    elif kind == "new":
        unit = session.get(Unit, rng.choice(unit_ids))
        world.report(unit, date(2026, rng.choice([8, 10, 11]), rng.randint(1, 28)), ("practice", "pairing"), photos=4)
    elif kind == "record":
        session.add(
            m.PairingSheet(unit_id=rng.choice(unit_ids), year=2026, quarter=3, partner="城西村", created_by="测试")
        )
    elif kind == "start":
        session.get(Unit, rng.choice(unit_ids)).scoring_start = rng.choice([None, "2026-08", "2026-10"])  # type: ignore[union-attr]
    else:
        session.execute(delete(ReportTag).where(ReportTag.report_id == report.id, ReportTag.is_primary.is_(False)))
        session.add(ReportTag(report_id=report.id, label=rng.choice(["news", "pairing"]), is_primary=False, score=0.5))
    session.flush()
    return kind


@pytest.mark.parametrize("small_scope", [0, 200])  # changed units' secondary tags: read from the tag index / probed
def test_tables_read_through_stored_parts_equal_fresh_ones_after_every_change(
    world: World, settings: Settings, small_scope: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "SMALL_SCOPE", small_scope)
    unit_ids = _generate(world, seed=2026)
    rng = random.Random(7)
    assert _tables(world.session, settings) == _fresh(world.session, settings)  # parts stored
    stored = world.session.scalar(select(m.ScoreCacheEntry.unit_id).limit(1))
    assert stored is not None
    for step in range(8):
        kind = _mutate(world, rng, unit_ids)
        assert _tables(world.session, settings) == _fresh(world.session, settings), (step, kind)


def test_a_change_recomputes_only_its_units_parts(world: World, settings: Settings) -> None:
    unit_ids = _generate(world, seed=11)
    rubric = service.load_rubric("changxing-2020")
    service.quarter_table(world.session, settings, rubric, 2026, 3, date(2026, 11, 30))
    world.session.execute(update(m.ScoreCacheEntry).values(computed_at=NOW))
    report = world.session.scalars(select(Report).where(Report.unit_id == unit_ids[0])).first()
    assert report is not None
    report.label = "pairing" if report.label != "pairing" else "practice"
    world.session.flush()
    service.quarter_table(world.session, settings, rubric, 2026, 3, date(2026, 11, 30))
    rewritten = set(
        world.session.scalars(select(m.ScoreCacheEntry.unit_id).where(m.ScoreCacheEntry.computed_at != NOW))
    )
    assert rewritten == {unit_ids[0]}


def test_a_read_only_session_counts_changes_it_cannot_consume(world: World, settings: Settings) -> None:
    unit_ids = _generate(world, seed=5)
    rubric = service.load_rubric("xixiang-2022")
    service.quarter_table(world.session, settings, rubric, 2026, 3, date(2026, 11, 30))
    unit = world.session.get(Unit, unit_ids[1])
    world.report(unit, date(2026, 8, 3), ("practice",), photos=3)
    world.session.flush()
    world.session.info[READ_ONLY] = True
    try:
        seen = service.quarter_table(world.session, settings, rubric, 2026, 3, date(2026, 11, 30))
        assert _changed(world.session) == {unit_ids[1]}  # still there for a writable session to consume
    finally:
        world.session.info.pop(READ_ONLY)
    score_cache.bypass(world.session)
    assert seen == service.quarter_table(world.session, settings, rubric, 2026, 3, date(2026, 11, 30))


@pytest.mark.parametrize("name", ["changxing-2020", "xixiang-2022"])
def test_a_closed_period_read_on_later_days_keeps_its_parts_and_its_figures(
    world: World, settings: Settings, name: str
) -> None:
    _generate(world, seed=31)
    rubric = service.load_rubric(name)
    session = world.session

    def tables(as_of: date) -> tuple[object, object]:
        quarter = service.quarter_table(session, settings, rubric, 2026, 3, as_of).model_dump()
        annual = service.annual_scores(session, settings, rubric, 2026, as_of)
        return quarter, [row.model_dump() for row in annual]

    first = tables(date(2026, 12, 31))  # the last day of the year and well after the quarter: parts stored
    session.execute(update(m.ScoreCacheEntry).values(computed_at=NOW))
    stored = session.scalar(select(func.count()).select_from(m.ScoreCacheEntry))
    later = tables(date(2027, 2, 14))
    assert later == first
    assert session.scalar(select(func.count()).select_from(m.ScoreCacheEntry)) == stored  # no new key
    assert not session.scalars(select(m.ScoreCacheEntry.unit_id).where(m.ScoreCacheEntry.computed_at != NOW)).all()
    score_cache.bypass(session)
    assert tables(date(2027, 2, 14)) == later  # and what the stored parts gave is what a fresh computation gives
