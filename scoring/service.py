"""Scoring service: rankings, quarterly tables, annual scores, explanations and staff record entry.

Everything is computed from the current tables on every call, so staff corrections and new records change
scores at once. Services only ``flush()``; the edge commits.
"""

from __future__ import annotations

import functools
import gc
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import Report, Unit
from scoring import changxing, history, records, repository, score_cache, xixiang
from scoring import models as m
from scoring.articles import normalize_title
from scoring.errors import AlreadyVoided, RecordNotFound, ScoringError
from scoring.models import OutletLevel, RecordKind
from scoring.periods import month_start, parse_month, quarter_first_month, started, today
from scoring.rubric import (
    ChangxingRubric,
    RubricError,
    XixiangRubric,
    list_rubric_names,
    load_rubric_by_name,
)
from scoring.schemas import (
    AdjustmentIn,
    AnnualScore,
    AnnualScoreIn,
    CriticismIn,
    LineItem,
    MediaAdoptionIn,
    MonthlyRanking,
    MonthlyRankingRow,
    PairingSheetIn,
    QuarterRow,
    QuarterTable,
    RecordOut,
    TableColumn,
    UnitExplanation,
    VolunteerStatsIn,
    XixiangCheckIn,
)
from wenming import audit
from wenming.audit import AuditKind
from wenming.db import utcnow
from wenming.settings import Settings

Rubric = ChangxingRubric | XixiangRubric
fmt = changxing.fmt

__all__ = [
    "Rubric",
    "RubricError",
    "ScoringError",
    "add_annual_score",
    "add_bonus",
    "add_criticism",
    "add_deduction",
    "add_media_adoption",
    "add_pairing_sheet",
    "add_record",
    "add_xixiang_check",
    "annual_scores",
    "coverage_start",
    "explain_unit",
    "list_records",
    "list_rubrics",
    "load_rubric",
    "monthly_ranking",
    "page_records",
    "published_board",
    "quarter_table",
    "resolve_unit",
    "set_coverage_start",
    "set_volunteer_stats",
    "void_record",
]

TIE_RULE = (
    "活跃度相同者依次比较活跃天数、实践活动次数；仍相同则并列同一名次，"
    "下一名次顺延（如 1、2、2、4），并列单位按名称排序。"
)
SATISFACTION_GRADES = ("优秀", "良好", "一般")


def load_rubric(name: str) -> Rubric:
    """Load a shipped rubric by name (``changxing-2020``) or a YAML path; raises ``RubricError``."""
    return load_rubric_by_name(name)


def list_rubrics() -> list[str]:
    return list_rubric_names()


P = ParamSpec("P")
T = TypeVar("T")


def _bulk(fn: Callable[P, T]) -> Callable[P, T]:
    """Pause the cyclic garbage collector while a table for every unit is computed.

    A table allocates tens of thousands of short-lived rows, tuples and dicts, none of them in a reference
    cycle (reference counting frees them all); meanwhile the collector would walk every long-lived object of
    the process several times per table, about a third of a 2,000-unit table's time.
    """

    @functools.wraps(fn)
    def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return paused


def _competition_ranks(keys: list[tuple[Any, ...]]) -> list[int]:
    """1, 2, 2, 4 ranking of already sorted keys."""
    ranks: list[int] = []
    for i, key in enumerate(keys):
        ranks.append(ranks[-1] if i and key == keys[i - 1] else i + 1)
    return ranks


def liveliness_formula(rubric: Rubric) -> str:
    rule = rubric.liveliness
    return (
        f"活跃度 = {fmt(rule.report_weight)} × 每日计入报送数（每日最多 {rule.daily_report_cap} 条）"
        f" + {fmt(rule.day_weight)} × 活跃天数 + {fmt(rule.photo_weight)} × 每日照片数（每日最多 "
        f"{rule.daily_photo_cap} 张{'，疑似转发不计' if rule.exclude_repost_photos else ''}）"
    )


def _practice_labels(rubric: Rubric) -> list[str]:
    if isinstance(rubric, ChangxingRubric):
        return list(rubric.items.practice.labels)
    return list(rubric.liveliness.labels)


def _liveliness(
    session: Session, rubric: Rubric, start: date, end: date, unit_ids: list[int]
) -> dict[int, repository.LivelinessRow]:
    """Each unit's liveliness counts for the month, from its stored part unless its reports changed since."""
    rule = rubric.liveliness

    def compute(ids: list[int] | None) -> dict[int, list[Any]]:
        found = repository.liveliness(session, rubric.counting, rule, _practice_labels(rubric), start, end, ids)
        return {
            uid: [r.counted_reports, r.active_days, r.photos, r.counted_photos, r.practice_count, r.label_counts]
            for uid, r in found.items()
        }

    cache_key = score_cache.key("liveliness", rubric.counting, rule, _practice_labels(rubric), start, end)
    return {
        uid: repository.LivelinessRow(uid, *part)
        for uid, part in score_cache.parts(session, cache_key, unit_ids, compute).items()
        if part is not None
    }


def _unit_parts(
    session: Session,
    cache_key: str,
    units: Sequence[repository.AnyUnit],
    compute: Callable[[Sequence[repository.AnyUnit], list[int] | None], Any],
) -> dict[int, Any]:
    """``score_cache.parts`` over unit rows: ``compute(some, ids)`` gets the rows of the units to compute (all when
    ``ids`` is None), as the table arithmetic needs them."""
    by_id = {u.id: u for u in units}
    return score_cache.parts(
        session, cache_key, list(by_id), lambda ids: compute(units if ids is None else [by_id[i] for i in ids], ids)
    )


@_bulk
def monthly_ranking(session: Session, settings: Settings, rubric: Rubric, year: int, month: int) -> MonthlyRanking:
    """活跃度 ranking of every active unit for one month (units without reports rank last, tied)."""
    repository.prepare(session)
    rule = rubric.liveliness
    start, end = month_start(year, month), month_start(year, month + 1)
    units = repository.units(session)
    covered = [u for u in units if (first := coverage_start(settings, u)) is None or first <= start]
    covered_ids = {u.id for u in covered}
    stats = _liveliness(session, rubric, start, end, [u.id for u in covered])
    empty = repository.LivelinessRow(0, 0, 0, 0, 0, 0, {label: 0 for label in repository.LABELS})
    weights = (rule.report_weight, rule.day_weight, rule.photo_weight)
    scored = []
    for unit in covered:
        row = stats.get(unit.id, empty)
        score = round(
            weights[0] * row.counted_reports + weights[1] * row.active_days + weights[2] * row.counted_photos, 2
        )
        scored.append((-score, -row.active_days, -row.practice_count, unit.name, unit, row, score))
    scored.sort(key=lambda t: t[:4])  # name last: equal units are listed by name
    ranks = _competition_ranks([t[:3] for t in scored])
    minimum = rule.min_practice_per_month
    rows = [
        MonthlyRankingRow(  # validating in pydantic-core is cheaper than model_construct's Python loop
            rank=rank,
            unit_id=unit.id,
            unit_name=unit.name,
            honour_level=unit.honour_level,
            practice_count=row.practice_count,
            label_counts=row.label_counts,
            active_days=row.active_days,
            photos=row.photos,
            liveliness=score,
            meets_minimum=row.practice_count >= minimum,
        )
        for rank, (*_, unit, row, score) in zip(ranks, scored, strict=True)
    ]
    return MonthlyRanking(
        rubric=rubric.name,
        year=year,
        month=month,
        start=start,
        end=end,
        formula=liveliness_formula(rubric),
        tie_rule=TIE_RULE,
        rows=rows,
        no_data=[u.name for u in units if u.id not in covered_ids],
    )


def _as_of(settings: Settings, as_of: date | None) -> date:
    return as_of or today(settings)


def _settled(day: date, last_day: date) -> date:
    """The as-of day a period's stored parts are keyed on: every day after its last one reads the same rows under
    the same rules (all months started, nothing clipped), so a closed quarter or year is not computed anew daily."""
    return min(day, last_day)


def _month_date(text: str | None) -> date | None:
    if not text:
        return None
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def coverage_start(settings: Settings, unit: repository.AnyUnit) -> date | None:
    """The first month counted for a unit: the office's start or the unit's own (joined mid-year), the later."""
    starts = [d for d in (_month_date(settings.scoring_start), _month_date(unit.scoring_start)) if d is not None]
    return max(starts) if starts else None


Starts = dict[int, date | None]


def _starts(settings: Settings, units: Sequence[repository.AnyUnit]) -> Starts:
    return {u.id: coverage_start(settings, u) for u in units}


def _quarter_covered(year: int, quarter: int, start: date | None) -> bool:
    """A quarter counts once its last month is covered (a unit starting in August is scored for Q3)."""
    return start is None or month_start(year, quarter_first_month(quarter) + 2) >= start


def _ranked_rows(units: Sequence[repository.AnyUnit], columns: dict[int, dict[str, float] | None]) -> list[QuarterRow]:
    """Units with no covered month are left out (无数据), never ranked as zero."""
    units = [u for u in units if columns.get(u.id) is not None]
    totals = {u.id: round(sum(columns[u.id].values()), 2) for u in units}  # type: ignore[union-attr]
    ordered = sorted(units, key=lambda u: (-totals[u.id], u.name))
    ranks = _competition_ranks([(totals[u.id],) for u in ordered])
    return [
        QuarterRow(
            rank=rank,
            unit_id=u.id,
            unit_name=u.name,
            honour_level=u.honour_level,
            items=columns[u.id] or {},
            total=totals[u.id],
        )
        for rank, u in zip(ranks, ordered, strict=True)
    ]


def _changxing_columns(
    session: Session,
    rubric: ChangxingRubric,
    period: changxing.Period,
    units: Sequence[repository.AnyUnit],
    starts: Starts,
    running: bool = False,
    facts: changxing.Facts | None = None,
    scope: repository.Units = None,
) -> dict[int, dict[str, float] | None]:
    """Per unit the 附件3 columns over its covered months; None for a unit with no covered month.

    ``running``: points earned so far, divided by every covered month of the period (months not begun add 0).
    ``facts``: the period's facts when the caller already gathered them (the annual table's two passes).
    ``scope``: the units ``units`` are, when not all (facts are read for those only).
    """
    facts = facts or changxing.gather(session, rubric, period, scope)
    periods: dict[date | None, changxing.Period | None] = {}
    columns: dict[int, dict[str, float] | None] = {}
    for u in units:
        start = starts.get(u.id)
        if start not in periods:
            own_period = changxing.covered(period, start)
            if running and own_period is not None:
                own_period = changxing.running(own_period, start)
            periods[start] = own_period
        own = periods[start]
        columns[u.id] = None if own is None else changxing.table_columns(rubric, u.id, own, facts)
    return columns


YearData = tuple[dict[tuple[int, str], list[repository.Record]], dict[int, list[repository.Record]]]


def _year_data(session: Session, year: int, unit_id: repository.Units = None, quarter: int | None = None) -> YearData:
    """西乡 checks by (unit, kind) and volunteer statistics by unit, fetched once per table.

    With ``quarter``, only the checks that can apply to it and each unit's statistics current in it.
    """
    checks = xixiang.by_unit_and_kind(repository.checks(session, year, unit_id, quarter))
    if quarter is None:
        stats = repository.volunteer_stats(session, year, unit_id)
    else:
        stats = repository.latest_volunteer_stats(session, year, quarter, unit_id)
    return checks, xixiang.by_unit(stats)


def _xixiang_quarter_facts(
    session: Session,
    rubric: XixiangRubric,
    year: int,
    quarter: int,
    as_of: date,
    units: Sequence[repository.AnyUnit],
    year_data: YearData | None = None,
    evidence: bool = False,
    year_reports: xixiang.YearReports | None = None,
    scope: repository.Units = None,
) -> xixiang.QuarterFacts:
    unit_id = units[0].id if evidence else scope
    checks, stats = year_data or _year_data(session, year, unit_id, quarter)
    ids = [u.id for u in units]
    facts = xixiang.gather(
        session, rubric, year, quarter, as_of, checks, stats, unit_id, ids, explain=evidence, year_reports=year_reports
    )
    if evidence:
        xixiang.gather_evidence(session, rubric, facts, units[0].id)
    return facts


def item_columns(rubric: Rubric) -> list[TableColumn]:
    """The rubric's score items with their Chinese titles and full marks, as the notices' tables head them."""
    return list(changxing.COLUMNS if isinstance(rubric, ChangxingRubric) else xixiang.COLUMNS)


@_bulk
def quarter_table(
    session: Session, settings: Settings, rubric: Rubric, year: int, quarter: int, as_of: date | None = None
) -> QuarterTable:
    """The 附件3 季度汇总表 (长兴: four columns) or the six-item quarterly assessment (西乡), ranked."""
    repository.prepare(session)
    if not 1 <= quarter <= 4:
        raise ScoringError(f"季度应为 1–4，收到 {quarter}")
    units = repository.units(session)
    day = _as_of(settings, as_of)
    starts = _starts(settings, units)

    def compute(some: Sequence[repository.AnyUnit], ids: list[int] | None) -> dict[int, dict[str, float] | None]:
        if isinstance(rubric, ChangxingRubric):
            period = changxing.Period.of(year, quarter_first_month(quarter), 3, day, rubric.counting.in_progress)
            return _changxing_columns(session, rubric, period, some, starts, scope=ids)
        facts = _xixiang_quarter_facts(session, rubric, year, quarter, day, some, scope=ids)
        return {
            u.id: xixiang.quarter_points(rubric, u.id, facts) if _quarter_covered(year, quarter, starts[u.id]) else None
            for u in some
        }

    last_day = month_start(year, quarter_first_month(quarter) + 3) - timedelta(days=1)
    cache_key = score_cache.key("quarter", rubric, year, quarter, _settled(day, last_day), settings.scoring_start)
    columns: dict[int, dict[str, float] | None] = _unit_parts(session, cache_key, units, compute)
    if isinstance(rubric, ChangxingRubric):
        cols, title = changxing.COLUMNS, "长兴县各级文明单位创建动态管理量化考核（季度）汇总表"
    else:
        cols, title = xixiang.COLUMNS, "西乡县部门（单位）新时代文明实践工作季度考核"
    return QuarterTable(
        rubric=rubric.name,
        title=f"{year}年第{quarter}季度 {title}",
        year=year,
        quarter=quarter,
        columns=cols,
        rows=_ranked_rows(units, columns),
        no_data=[u.name for u in units if columns.get(u.id) is None],
    )


def _counted_quarters(rubric: XixiangRubric, year: int, as_of: date) -> list[int]:
    starts = [month_start(year, quarter_first_month(q)) for q in range(1, 5)]
    mode = "all" if rubric.annual.average_over == "all_quarters" else rubric.counting.in_progress
    return [i + 1 for i in started(starts, as_of, mode)]


def _adjustment_entries(
    session: Session, year: int, unit_id: repository.Units = None
) -> dict[int, list[repository.Record]]:
    entries: dict[int, list[repository.Record]] = defaultdict(list)
    for entry in repository.adjustments(session, date(year, 1, 1), date(year + 1, 1, 1), unit_id):
        entries[entry.unit_id].append(entry)
    return entries


def _xixiang_year(
    session: Session, rubric: XixiangRubric, year: int, as_of: date, unit: repository.AnyUnit, start: date | None
) -> list[LineItem]:
    """One unit's six items averaged over the counted (covered) quarters, then bonus and deduction, explained."""
    data = _year_data(session, year, unit.id)
    quarters = [q for q in _counted_quarters(rubric, year, as_of) if _quarter_covered(year, q, start)]
    if not quarters:
        return []
    per_quarter = {}
    for q in quarters:
        facts = _xixiang_quarter_facts(session, rubric, year, q, as_of, [unit], data, evidence=True)
        per_quarter[q] = xixiang.quarter_items(rubric, unit.id, facts)
    merged = []
    for index, column in enumerate(xixiang.COLUMNS):
        parts = [per_quarter[q][index] for q in quarters]
        average = sum(p.points for p in parts) / len(parts)
        lines: list[str] = []
        for q, part in zip(quarters, parts, strict=True):
            lines.append(f"第{q}季度：{fmt(part.points)} 分")
            lines.extend(f"  · {line}" for line in part.lines)
        lines.append(
            f"{' + '.join(fmt(p.points) for p in parts)} = {fmt(sum(p.points for p in parts))}，"
            f"÷ {len(parts)} 个季度 = {fmt(average)} 分"
        )
        merged.append(
            LineItem(
                key=column.key,
                title=column.title,
                max_points=column.max_points,
                points=round(average, 2),
                lines=lines,
                report_ids=sorted({r for p in parts for r in p.report_ids}),
                record_ids=sorted({r for p in parts for r in p.record_ids}),
            )
        )
    merged.extend(xixiang.adjustment_items(rubric, _adjustment_entries(session, year, unit.id).get(unit.id, [])))
    return merged


def _xixiang_year_columns(
    session: Session,
    rubric: XixiangRubric,
    year: int,
    as_of: date,
    units: Sequence[repository.AnyUnit],
    starts: Starts,
    running: bool = False,
    gathered: XixiangYear | None = None,
) -> dict[int, dict[str, float] | None]:
    """Per unit: the six items averaged over its counted, covered quarters, then bonus and deduction.

    ``running``: the started quarters' points divided by every covered quarter of the year.
    ``gathered``: the year's facts when the caller already gathered them (the annual table's two passes).
    """
    quarters = _counted_quarters(rubric, year, as_of)
    facts, entries = gathered or _xixiang_year_facts(session, rubric, year, as_of, units)
    result: dict[int, dict[str, float] | None] = {}
    for unit in units:
        own = [q for q in quarters if _quarter_covered(year, q, starts[unit.id])]
        if not own:
            result[unit.id] = None
            continue
        per_quarter = [xixiang.quarter_points(rubric, unit.id, facts[q]) for q in own]
        divisor = len(per_quarter)
        if running:
            divisor = sum(_quarter_covered(year, q, starts[unit.id]) for q in range(1, 5))
        columns = {c.key: round(sum(p[c.key] for p in per_quarter) / divisor, 2) for c in xixiang.COLUMNS}
        result[unit.id] = columns | xixiang.adjustment_totals(rubric, entries.get(unit.id, []))
    return result


XixiangYear = tuple[dict[int, xixiang.QuarterFacts], dict[int, list[repository.Record]]]


def _xixiang_year_facts(
    session: Session,
    rubric: XixiangRubric,
    year: int,
    as_of: date,
    units: Sequence[repository.AnyUnit],
    scope: repository.Units = None,
) -> XixiangYear:
    """Every counted quarter's facts and the year's adjustments, for ``units`` (all, or ``scope``), grouped."""
    data = _year_data(session, year, scope)
    quarters = _counted_quarters(rubric, year, as_of)
    reports = xixiang.read_year_reports(session, rubric, year, quarters, as_of, scope)  # one read for every quarter
    facts = {
        q: _xixiang_quarter_facts(session, rubric, year, q, as_of, units, data, year_reports=reports, scope=scope)
        for q in quarters
    }
    return facts, _adjustment_entries(session, year, scope)


Totals = dict[int, tuple[float, dict[str, float]]]


def _year_totals(
    session: Session,
    rubric: Rubric,
    year: int,
    as_of: date,
    units: Sequence[repository.AnyUnit],
    starts: Starts,
    running: bool = False,
    gathered: dict[str, Any] | None = None,
    scope: repository.Units = None,
) -> Totals:
    """Per covered unit: the year's score and its columns (``running``: earned so far on the full-year scale).

    ``gathered`` keeps the year's facts between calls: the projection and the running total read the same rows.
    ``scope``: the units ``units`` are, when not all.
    """
    gathered = {} if gathered is None else gathered
    columns: dict[int, dict[str, float] | None]
    if isinstance(rubric, ChangxingRubric):
        period = changxing.Period.of(year, 1, 12, as_of, rubric.counting.in_progress)
        if "changxing" not in gathered:
            gathered["changxing"] = changxing.gather(session, rubric, period, scope)
        columns = _changxing_columns(session, rubric, period, units, starts, running, gathered["changxing"])
    else:
        if "xixiang" not in gathered:
            gathered["xixiang"] = _xixiang_year_facts(session, rubric, year, as_of, units, scope)
        columns = _xixiang_year_columns(session, rubric, year, as_of, units, starts, running, gathered["xixiang"])
    return {uid: (round(sum(cols.values()), 2), cols) for uid, cols in columns.items() if cols is not None}


def _warning_line(rubric: Rubric) -> float | None:
    return rubric.annual.warning_below


def _history_years(rubric: Rubric) -> int:
    return rubric.annual.rectification_years if isinstance(rubric, ChangxingRubric) else 2


History = dict[int, dict[int, history.PastScore]]


def _previous_totals(session: Session, rubric: Rubric, year: int) -> History:
    """Earlier years the rules look at: only published years and entered historic scores, never inferred."""
    found: History = {}
    for back in range(1, _history_years(rubric)):
        scores = history.year_scores(session, rubric.name, year - back)
        if not scores:
            break
        found[year - back] = scores
    return found


def _month_text(day: date) -> str:
    return f"{day.year}年{day.month}月"


def _coverage_text(year: int, start: date | None) -> str:
    """Which months of the year are counted at all (计分起始月份 or the unit's own start)."""
    if start is None or start <= date(year, 1, 1):
        return f"{year}年全年"
    if start.year > year:
        return "无数据"
    return f"{year}年{start.month}—12月"


def _through(year: int, as_of: date) -> date | None:
    """The last month of ``year`` that has started by ``as_of`` (None before the year starts)."""
    if as_of < date(year, 1, 1):
        return None
    return date(year, 12, 1) if as_of >= date(year, 12, 1) else date(year, as_of.month, 1)


def _annual_totals(
    session: Session,
    settings: Settings,
    rubric: Rubric,
    year: int,
    day: date,
    units: Sequence[repository.AnyUnit],
    starts: Starts,
) -> tuple[Totals, Totals]:
    """Every covered unit's projected and running year totals, from its stored part unless its rows changed."""
    partial = day < date(year, 12, 1)

    def compute(some: Sequence[repository.AnyUnit], ids: list[int] | None) -> dict[int, list[Any]]:
        gathered: dict[str, Any] = {}
        totals = _year_totals(session, rubric, year, day, some, starts, gathered=gathered, scope=ids)
        running = totals
        if partial:
            running = _year_totals(session, rubric, year, day, some, starts, running=True, gathered=gathered, scope=ids)
        return {uid: [totals[uid], running.get(uid, totals[uid])] for uid in totals}

    cache_key = score_cache.key("annual", rubric, year, _settled(day, date(year, 12, 31)), settings.scoring_start)
    parts = _unit_parts(session, cache_key, units, compute)
    totals: Totals = {uid: (part[0][0], part[0][1]) for uid, part in parts.items() if part is not None}
    running: Totals = {uid: (part[1][0], part[1][1]) for uid, part in parts.items() if part is not None}
    return totals, running


@_bulk
def annual_scores(
    session: Session, settings: Settings, rubric: Rubric, year: int, as_of: date | None = None
) -> list[AnnualScore]:
    """Annual score per covered active unit with warning, 限期整改, year-over-year and two-year average, ranked.

    While the year is not closed every row is ``provisional`` (预计): the score is the full-year projection at
    the current pace, ``running_total`` the points earned so far on the full-year scale.
    """
    repository.prepare(session)
    day = _as_of(settings, as_of)
    units = repository.units(session)
    starts = _starts(settings, units)
    totals, running = _annual_totals(session, settings, rubric, year, day, units, starts)
    provisional = not history.year_closed(session, rubric.name, year)
    past = _previous_totals(session, rubric, year)
    stats = xixiang.by_unit(repository.volunteer_stats(session, year)) if isinstance(rubric, ChangxingRubric) else {}
    covered = [u for u in units if u.id in totals]
    ordered = sorted(covered, key=lambda u: (-totals[u.id][0], u.name))
    ranks = _competition_ranks([(totals[u.id][0],) for u in ordered])
    context = _YearContext(year, day, provisional, past)
    return [
        _annual_row(
            rubric,
            unit,
            rank,
            context,
            totals[unit.id],
            stats.get(unit.id, []),
            starts[unit.id],
            running[unit.id][0],
        )
        for rank, unit in zip(ranks, ordered, strict=True)
    ]


def uncovered_units(session: Session, settings: Settings, year: int) -> list[str]:
    """Active units with no counted month in ``year`` (无数据), by name."""
    units = repository.units(session)
    end = date(year, 12, 1)
    return [u.name for u in units if (start := coverage_start(settings, u)) is not None and start > end]


class _YearContext:
    """What every row of one annual table shares: the year, the day, whether it is closed, and history."""

    def __init__(self, year: int, as_of: date, provisional: bool, past: History):
        self.year, self.as_of, self.provisional, self.past = year, as_of, provisional, past


def _annual_row(
    rubric: Rubric,
    unit: repository.AnyUnit,
    rank: int,
    ctx: _YearContext,
    total: tuple[float, dict[str, float]],
    stats: list[repository.Record],
    start: date | None,
    running_total: float,
) -> AnnualScore:
    score, columns = total
    year = ctx.year
    line = _warning_line(rubric)
    earlier_year = ctx.past.get(year - 1, {}).get(unit.id)
    previous = earlier_year.score if earlier_year else None
    earlier: list[float] = []
    for y in sorted(ctx.past, reverse=True):
        found = ctx.past[y].get(unit.id)
        if found is None:
            break
        earlier.append(found.score)
    needed = _history_years(rubric) - 1
    rectification = (
        line is not None and score < line and len(earlier) >= needed and all(s < line for s in earlier[:needed])
    )
    average = round((score + previous) / 2, 2) if previous is not None else None
    weight = rubric.annual.review_weight if isinstance(rubric, ChangxingRubric) else None
    volunteer = changxing.volunteer_compliance(rubric, unit, stats) if isinstance(rubric, ChangxingRubric) else None
    through = _through(year, ctx.as_of)
    return AnnualScore(
        rank=rank,
        unit_id=unit.id,
        unit_name=unit.name,
        honour_level=unit.honour_level,
        year=year,
        score=score,
        items=columns,
        warning=line is not None and score < line,
        rectification=rectification,
        previous_score=previous,
        previous_source=earlier_year.source if earlier_year else None,
        year_over_year=round(score - previous, 2) if previous is not None else None,
        two_year_average=average,
        review_component=round(average * weight, 2) if average is not None and weight is not None else None,
        volunteer=volunteer,
        provisional=ctx.provisional,
        coverage=_coverage_text(year, start),
        through=_month_text(through) if through else None,
        running_total=running_total,
    )


def _unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise ScoringError(f"没有编号为 {unit_id} 的单位")
    return unit


def resolve_unit(session: Session, ref: str) -> Unit:
    """A unit by id, exact name, alias, or a name fragment that matches exactly one unit."""
    text = ref.strip()
    if text.isdigit():
        return _unit(session, int(text))
    exact = session.scalars(select(Unit).where(Unit.name == text)).first()
    if exact is not None:
        return exact
    candidates = list(session.scalars(select(Unit).where(Unit.name.contains(text, autoescape=True)).limit(6)))
    if not candidates:
        candidates = [
            u for u in session.scalars(select(Unit).where(Unit.active.is_(True))) if text in (u.aliases or [])
        ]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ScoringError(f"找不到单位 {text!r}")
    names = "、".join(u.name for u in candidates[:5])
    raise ScoringError(f"单位 {text!r} 不唯一：{names}……请写全称或编号")


def published_board(session: Session, rubric: str, kind: str, year: int, number: int) -> Any:
    """The published MonthlyRanking / QuarterTable / annual rows of a period, or None (posts and exports use it)."""
    return history.published_board(session, rubric, kind, year, number)


def set_coverage_start(session: Session, unit_id: int, month: str | None, actor: str) -> Unit:
    """The month a unit's counting starts (joined mid-year); ``None`` follows the office's start. Audited."""
    unit = _unit(session, unit_id)
    value = None
    if month:
        try:
            year, number = parse_month(month)
        except ValueError as exc:
            raise ScoringError(str(exc)) from None
        value = f"{year}-{number:02d}"
    before = {"scoring_start": unit.scoring_start}
    unit.scoring_start = value
    session.flush()
    audit.record(
        session,
        _check_actor(actor),
        AuditKind.UNIT_COVERAGE,
        subject=("unit", unit.id),
        before=before,
        after={"scoring_start": value, "unit": unit.name},
    )
    return unit


def explain_unit(
    session: Session, settings: Settings, rubric: Rubric, unit_id: int, year: int, as_of: date | None = None
) -> UnitExplanation:
    """Every line item of one unit's annual score with its reports, records and arithmetic in Chinese."""
    repository.prepare(session)
    unit = _unit(session, unit_id)
    day = _as_of(settings, as_of)
    start = coverage_start(settings, unit)
    notes: list[str] = []
    if isinstance(rubric, ChangxingRubric):
        period = changxing.covered(changxing.Period.of(year, 1, 12, day, rubric.counting.in_progress), start)
        items: list[LineItem] = []
        if period is not None:
            facts = changxing.gather(session, rubric, period, unit.id)
            changxing.gather_evidence(session, rubric, period, unit.id, facts)
            items = changxing.line_items(rubric, unit.id, period, facts)
            stats = repository.volunteer_stats(session, year, unit.id)
            notes = changxing.volunteer_lines(unit, changxing.volunteer_compliance(rubric, unit, stats))
            if len(period.counted) < 12:
                first = period.month(period.counted[0])
                last = period.month(period.counted[-1])
                notes.insert(0, f"按已计入的 {first}—{last} 月（{len(period.counted)} 个月）计算")
    else:
        items = _xixiang_year(session, rubric, year, day, unit, start)
        quarters = [q for q in _counted_quarters(rubric, year, day) if _quarter_covered(year, q, start)]
        if quarters:
            notes = [f"年度 = 第{'、'.join(map(str, quarters))}季度得分平均 + 加分 − 扣分"]
    if not items:
        return UnitExplanation(
            rubric=rubric.name,
            unit_id=unit.id,
            unit_name=unit.name,
            honour_level=unit.honour_level,
            year=year,
            total=None,
            items=[],
            notes=[f"{year}年无数据：计分自 {_month_text(start or date(year + 1, 1, 1))} 起"],
            coverage="无数据",
        )
    total = round(sum(i.points for i in items), 2)
    provisional = not history.year_closed(session, rubric.name, year)
    notes.insert(0, f"计分范围：{_coverage_text(year, start)}")
    notes.extend(_history_notes(session, rubric, unit, _YearContext(year, day, provisional, {}), total, start))
    through = _through(year, day)
    return UnitExplanation(
        rubric=rubric.name,
        unit_id=unit.id,
        unit_name=unit.name,
        honour_level=unit.honour_level,
        year=year,
        total=total,
        items=items,
        notes=notes,
        provisional=provisional,
        coverage=_coverage_text(year, start),
        through=_month_text(through) if through else None,
    )


def _history_notes(
    session: Session,
    rubric: Rubric,
    unit: repository.AnyUnit,
    ctx: _YearContext,
    total: float,
    start: date | None,
) -> list[str]:
    year = ctx.year
    ctx.past = _previous_totals(session, rubric, year)
    row = _annual_row(rubric, unit, 0, ctx, (total, {}), [], start, total)
    label = "全年预计" if ctx.provisional else "得分"
    notes = [f"{year}年{label} {fmt(total)} 分" + ("（年度未关账，仅供参考）" if ctx.provisional else "")]
    line = _warning_line(rubric)
    if row.previous_score is not None:
        source = "已公布" if row.previous_source == "published" else "工作人员录入的历史得分"
        notes.append(
            f"{year - 1}年得分 {fmt(row.previous_score)} 分（{source}），同比 {row.year_over_year:+g} 分；"
            f"两年平均 {fmt(row.two_year_average or 0)} 分"
            + (
                f"（占下一年晋级/复评考核分的 {fmt(row.review_component or 0)} 分）"
                if row.review_component is not None
                else ""
            )
        )
    else:
        notes.append(f"{year - 1}年没有已公布的年度得分或录入的历史得分，不计同比与两年平均")
    prefix = "预计" if ctx.provisional else ""
    if row.rectification:
        notes.append(f"{prefix}连续两年低于 {fmt(line or 0)} 分：{'可能' if ctx.provisional else ''}列入限期整改名单")
    elif row.warning:
        notes.append(f"{prefix}低于 {fmt(line or 0)} 分：{'年终可能' if ctx.provisional else ''}发出预警")
    if ctx.provisional and (row.warning or row.rectification):
        notes.append("年度尚未关账，预警与整改以关账公布的年度得分为准")
    return notes


# ---- staff-entered records (kinds: scoring.records) ----


def _check_actor(actor: str) -> str:
    actor = actor.strip()
    if not actor:
        raise ScoringError("请注明录入人（actor）")
    return actor


def _out(kind: RecordKind, record: Any, unit_name: str | None = None) -> RecordOut:
    rtype = records.TYPES[kind]
    return RecordOut(
        kind=kind.value,
        id=record.id,
        unit_id=record.unit_id,
        unit_name=unit_name,
        on=rtype.on(record),
        summary=rtype.describe(record),
        created_by=record.created_by,
        created_at=record.created_at,
        voided_by=record.voided_by,
        voided_at=record.voided_at,
        void_reason=record.void_reason,
    )


def _snapshot(record: Any) -> dict[str, Any]:
    """The record's own fields, as the audit row keeps them."""
    return {c.name: getattr(record, c.name) for c in repository.record_columns(type(record))}


def _save(session: Session, kind: RecordKind, record: Any, unit_id: int, actor: str) -> RecordOut:
    """Store a new record in the actor's name; one audit row says who entered what."""
    unit = _unit(session, unit_id)
    record.created_by = _check_actor(actor)
    record.created_at = utcnow()
    session.add(record)
    session.flush()
    out = _out(kind, record, unit.name)
    after = {"summary": out.summary, **_snapshot(record)}
    audit.record(session, record.created_by, AuditKind.RECORD, subject=(kind.value, record.id), after=after)
    return out


def add_criticism(session: Session, data: CriticismIn, actor: str) -> RecordOut:
    """通报批评: −5 under 长兴 重点工作配合 from the moment it is entered."""
    return _save(session, RecordKind.CRITICISM, m.Criticism(**data.model_dump()), data.unit_id, actor)


def add_media_adoption(session: Session, data: MediaAdoptionIn, actor: str) -> RecordOut:
    """An adoption (录用); linking the chat report keeps it from counting twice."""
    if data.report_id is not None:
        report = session.get(Report, data.report_id)
        if report is None or report.unit_id != data.unit_id:
            raise ScoringError(f"报送 #{data.report_id} 不存在或不属于该单位")
    if not normalize_title(data.title):
        raise ScoringError("稿件标题不能只有标点")
    values = data.model_dump() | {"level": data.level.value, "title_key": normalize_title(data.title)}
    return _save(session, RecordKind.MEDIA_ADOPTION, m.MediaAdoption(**values), data.unit_id, actor)


def add_pairing_sheet(session: Session, data: PairingSheetIn, actor: str) -> RecordOut:
    """《结对共建情况表》 for one quarter."""
    return _save(session, RecordKind.PAIRING_SHEET, m.PairingSheet(**data.model_dump()), data.unit_id, actor)


def set_volunteer_stats(session: Session, data: VolunteerStatsIn, actor: str) -> RecordOut:
    """Volunteer figures for a quarter; a newer entry for the quarter supersedes (both kept for audit)."""
    return _save(session, RecordKind.VOLUNTEER_STATS, m.VolunteerStats(**data.model_dump()), data.unit_id, actor)


def add_xixiang_check(session: Session, data: XixiangCheckIn, actor: str) -> RecordOut:
    """A 西乡 hand-verified item; the fields each kind needs are enforced here."""
    kind = data.kind
    values = data.model_dump() | {"kind": kind.value}
    if kind.scope == "quarter" and data.quarter is None:
        raise ScoringError(f"{kind.zh} 按季度考核，请注明季度")
    if kind.scope == "month":
        if data.month is None:
            raise ScoringError(f"{kind.zh} 按月考核，请注明月份")
        values["quarter"] = (data.month - 1) // 3 + 1
    if kind.scope == "year":
        values["quarter"] = None
    if kind.value == "awareness" and data.value is None:
        raise ScoringError("知晓率调查请填写百分比（0–100）")
    if kind.value == "satisfaction" and data.grade not in SATISFACTION_GRADES:
        raise ScoringError(f"满意率评价应为 {'/'.join(SATISFACTION_GRADES)}，收到 {data.grade!r}")
    return _save(session, RecordKind.CHECK, m.XixiangCheck(**values), data.unit_id, actor)


def add_bonus(session: Session, data: AdjustmentIn, actor: str) -> RecordOut:
    """加分 entry; its points come from the rubric's bonus table at scoring time."""
    if not data.kind.is_bonus:
        raise ScoringError(f"{data.kind.zh} 不是加分项目")
    if data.kind.value != "hosted_event" and data.level is None:
        raise ScoringError(f"{data.kind.zh} 需注明级别（{'/'.join(level.zh for level in OutletLevel)}）")
    values = data.model_dump() | {"kind": data.kind.value, "level": data.level.value if data.level else None}
    values["points"] = None
    return _save(session, RecordKind.ADJUSTMENT, m.Adjustment(**values), data.unit_id, actor)


def add_deduction(session: Session, data: AdjustmentIn, actor: str) -> RecordOut:
    """扣分 entry with the points staff decided (细则：酌情扣分)."""
    if data.kind.is_bonus:
        raise ScoringError(f"{data.kind.zh} 是加分项目，不能作为扣分录入")
    if data.points is None:
        raise ScoringError("扣分项目请填写扣分分值")
    values = data.model_dump() | {"kind": data.kind.value, "level": None}
    return _save(session, RecordKind.ADJUSTMENT, m.Adjustment(**values), data.unit_id, actor)


def add_annual_score(session: Session, data: AnnualScoreIn, actor: str) -> RecordOut:
    """A historic annual score (years before the system); the newest entry for a unit and year counts."""
    return _save(session, RecordKind.ANNUAL_SCORE, m.AnnualScoreRecord(**data.model_dump()), data.unit_id, actor)


def _add_adjustment(session: Session, data: AdjustmentIn, actor: str) -> RecordOut:
    adder = add_bonus if data.kind.is_bonus else add_deduction
    return adder(session, data, actor)


ADDERS: dict[RecordKind, Callable[[Session, Any, str], RecordOut]] = {
    RecordKind.CRITICISM: add_criticism,
    RecordKind.MEDIA_ADOPTION: add_media_adoption,
    RecordKind.PAIRING_SHEET: add_pairing_sheet,
    RecordKind.VOLUNTEER_STATS: set_volunteer_stats,
    RecordKind.CHECK: add_xixiang_check,
    RecordKind.ADJUSTMENT: _add_adjustment,  # bonus or deduction, by the item's kind
    RecordKind.ANNUAL_SCORE: add_annual_score,
}


def add_record(session: Session, kind: str, data: Any, actor: str) -> RecordOut:
    """Enter a record of any kind (``data``: the kind's input schema, ``records.TYPES[kind].schema``)."""
    rtype = records.record_type(kind)
    if not isinstance(data, rtype.schema):
        data = rtype.schema.model_validate(data)
    return ADDERS[rtype.kind](session, data, actor)


def void_record(session: Session, kind: str, record_id: int, actor: str, reason: str) -> RecordOut:
    """Withdraw a wrong entry: it stops counting at once and stays in the table for audit."""
    rtype = records.record_type(kind)
    record = session.get(rtype.model, record_id)
    if record is None:
        raise RecordNotFound(f"没有编号为 {record_id} 的{rtype.zh}记录")
    if record.voided_at is not None:
        raise AlreadyVoided(f"{kind}:{record_id} 已于 {record.voided_at:%Y-%m-%d} 作废")
    if not reason.strip():
        raise ScoringError("作废记录请说明原因")
    record.voided_by, record.voided_at, record.void_reason = _check_actor(actor), utcnow(), reason.strip()
    session.flush()
    out = _out(rtype.kind, record, _unit_name(session, record.unit_id))
    before, after = {"voided": False, "summary": out.summary}, {"voided": True}
    subject = (rtype.kind.value, record.id)
    actor = record.voided_by
    audit.record(session, actor, AuditKind.RECORD, subject=subject, before=before, after=after, reason=reason)
    return out


def _unit_name(session: Session, unit_id: int) -> str | None:
    return session.scalar(select(Unit.name).where(Unit.id == unit_id))


def list_records(session: Session, unit_id: int, year: int, include_voided: bool = True) -> list[RecordOut]:
    """Everything staff entered for a unit and year, oldest first, voided entries marked (the audit view)."""
    unit = _unit(session, unit_id)
    found: list[RecordOut] = []
    for rtype in records.TYPES.values():
        model = rtype.model
        query = select(model).where(model.unit_id == unit_id)
        if rtype.year_field:
            query = query.where(getattr(model, rtype.year_field) == year)
        else:
            column = getattr(model, rtype.date_field or "")
            query = query.where(column >= date(year, 1, 1), column < date(year + 1, 1, 1))
        if not include_voided:
            query = query.where(model.voided_at.is_(None))
        found.extend(_out(rtype.kind, record, unit.name) for record in session.scalars(query))
    return sorted(found, key=lambda r: (r.created_at, r.kind, r.id))


def page_records(
    session: Session,
    *,
    kind: str | None = None,
    unit_id: int | None = None,
    include_voided: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[RecordOut], int]:
    """One page of every staff-entered record, newest first (paged in SQL), and how many match."""
    types = [records.record_type(kind)] if kind else list(records.TYPES.values())
    keys, total = repository.record_page(session, types, unit_id, include_voided, offset, limit)
    by_kind: dict[RecordKind, list[int]] = defaultdict(list)
    for record_kind, record_id in keys:
        by_kind[RecordKind(record_kind)].append(record_id)
    found: dict[tuple[str, int], RecordOut] = {}
    for record_kind, ids in by_kind.items():
        model = records.TYPES[record_kind].model
        rows = session.execute(
            select(model, Unit.name).outerjoin(Unit, Unit.id == model.unit_id).where(model.id.in_(ids))
        )
        for record, unit_name in rows:
            found[(record_kind.value, record.id)] = _out(record_kind, record, unit_name)
    return [found[key] for key in keys], total
