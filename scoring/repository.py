"""Scoring queries: every count is a GROUP BY in SQL over date windows computed in Python."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Executable,
    Float,
    Row,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from classifier.models import Classification, ReportTag
from ingest.models import Report, ReportStatus, Unit
from scoring import models as m
from scoring.rubric import Counting, Liveliness
from wenming.db import id_chunks, utcnow

LABELS = ("practice", "pairing", "news", "volunteer", "other")


def prepare(session: Session) -> None:
    """Tune the current transaction for short analytical queries.

    PostgreSQL's JIT compiler triggers on the planner's (pessimistic) cost estimates for these GROUP BYs and
    spends more time compiling than the queries take; ``SET LOCAL`` confines the change to this transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def counted_statuses(counting: Counting) -> list[str]:
    """Statuses whose labels count; ``needs_review`` only when the rubric says so; never ``withdrawn`` (recalled)."""
    statuses = [ReportStatus.CLASSIFIED.value, ReportStatus.CORRECTED.value]
    if counting.count_needs_review:
        statuses.append(ReportStatus.NEEDS_REVIEW.value)
    return statuses


def effective_date(counting: Counting) -> ColumnElement[date]:
    """The day a report counts on: its stated activity date when found (rubric choice), else its post date."""
    if counting.date_basis == "activity_date":
        return func.coalesce(Report.activity_date, Report.post_date)
    return Report.post_date


Units = int | Sequence[int] | None  # one unit (an explanation), some units (a table's changed units), or all


def _of_units(column: Any, units: Units) -> list[ColumnElement[bool]]:
    """The condition restricting ``column`` to ``units`` (none for all units)."""
    if units is None:
        return []
    if isinstance(units, int):
        return [column == units]
    return [column.in_(sorted(units))]


def _by_unit(column: Any, units: Units) -> Any:
    """``column`` as a plain value when some units are asked for (a table's changed units), so that no index on it
    competes with the unit-led ones: SQLite's planner would otherwise start from the window's status/date or label
    index, i.e. read every unit's reports (SQLAlchemy renders no ``INDEXED BY`` hint for SQLite).
    """
    if units is None or isinstance(units, int):
        return column
    return column.concat("")


SMALL_SCOPE = 200  # units up to which probing their reports' tags beats reading the whole secondary-tag index


def _small_scope(units: Units) -> bool:
    """One unit, or a list short enough that probing its reports' tags beats reading the secondary-tag index."""
    return isinstance(units, int) or (units is not None and len(units) <= SMALL_SCOPE)


def _window(counting: Counting, start: date, end: date, unit_id: Units) -> list[ColumnElement[bool]]:
    day = effective_date(counting)
    conditions = [
        Report.unit_id.is_not(None),
        day >= start,
        day < end,
        _by_unit(Report.status, unit_id).in_(counted_statuses(counting)),
    ]
    conditions.extend(_of_units(Report.unit_id, unit_id))
    return conditions


def _photos(repost_photos: bool) -> ColumnElement[int]:
    """Photos that count as evidence: none from a report flagged as a possible re-post (rubric parameter)."""
    if repost_photos:
        return Report.photo_count
    return case((Report.possible_repost, 0), else_=Report.photo_count)


def _counted_rows(
    counting: Counting,
    start: date,
    end: date,
    groups: Mapping[str, Sequence[str]],
    unit_id: Units,
    repost_photos: bool = False,
) -> Any:
    """Rows (unit, day, photos, a 0/1 flag per label group) whose flag sums count each report once per group.

    A report belongs to a group when its primary label (``reports.label``, mirroring the primary tag) or
    any secondary tag is in the group. The first part reads only the covering window index on ``reports``;
    the second adds, once per report, the groups only a secondary tag brings (partial index on those tags).
    """
    day = effective_date(counting)
    photos = _photos(repost_photos)
    window = _window(counting, start, end, unit_id)
    primary = select(
        Report.unit_id.label("unit_id"),
        day.label("d"),
        photos.label("photos"),
        *[case((Report.label.in_(labels), 1), else_=0).label(name) for name, labels in groups.items()],
    ).where(*window)
    extra = [
        func.max(case((and_(ReportTag.label.in_(labels), Report.label.not_in(labels)), 1), else_=0))
        for labels in groups.values()
    ]
    secondary = (
        select(
            Report.unit_id.label("unit_id"),
            day.label("d"),
            photos.label("photos"),
            *[flag.label(name) for flag, name in zip(extra, groups, strict=True)],
        )
        .join(ReportTag, and_(ReportTag.report_id == Report.id, ReportTag.is_primary == false()))
        .where(*window)
        .group_by(Report.id, Report.unit_id, day, photos)
    )
    return union_all(primary, secondary).subquery("counted")


def _bucket(column: Any, bounds: Sequence[date]) -> Any:
    """Index of the window a date falls in; ``bounds`` are the exclusive ends of consecutive windows."""
    return case(*[(column < bound, literal(i)) for i, bound in enumerate(bounds)], else_=literal(len(bounds)))


def bucket_counts(
    session: Session,
    counting: Counting,
    start: date,
    bounds: Sequence[date],
    groups: Mapping[str, Sequence[str]],
    unit_id: Units = None,
) -> dict[tuple[int, int], dict[str, int]]:
    """Reports per (unit, window index) and label group; two labels of one group count the report once.

    Two grouped queries instead of one over a union: the primary labels straight from the covering window
    index, then the groups only a secondary tag brings, read from the (small) secondary-tag index instead of
    probing every report of the window for tags (a year's table would probe half a million reports).
    """
    day = effective_date(counting)
    window = _window(counting, start, bounds[-1], unit_id)
    bucket = _bucket(day, bounds)
    primary = (
        select(
            Report.unit_id,
            bucket.label("b"),
            *[func.sum(case((Report.label.in_(labels), 1), else_=0)).label(name) for name, labels in groups.items()],
        )
        .where(*window)
        .group_by(Report.unit_id, bucket)
    )
    names = list(groups)
    counts = {(row[0], row[1]): dict(zip(names, map(int, row[2:]), strict=True)) for row in _run(session, primary)}
    for row in _run(session, _secondary_extras(counting, start, bounds, groups, unit_id)):
        found = counts.setdefault((row[0], row[1]), dict.fromkeys(names, 0))
        for name, extra in zip(names, row[2:], strict=True):
            found[name] += int(extra or 0)
    return counts


def _secondary_extras(
    counting: Counting,
    start: date,
    bounds: Sequence[date],
    groups: Mapping[str, Sequence[str]],
    unit_id: Units,
) -> Select[Any]:
    """Per (unit, window index): reports counted in a group only through a secondary tag (not their primary label).

    For every unit, the window's reports are restricted to those with a secondary tag (a list built from the
    partial tag index), so the planner reads those few reports by key instead of probing the tags of every
    report; one unit's own reports (an explanation) are few enough to probe.
    """
    day = effective_date(counting)
    window = _window(counting, start, bounds[-1], unit_id)
    labels = sorted({label for group in groups.values() for label in group})
    tagged = select(ReportTag.report_id).where(ReportTag.is_primary == false(), ReportTag.label.in_(labels))
    flags = [
        func.max(case((and_(ReportTag.label.in_(labels), Report.label.not_in(labels)), 1), else_=0)).label(name)
        for name, labels in groups.items()
    ]
    per_report = (
        select(Report.unit_id.label("unit_id"), day.label("d"), *flags)
        .join(ReportTag, and_(ReportTag.report_id == Report.id, ReportTag.is_primary == false()))
        .where(*window, *([] if _small_scope(unit_id) else [Report.id.in_(tagged)]))
        .group_by(Report.id, Report.unit_id, day)
        .subquery("extras")
    )
    bucket = _bucket(per_report.c.d, bounds)
    sums = [func.sum(per_report.c[name]) for name in groups]
    return (
        select(
            per_report.c.unit_id,
            bucket.label("b"),
            *[total.label(name) for total, name in zip(sums, groups, strict=True)],
        )
        .group_by(per_report.c.unit_id, bucket)
        .having(or_(*[total > 0 for total in sums]))
    )


@dataclass
class LivelinessRow:
    unit_id: int
    counted_reports: int
    active_days: int
    photos: int
    counted_photos: int
    practice_count: int
    label_counts: dict[str, int] = field(default_factory=dict)


def liveliness(
    session: Session,
    counting: Counting,
    rule: Liveliness,
    practice_labels: Sequence[str],
    start: date,
    end: date,
    unit_id: Units = None,
) -> dict[int, LivelinessRow]:
    """Per unit: daily-capped reports, active days, daily-capped photos, and the month's label counts."""
    groups: dict[str, Sequence[str]] = {"live": rule.labels}
    same = set(practice_labels) == set(rule.labels)  # both shipped rubrics: count the practice group once
    if not same:
        groups["practice_group"] = practice_labels
    groups.update({f"l_{label}": [label] for label in LABELS})
    flagged = _counted_rows(counting, start, end, groups, unit_id, repost_photos=not rule.exclude_repost_photos)
    daily = (
        select(
            flagged.c.unit_id,
            func.sum(flagged.c.live).label("n"),
            func.sum(flagged.c.live * flagged.c.photos).label("ph"),
            *[func.sum(flagged.c[name]).label(name) for name in groups if name != "live"],
        )
        .group_by(flagged.c.unit_id, flagged.c.d)
        .subquery("daily")
    )
    cap, photo_cap = rule.daily_report_cap, rule.daily_photo_cap
    query = select(
        daily.c.unit_id,
        func.sum(case((daily.c.n > cap, cap), else_=daily.c.n)).label("counted"),
        func.sum(case((daily.c.n > 0, 1), else_=0)).label("days"),
        func.sum(daily.c.ph).label("photos"),
        func.sum(case((daily.c.ph > photo_cap, photo_cap), else_=daily.c.ph)).label("counted_photos"),
        func.sum(daily.c.n if same else daily.c.practice_group).label("practice_group"),
        *[func.sum(daily.c[name]).label(name) for name in groups if name.startswith("l_")],
    ).group_by(daily.c.unit_id)
    result: dict[int, LivelinessRow] = {}
    for row in _run(session, query):  # positions, not names: a Row attribute costs more than the row itself
        unit, counted, days, photos, counted_photos, practice, *labels = row
        result[unit] = LivelinessRow(
            unit,
            int(counted or 0),
            int(days or 0),
            int(photos or 0),
            int(counted_photos or 0),
            int(practice or 0),
            dict(zip(LABELS, [int(n or 0) for n in labels], strict=True)),
        )
    return result


class AdoptionCandidate(NamedTuple):
    """A media adoption from a staff record or a classified news report, before deduplication."""

    unit_id: int
    day: date
    level: str
    title: str | None
    outlet: str | None
    report_id: int | None
    record_id: int | None


def _labelled(counting: Counting, start: date, end: date, label: str, unit_id: Units) -> Any:
    """(id, unit_id, d) of counted reports carrying ``label``: by their primary label from the window index,
    plus those that carry it only as a secondary tag, found from the (small) secondary-tag index."""
    day = effective_date(counting)
    window = _window(counting, start, end, unit_id)
    primary = select(Report.id, Report.unit_id, day.label("d")).where(*window, _by_unit(Report.label, unit_id) == label)
    tagged = select(ReportTag.report_id).where(ReportTag.is_primary == false(), ReportTag.label == label)
    secondary = select(Report.id, Report.unit_id, day.label("d")).where(
        Report.id.in_(tagged), Report.label != label, *window
    )
    return union_all(primary, secondary).subquery(f"with_{label}")


def fact(session: Session, key: str) -> ColumnElement[Any]:
    """A classification fact as SQL text, its JSON path written out literally.

    Bound JSON paths (what ``facts[key]`` renders) hide the key from the planner; written out, the predicate
    matches the partial fact indexes (``scoring/models.py``) on both databases.
    """
    if not key.isidentifier():
        raise ValueError(f"not a fact key: {key!r}")
    if session.get_bind().dialect.name == "postgresql":
        return Classification.facts.op("->>", return_type=String)(literal_column(f"'{key}'"))
    return func.json_extract(Classification.facts, literal_column(f"'$.{key}'"), type_=String)


def _with_fact(session: Session, reports: Any, key: str) -> Any:
    """Join the current classifications of ``reports`` that state ``key`` (read from the partial fact index)."""
    return and_(
        Classification.report_id == reports.c.id,
        Classification.is_current == true(),
        fact(session, key).is_not(None),
    )


def report_adoptions(
    session: Session, counting: Counting, start: date, end: date, unit_id: Units = None
) -> list[AdoptionCandidate]:
    """News reports whose current classification found an outlet level (录用通知); only those are read.

    Row order is not part of the answer (tables sum points; explanations sort the articles).
    """
    if not _small_scope(unit_id) and end - start > LONG_WINDOW:
        return _notices_of_long_window(session, counting, start, end, unit_id)
    news = _labelled(counting, start, end, "news", unit_id)
    level = fact(session, "outlet_level")
    query = (
        select(
            news.c.unit_id,
            news.c.d,
            level.label("level"),
            fact(session, "article_title").label("title"),
            fact(session, "outlet").label("outlet"),
            news.c.id,
        )
        .join(Classification, _with_fact(session, news, "outlet_level"))
        .where(level.in_(OUTLET_LEVELS))
    )
    return [AdoptionCandidate(*row, None) for row in _run(session, query)]


OUTLET_LEVELS = ["county", "city", "province", "central"]
# Longer than a quarter: a year's table reads every notice from the partial fact index and looks its report up
# by key, instead of probing the fact index for each of the year's ~100,000 news reports.
LONG_WINDOW = timedelta(days=92)


def _notices_of_long_window(
    session: Session, counting: Counting, start: date, end: date, units: Units
) -> list[AdoptionCandidate]:
    """The same candidates as ``report_adoptions``, led by the (few) current notices instead of the window."""
    day = effective_date(counting)
    level = fact(session, "outlet_level")
    tagged = select(ReportTag.report_id).where(ReportTag.is_primary == false(), ReportTag.label == "news")
    query = (
        select(
            Report.unit_id,
            day.label("d"),
            level.label("level"),
            fact(session, "article_title").label("title"),
            fact(session, "outlet").label("outlet"),
            Report.id,
        )
        .select_from(Classification)
        .join(Report, Report.id == Classification.report_id)
        .where(
            Classification.is_current == true(),
            level.is_not(None),
            level.in_(OUTLET_LEVELS),
            *_window(counting, start, end, units),
            or_(Report.label == "news", Report.id.in_(tagged)),
        )
    )
    return [AdoptionCandidate(*row, None) for row in _run(session, query)]


def record_adoptions(session: Session, start: date, end: date, unit_id: Units = None) -> list[AdoptionCandidate]:
    query = _records(m.MediaAdoption, unit_id).where(
        m.MediaAdoption.published_on >= start, m.MediaAdoption.published_on < end
    )
    return [
        AdoptionCandidate(a.unit_id, a.published_on, a.level, a.title, a.outlet, a.report_id, a.id)
        for a in _run(session, query)
    ]


def report_hours(
    session: Session, counting: Counting, start: date, end: date, unit_id: Units = None
) -> dict[int, float]:
    """Person-hours stated in volunteer reports: volunteer_hours × participants (1 when absent), per unit."""
    volunteer = _labelled(counting, start, end, "volunteer", unit_id)
    hours = cast(fact(session, "volunteer_hours"), Float)
    people = func.coalesce(cast(fact(session, "participants"), Float), 1.0)
    query = (
        select(volunteer.c.unit_id, func.sum(hours * people).label("h"))
        .join(Classification, _with_fact(session, volunteer, "volunteer_hours"))
        .group_by(volunteer.c.unit_id)
    )
    return {row.unit_id: float(row.h or 0) for row in _run(session, query)}


def report_listing(
    session: Session, counting: Counting, start: date, end: date, unit_id: int
) -> list[tuple[int, date, str]]:
    """(report id, counting day, label) for one unit: the evidence behind its explanation."""
    day = effective_date(counting)
    query = (
        select(Report.id, day.label("d"), ReportTag.label)
        .join(ReportTag, ReportTag.report_id == Report.id)
        .where(*_window(counting, start, end, unit_id))
        .order_by(day, Report.id)
    )
    return [(row.id, row.d, row.label) for row in session.execute(query)]


def _run(session: Session, query: Executable) -> Sequence[Row[Any]]:
    """All rows of a Core query in the session's transaction: thousands of rows skip the ORM's per-row layer."""
    return session.connection().execute(query).all()


Record = Any  # a staff record as a named tuple of the model's columns (attribute access in the item loops)

_AUDIT = {"created_by", "created_at", "voided_by", "voided_at", "void_reason"}


def record_columns(model: Any) -> list[Any]:
    """A staff record's own columns (what it says), without who entered or voided it."""
    return [c for c in model.__table__.columns if c.name not in _AUDIT]


@cache
def _record_type(model: Any) -> Any:
    return namedtuple(f"{model.__name__}Record", [c.name for c in record_columns(model)])


def _records(model: Any, unit_id: Units) -> Select[Any]:
    """Live (not voided) records: thousands per period, too many for ORM objects."""
    query = select(*record_columns(model)).where(model.voided_at.is_(None))
    return query.where(*_of_units(model.unit_id, unit_id)).order_by(model.id)


def _fetch(session: Session, model: Any, query: Select[Any]) -> list[Record]:
    make = _record_type(model)._make
    return [make(row) for row in _run(session, query)]


def criticisms(session: Session, start: date, end: date, unit_id: Units = None) -> list[Record]:
    query = _records(m.Criticism, unit_id).where(m.Criticism.occurred_on >= start, m.Criticism.occurred_on < end)
    return _fetch(session, m.Criticism, query)


def pairing_sheets(
    session: Session, year: int, unit_id: Units = None, quarters: Sequence[int] | None = None
) -> list[Record]:
    query = _records(m.PairingSheet, unit_id).where(m.PairingSheet.year == year)
    if quarters is not None:
        query = query.where(m.PairingSheet.quarter.in_(list(quarters)))
    return _fetch(session, m.PairingSheet, query)


def volunteer_stats(session: Session, year: int, unit_id: Units = None) -> list[Record]:
    """All stats rows of a year in entry order, so that the newest per quarter is last."""
    return _fetch(session, m.VolunteerStats, _records(m.VolunteerStats, unit_id).where(m.VolunteerStats.year == year))


def latest_volunteer_stats(session: Session, year: int, quarter: int, unit_id: Units = None) -> list[Record]:
    """Per unit, the newest statistics entered for ``quarter`` or else its latest earlier quarter of the year.

    What a quarter's items read (a newer entry supersedes); one row per unit instead of the year's entries.
    """
    stats = m.VolunteerStats
    newest = func.row_number().over(partition_by=stats.unit_id, order_by=(stats.quarter.desc(), stats.id.desc()))
    ranked = (
        _records(stats, unit_id).where(stats.year == year, stats.quarter <= quarter).add_columns(newest.label("newest"))
    )
    latest = ranked.order_by(None).subquery("ranked")
    columns = [c for c in latest.c if c.name != "newest"]
    return _fetch(session, stats, select(*columns).where(latest.c.newest == 1).order_by(latest.c.unit_id))


def checks(session: Session, year: int, unit_id: Units = None, quarter: int | None = None) -> list[Record]:
    """西乡 checks of a year; with ``quarter``, only those of that quarter and the year-scoped ones."""
    query = _records(m.XixiangCheck, unit_id).where(m.XixiangCheck.year == year)
    if quarter is not None:
        query = query.where(or_(m.XixiangCheck.quarter.is_(None), m.XixiangCheck.quarter == quarter))
    return _fetch(session, m.XixiangCheck, query)


def adjustments(session: Session, start: date, end: date, unit_id: Units = None) -> list[Record]:
    query = _records(m.Adjustment, unit_id).where(m.Adjustment.occurred_on >= start, m.Adjustment.occurred_on < end)
    return _fetch(session, m.Adjustment, query)


UnitRow = Row[Any]  # id, name, honour_level, headcount, scoring_start: what tables print, without ORM identity overhead
AnyUnit = Unit | UnitRow  # explanations pass the ORM unit, tables the plain row; both have the same attributes


def units(session: Session) -> list[UnitRow]:
    """Active units by name, as plain rows (a table lists thousands)."""
    columns = (Unit.id, Unit.name, Unit.honour_level, Unit.headcount, Unit.scoring_start)
    query = select(*columns).where(Unit.active.is_(True))
    return list(_run(session, query.order_by(Unit.name)))


def record_page(
    session: Session, types: Sequence[Any], unit_id: int | None, include_voided: bool, offset: int, limit: int
) -> tuple[list[tuple[str, int]], int]:
    """(kind, id) of one page of staff records across the kinds' tables, newest first, and the number of matches.

    ``types`` are ``scoring.records.RecordType`` entries; one UNION ALL, so the database sorts and pages.
    """
    parts = []
    for rtype in types:
        model = rtype.model
        part = select(
            literal(rtype.kind.value, String(30)).label("kind"), model.id.label("id"), model.created_at.label("at")
        )
        if unit_id is not None:
            part = part.where(model.unit_id == unit_id)
        if not include_voided:
            part = part.where(model.voided_at.is_(None))
        parts.append(part)
    every = union_all(*parts).subquery("records")
    total = int(session.scalar(select(func.count()).select_from(every)) or 0)
    page = (
        select(every.c.kind, every.c.id)
        .order_by(every.c.at.desc(), every.c.kind.desc(), every.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(kind, int(record_id)) for kind, record_id in session.execute(page)], total


SCORE_CACHE_LOCK = 0x5C0_CAC4E  # PostgreSQL advisory lock: one transaction at a time consumes changes and stores parts


def take_score_changes(session: Session) -> set[int]:
    """Consume the change rows this transaction can see and drop every cached part of those units.

    On PostgreSQL one ``DELETE … RETURNING`` takes exactly the rows it removes (a row committed meanwhile stays
    for the next reader); SQLite has one writer, so reading then deleting inside this transaction is the same.
    """
    table = m.ScoreChange.__table__
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SCORE_CACHE_LOCK)))
        taken = delete(table).returning(table.c.unit_id).cte("taken")
        units = set(session.execute(select(taken.c.unit_id).distinct()).scalars())
    else:
        units = pending_score_changes(session)
        if units:
            session.execute(delete(table))
    cache = m.ScoreCacheEntry.__table__
    for chunk in id_chunks(units):
        session.execute(delete(cache).where(cache.c.unit_id.in_(chunk)))
    return units


def pending_score_changes(session: Session) -> set[int]:
    """Units changed since their cached parts were stored (a read-only session cannot consume the rows)."""
    table = m.ScoreChange.__table__
    return set(session.execute(select(table.c.unit_id).distinct()).scalars())


def cached_parts(session: Session, key: str) -> dict[int, str]:
    cache = m.ScoreCacheEntry.__table__
    return dict(_run(session, select(cache.c.unit_id, cache.c.value).where(cache.c.key == key)))  # type: ignore[arg-type]


def store_parts(session: Session, key: str, values: Mapping[int, str]) -> None:
    """Insert or replace the parts of ``key`` for the given units."""
    if not values:
        return
    cache = m.ScoreCacheEntry.__table__
    now = utcnow()
    rows = [{"key": key, "unit_id": uid, "value": value, "computed_at": now} for uid, value in values.items()]
    build = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = build(cache)
    statement = statement.on_conflict_do_update(
        index_elements=[cache.c.key, cache.c.unit_id],
        set_={"value": statement.excluded.value, "computed_at": statement.excluded.computed_at},
    )
    session.execute(statement, rows)  # one statement compiled once, executed for every row by the driver


def drop_score_cache(session: Session) -> int:
    """Forget every cached part (after an upgrade that changes the arithmetic, or to measure a cold table)."""
    return int(session.execute(delete(m.ScoreCacheEntry.__table__)).rowcount or 0)


def prune_score_cache(session: Session, before: datetime, keep: Collection[str] = ()) -> int:
    """Drop parts computed before ``before`` except under ``keep``: keys nobody reads any more (past as-of days)
    stop taking room, while a table still served from old parts (nothing changed) keeps them."""
    cache = m.ScoreCacheEntry.__table__
    stale = cache.c.computed_at < before
    if keep:
        stale = and_(stale, cache.c.key.not_in(sorted(keep)))
    return int(session.execute(delete(cache).where(stale)).rowcount or 0)
