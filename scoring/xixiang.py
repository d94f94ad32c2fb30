"""西乡 2022 quarterly items and annual bonus/deductions: arithmetic over SQL aggregates and staff records."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

from sqlalchemy.orm import Session

from scoring import articles, repository
from scoring.changxing import fmt
from scoring.models import AdjustmentKind, CheckKind, OutletLevel
from scoring.periods import month_start, quarter_first_month
from scoring.repository import Record
from scoring.rubric import XixiangRubric
from scoring.schemas import LineItem, TableColumn

COLUMNS = [
    TableColumn(key="plan", title="计划总结资料上传", max_points=5),
    TableColumn(key="team", title="队伍建设", max_points=15),
    TableColumn(key="activity", title="活动开展", max_points=50),
    TableColumn(key="brand", title="打造品牌", max_points=10),
    TableColumn(key="media", title="媒体宣传", max_points=10),
    TableColumn(key="feedback", title="反馈评价", max_points=10),
]


def rounded(value: float, mode: str) -> float:
    """Steps of a shortfall: only complete points (floor), any started point (ceil), or exact."""
    value = round(value, 6)
    if mode == "floor":
        return float(math.floor(value))
    if mode == "ceil":
        return float(math.ceil(value))
    return value


@dataclass
class QuarterFacts:
    """One quarter's aggregates for all units (or one)."""

    year: int
    quarter: int
    as_of: date
    services: dict[int, int]
    report_hours: dict[int, float]
    media: dict[int, list[repository.AdoptionCandidate]]
    checks: dict[tuple[int, str], list[Record]]  # (unit, kind) → the checks that apply to this quarter
    latest: dict[int, Record]  # unit → the statistics current in this quarter
    service_ids: dict[int, list[int]] = field(default_factory=dict)
    explain: bool = True  # False for tables: the same arithmetic, fewer Chinese lines written
    _media_points: dict[int, float] | None = None
    _table_points: dict[int, dict[str, float]] = field(default_factory=dict)

    def media_points(self, per_item: dict[str, float]) -> dict[int, float]:
        """Every unit's media points before any cap, deduplicated once for the whole table."""
        if self._media_points is None:
            every = [c for found in self.media.values() for c in found]
            self._media_points = articles.points_by_unit(every, per_item)
        return self._media_points

    @property
    def start(self) -> date:
        return month_start(self.year, quarter_first_month(self.quarter))

    @property
    def end(self) -> date:
        return month_start(self.year, quarter_first_month(self.quarter) + 3)


def gather(
    session: Session,
    rubric: XixiangRubric,
    year: int,
    quarter: int,
    as_of: date,
    checks: dict[tuple[int, str], list[Record]],
    stats: dict[int, list[Record]],
    unit_id: repository.Units = None,
    unit_ids: list[int] | None = None,
    explain: bool = True,
    year_reports: YearReports | None = None,
) -> QuarterFacts:
    """Grouped queries for one quarter; the year's checks and stats are fetched by the caller.

    ``year_reports``: the services and notices of every counted quarter, read once by an annual table.
    Report-stated hours are summed only when a unit (of ``unit_ids``) will read them: its newest statistics
    give registered volunteers but no service hours for the quarter.
    """
    c = rubric.counting
    start, end = quarter_window(year, quarter, as_of)
    if year_reports is None:
        year_reports = read_year_reports(session, rubric, year, [quarter], as_of, unit_id)
    services = year_reports.services.get(quarter, {})
    media: dict[int, list[repository.AdoptionCandidate]] = defaultdict(list)
    for candidate in year_reports.notices.get(quarter, []):
        media[candidate.unit_id].append(candidate)
    applicable = {key: _applicable(CheckKind(key[1]), rows, quarter) for key, rows in checks.items()}
    latest = {uid: found for uid, rows in stats.items() if (found := _latest(rows, quarter)) is not None}
    facts = QuarterFacts(year, quarter, as_of, services, {}, media, applicable, latest, explain=explain)
    if rubric.items.activity.participation.hours_source == "stats_then_reports" and _hours_missing(
        facts, unit_ids if unit_ids is not None else list(stats)
    ):
        facts.report_hours = repository.report_hours(session, c, start, end, unit_id)
    return facts


def quarter_window(year: int, quarter: int, as_of: date) -> tuple[date, date]:
    """A quarter's dates; as of a day inside it, nothing dated later is read."""
    start = month_start(year, quarter_first_month(quarter))
    end = month_start(year, quarter_first_month(quarter) + 3)
    if start <= as_of < end:
        end = as_of + timedelta(days=1)
    return start, end


@dataclass
class YearReports:
    """Per quarter: services per unit, and adoption candidates (notices in reports first, then staff records)."""

    services: dict[int, dict[int, int]]
    notices: dict[int, list[repository.AdoptionCandidate]]


def read_year_reports(
    session: Session,
    rubric: XixiangRubric,
    year: int,
    quarters: list[int],
    as_of: date,
    unit_id: repository.Units = None,
) -> YearReports:
    """Services and media of the given (consecutive, counted) quarters with one grouped query and one notice read.

    The windows are the quarters' own (the last clipped at as-of), so every quarter gets exactly what a query
    of its own would return.
    """
    c = rubric.counting
    windows = {q: quarter_window(year, q, as_of) for q in quarters}
    if not quarters:
        return YearReports({}, {})
    if any(windows[a][1] != windows[b][0] for a, b in pairwise(quarters)):
        # a gap (a clipped quarter followed by counted later ones): each quarter on its own
        parts = [read_year_reports(session, rubric, year, [q], as_of, unit_id) for q in quarters]
        return YearReports(
            {q: p.services[q] for q, p in zip(quarters, parts, strict=True)},
            {q: p.notices[q] for q, p in zip(quarters, parts, strict=True)},
        )
    start, end = windows[quarters[0]][0], windows[quarters[-1]][1]
    bounds = [windows[q][1] for q in quarters]
    counts = repository.bucket_counts(
        session, c, start, bounds, {"services": rubric.items.activity.services.labels}, unit_id
    )
    services: dict[int, dict[int, int]] = {q: {} for q in quarters}
    for (uid, index), n in counts.items():
        services[quarters[index]][uid] = n["services"]
    notices: dict[int, list[repository.AdoptionCandidate]] = {q: [] for q in quarters}
    found = repository.report_adoptions(session, c, start, end, unit_id)
    for candidate in found + repository.record_adoptions(session, start, end, unit_id):
        for q in quarters:
            if windows[q][0] <= candidate.day < windows[q][1]:
                notices[q].append(candidate)
                break
    return YearReports(services, notices)


def _hours_missing(facts: QuarterFacts, unit_ids: list[int]) -> bool:
    """Whether participation reads report-stated hours for any of the units (no entered hours to use)."""
    for uid in unit_ids:
        stats = _latest_stats(facts, uid)
        if stats is not None and stats.registered != 0 and not _entered_hours(facts, stats):
            return True
    return not unit_ids


def _entered_hours(facts: QuarterFacts, stats: Record) -> bool:
    return stats.service_hours is not None and stats.quarter == facts.quarter


def gather_evidence(session: Session, rubric: XixiangRubric, facts: QuarterFacts, unit_id: int) -> None:
    labels = rubric.items.activity.services.labels
    ids: list[int] = []
    for report_id, _day, label in repository.report_listing(session, rubric.counting, facts.start, facts.end, unit_id):
        if label in labels and report_id not in ids:
            ids.append(report_id)
    facts.service_ids = {unit_id: ids}


def by_unit(rows: list[Record]) -> dict[int, list[Record]]:
    grouped: dict[int, list[Record]] = defaultdict(list)
    for row in rows:
        grouped[row.unit_id].append(row)
    return grouped


def by_unit_and_kind(rows: list[Record]) -> dict[tuple[int, str], list[Record]]:
    grouped: dict[tuple[int, str], list[Record]] = defaultdict(list)
    for row in rows:
        grouped[(row.unit_id, row.kind)].append(row)
    return grouped


def _applicable(kind: CheckKind, found: list[Record], quarter: int) -> list[Record]:
    """Checks of a kind that apply to the quarter (year-scoped ones apply to every quarter of their year)."""
    if kind.scope == "quarter":
        return [c for c in found if c.quarter == quarter]
    if kind.scope == "month":
        first = quarter_first_month(quarter)
        return [c for c in found if c.month and first <= c.month < first + 3]
    return found


def _checks(facts: QuarterFacts, unit_id: int, kind: CheckKind) -> list[Record]:
    return facts.checks.get((unit_id, kind), [])  # a StrEnum member hashes and compares as its value


def _flag(facts: QuarterFacts, unit_id: int, kind: CheckKind, points: float, out: list[str], ids: list[str]) -> float:
    found = _checks(facts, unit_id, kind)
    if facts.explain:
        ids.extend(f"check:{c.id}" for c in found)
        done = f"已核实（{found[0].done_on:%Y-%m-%d}）→ {fmt(points)} 分" if found else "未录入 → 0 分"
        out.append(f"{kind.zh}：{done}")
    return points if found else 0.0


def _latest_stats(facts: QuarterFacts, unit_id: int) -> Record | None:
    return facts.latest.get(unit_id)


def _latest(stats: list[Record], quarter: int) -> Record | None:
    """The newest statistics entered for this quarter, else for the latest earlier quarter of the year."""
    rows = [s for s in stats if s.quarter <= quarter]
    return max(rows, key=lambda s: (s.quarter, s.id)) if rows else None


def _plan(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts) -> tuple[float, list[str], list[str]]:
    rule, lines, ids = rubric.items.plan, [], []
    points = _flag(facts, unit_id, CheckKind.ANNUAL_PLAN, rule.annual_plan, lines, ids)
    points += _flag(facts, unit_id, CheckKind.ANNUAL_SUMMARY, rule.annual_summary, lines, ids)
    points += _flag(facts, unit_id, CheckKind.MATERIALS, rule.materials, lines, ids)
    return points, lines, ids


def _registration(
    rubric: XixiangRubric, stats: Record | None, facts: QuarterFacts, lines: list[str], ids: list[str]
) -> float:
    rule = rubric.items.team.registration
    if stats is None:
        if facts.explain:
            lines.append("注册志愿者比例：未录入统计 → 0 分")
        return 0.0
    percent = 100.0 * stats.registered / stats.headcount
    below = rounded(max(0.0, rule.min_ratio * 100 - percent), rubric.point_rounding)
    points = max(0.0, rule.points - rule.per_point_below * below)
    if facts.explain:
        ids.append(f"volunteer_stats:{stats.id}")
        detail = (
            f"低于 {fmt(rule.min_ratio * 100)}% 计 {fmt(below)} 个百分点，扣 {fmt(rule.per_point_below * below)}"
            if below
            else f"≥ {fmt(rule.min_ratio * 100)}%"
        )
        lines.append(
            f"注册志愿者 {stats.registered} / 在编在岗 {stats.headcount} = {fmt(percent)}%，{detail} → {fmt(points)} 分"
        )
    return points


def _team(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts) -> tuple[float, list[str], list[str]]:
    rule, lines, ids = rubric.items.team, [], []
    points = _flag(facts, unit_id, CheckKind.TEAM_FLAG, rule.team_flag, lines, ids)
    points += _flag(facts, unit_id, CheckKind.UNIFORMS, rule.uniforms, lines, ids)
    points += _flag(facts, unit_id, CheckKind.UNIFORM_WORN, rule.uniform_worn, lines, ids)
    points += _registration(rubric, _latest_stats(facts, unit_id), facts, lines, ids)
    trainings = _checks(facts, unit_id, CheckKind.TRAINING)
    ok = len(trainings) >= rule.training.min_per_quarter
    points += rule.training.points if ok else 0.0
    if facts.explain:
        ids.extend(f"check:{c.id}" for c in trainings)
        lines.append(f"志愿者队伍培训 {len(trainings)} 次 → {fmt(rule.training.points if ok else 0)} 分")
    return points, lines, ids


def _services(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts, lines: list[str]) -> float:
    rule = rubric.items.activity.services
    stats = _latest_stats(facts, unit_id)
    projects = stats.service_projects if stats and stats.service_projects is not None else None
    counted_projects = rule.projects_when_unknown if projects is None else projects
    required = rule.small_min_services if counted_projects <= rule.small_max_projects else rule.large_min_services
    done = facts.services.get(unit_id, 0)
    missing = max(0, required - done)
    points = max(0.0, rule.points - rule.per_missing * missing)
    if facts.explain:
        project_text = f"点单服务项目 {projects} 个" if projects is not None else "未录入点单服务项目数"
        ids = facts.service_ids.get(unit_id, [])
        evidence = "（报送 " + "、".join(f"#{i}" for i in ids) + "）" if ids else ""
        lines.append(
            f"{project_text}，要求每季度 {required} 次；服务 {done} 次{evidence}，"
            f"少 {missing} 次 × {fmt(rule.per_missing)}"
            f" → {fmt(points)} 分"
        )
    return points


def _participation(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts, lines: list[str]) -> float:
    rule = rubric.items.activity.participation
    stats = _latest_stats(facts, unit_id)
    if stats is None or stats.registered == 0:
        if facts.explain:
            lines.append("参与率：未录入注册志愿者人数 → 0 分")
        return 0.0
    if _entered_hours(facts, stats):
        hours, source = stats.service_hours, "系统统计"
    elif rule.hours_source == "stats_then_reports":
        hours, source = facts.report_hours.get(unit_id, 0.0), "报送中提取"
    else:
        hours, source = 0.0, "未录入"
    average = hours / stats.registered
    short = rounded(max(0.0, rule.hours_per_volunteer - average), rubric.point_rounding)
    points = max(0.0, rule.points - rule.per_missing_hour * short)
    if facts.explain:
        lines.append(
            f"志愿服务 {fmt(hours)} 小时（{source}）/ 注册 {stats.registered} 人 = 人均 {fmt(average)} 小时，"
            f"要求 {fmt(rule.hours_per_volunteer)} 小时，计少 {fmt(short)} 小时 × {fmt(rule.per_missing_hour)}"
            f" → {fmt(points)} 分"
        )
    return points


def _awareness(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts, lines: list[str], ids: list[str]) -> float:
    rule = rubric.items.activity.awareness
    surveys = [c for c in _checks(facts, unit_id, CheckKind.AWARENESS) if c.value is not None]
    if not surveys:
        points = rule.points if rule.when_missing == "full" else 0.0
        if facts.explain:
            lines.append(f"知晓率：本季度未调查 → 按{'满分' if points else '0 分'}计")
        return points
    survey = max(surveys, key=lambda c: (c.done_on, c.id))
    value = float(survey.value or 0)
    below = rounded(max(0.0, rule.min_percent - value), rubric.point_rounding)
    points = max(0.0, rule.points - rule.per_point_below * below)
    if facts.explain:
        ids.append(f"check:{survey.id}")
        lines.append(
            f"知晓率 {fmt(value)}%（{survey.done_on:%Y-%m-%d} 调查），低于 {fmt(rule.min_percent)}% "
            f"计 {fmt(below)} 个百分点 → {fmt(points)} 分"
        )
    return points


def _activity(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts) -> tuple[float, list[str], list[str]]:
    lines: list[str] = []
    ids: list[str] = []
    points = _services(rubric, unit_id, facts, lines)
    points += _participation(rubric, unit_id, facts, lines)
    points += _awareness(rubric, unit_id, facts, lines, ids)
    stats = _latest_stats(facts, unit_id)
    if stats is not None and facts.explain:
        ids.append(f"volunteer_stats:{stats.id}")
    return points, lines, ids


def _brand(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts) -> tuple[float, list[str], list[str]]:
    rule, lines, ids = rubric.items.brand, [], []
    points = _flag(facts, unit_id, CheckKind.BRAND_PLAN, rule.brand_plan, lines, ids)
    points += _flag(facts, unit_id, CheckKind.BRAND_PROMOTED, rule.brand_promoted, lines, ids)
    return points, lines, ids


def _media(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts) -> tuple[float, list[str], list[str], list[int]]:
    rule = rubric.items.media
    if not facts.explain:
        raw = facts.media_points(rule.per_item).get(unit_id, 0)
        return (min(raw, rule.cap) if rule.cap is not None else raw), [], [], []
    found = articles.dedupe(facts.media.get(unit_id, []), rule.per_item)
    raw = sum(a.points for a in found)
    points = min(raw, rule.cap) if rule.cap is not None else raw
    lines: list[str] = []
    if facts.explain:
        lines = [
            f"《{a.title}》 {a.level_zh}（{'、'.join(a.outlets) or '未注明媒体'}）→ {fmt(a.points)} 分" for a in found
        ]
        cap_text = f"（上限 {fmt(rule.cap)}）" if rule.cap is not None else "（细则：超出标准分以实际得分为准）"
        lines.append(f"{len(found)} 项合计 {fmt(raw)} 分{cap_text} → {fmt(points)} 分")
    if not facts.explain:
        return points, lines, [], []
    ids = [f"media_adoption:{r}" for a in found for r in a.record_ids]
    return points, lines, ids, [r for a in found for r in a.report_ids]


def _deadline(year: int, month: int, day: int) -> date:
    return date(year, month, day)


def _feedback(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts) -> tuple[float, list[str], list[str]]:
    rule, lines, ids = rubric.items.feedback, [], []
    summary = rule.monthly_summary
    summaries = _checks(facts, unit_id, CheckKind.MONTHLY_SUMMARY)
    misses = 0
    for month in range(quarter_first_month(facts.quarter), quarter_first_month(facts.quarter) + 3):
        deadline = _deadline(facts.year, month, summary.deadline_day)
        last_ok = deadline if summary.deadline_inclusive else deadline - timedelta(days=1)
        on_time = [c for c in summaries if c.month == month and c.done_on <= last_ok]
        if not facts.explain:
            misses += not on_time and facts.as_of > last_ok
            continue
        late = [c for c in summaries if c.month == month and c.done_on > last_ok]
        ids.extend(f"check:{c.id}" for c in on_time + late)
        if on_time:
            lines.append(f"{month}月小结：{on_time[0].done_on:%m-%d} 报送，按时")
        elif facts.as_of <= last_ok:
            lines.append(f"{month}月小结：截止 {last_ok:%m-%d} 未到，暂不扣分")
        else:
            misses += 1
            when = f"{late[0].done_on:%m-%d} 才报送（逾期）" if late else "未报送"
            lines.append(f"{month}月小结：{when} → −{fmt(summary.per_miss)}")
    points = max(0.0, summary.points - summary.per_miss * misses)
    grades = [c for c in _checks(facts, unit_id, CheckKind.SATISFACTION) if c.grade]
    grade = max(grades, key=lambda c: (c.done_on, c.id)) if grades else None
    if grade is not None:
        satisfaction = rule.satisfaction.grades.get(grade.grade or "", rule.satisfaction.when_missing)
    else:
        satisfaction = rule.satisfaction.when_missing
    if facts.explain:
        lines.append(f"月度小结 {fmt(summary.points)} − {fmt(summary.per_miss)} × {misses} = {fmt(points)} 分")
        if grade is not None:
            ids.append(f"check:{grade.id}")
            lines.append(f"满意率评价：{grade.grade} → {fmt(satisfaction)} 分")
        else:
            lines.append(f"满意率评价：未录入 → {fmt(satisfaction)} 分")
    return points + satisfaction, lines, ids


Part = tuple[float, list[str], list[str], list[int]]  # points, lines, record ids, report ids


def _parts(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts) -> dict[str, Part]:
    """The six items of one quarter in column order; lines and evidence only when explaining."""
    return {
        "plan": (*_plan(rubric, unit_id, facts), []),
        "team": (*_team(rubric, unit_id, facts), []),
        "activity": (*_activity(rubric, unit_id, facts), facts.service_ids.get(unit_id, [])),
        "brand": (*_brand(rubric, unit_id, facts), []),
        "media": _media(rubric, unit_id, facts),
        "feedback": (*_feedback(rubric, unit_id, facts), []),
    }


def quarter_points(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts) -> dict[str, float]:
    """The six items' points of one quarter (a table row); kept, as the annual table reads each quarter twice."""
    found = facts._table_points.get(unit_id)
    if found is None:
        found = facts._table_points[unit_id] = {
            key: round(part[0], 2) for key, part in _parts(rubric, unit_id, facts).items()
        }
    return found


def quarter_items(rubric: XixiangRubric, unit_id: int, facts: QuarterFacts) -> list[LineItem]:
    """The six items of one quarter, each with its lines and evidence."""
    parts = _parts(rubric, unit_id, facts)
    items = []
    for column in COLUMNS:
        points, lines, ids, report_ids = parts[column.key]
        media = column.key == "media"
        items.append(
            LineItem(
                key=column.key,
                title=column.title,
                max_points=rubric.items.media.points if media else column.max_points,
                points=round(points, 2),
                lines=lines,
                report_ids=report_ids,
                record_ids=ids if media else sorted(set(ids), key=ids.index),
            )
        )
    return items


def adjustment_points(rubric: XixiangRubric, entry: Record) -> float:
    """Signed points of a bonus (from the rubric's table) or a deduction (as staff decided)."""
    kind = AdjustmentKind(entry.kind)
    if not kind.is_bonus:
        return -float(entry.points or 0)
    if kind is AdjustmentKind.HOSTED_EVENT:
        return rubric.bonus.hosted_event
    table = rubric.bonus.research_visit if kind is AdjustmentKind.RESEARCH_VISIT else rubric.bonus.leader_instruction
    return float(table.get(entry.level or "", 0.0))  # type: ignore[call-overload]


def _adjustment_sums(rubric: XixiangRubric, entries: list[Record]) -> tuple[float, float]:
    """(bonus points, deducted points) of a year's entries."""
    bonus = deduction = 0.0
    for entry in entries:
        points = adjustment_points(rubric, entry)
        if AdjustmentKind(entry.kind).is_bonus:
            bonus += points
        else:
            deduction -= points
    return bonus, deduction


def adjustment_totals(rubric: XixiangRubric, entries: list[Record]) -> dict[str, float]:
    """加分 and 扣分 as the two lines score them (a deduction line is negative)."""
    bonus, deduction = _adjustment_sums(rubric, entries)
    return {"bonus": round(bonus, 2), "deduction": round(-deduction, 2) if deduction else 0.0}


def adjustment_items(rubric: XixiangRubric, entries: list[Record]) -> list[LineItem]:
    """加分 and 扣分 as two explained lines."""
    bonus_lines, deduction_lines, bonus_ids, deduction_ids = [], [], [], []
    for entry in entries:
        points = adjustment_points(rubric, entry)
        kind = AdjustmentKind(entry.kind)
        level = f"（{OutletLevel(entry.level).zh}）" if entry.level else ""
        text = f"{entry.occurred_on:%Y-%m-%d} {kind.zh}{level}：{entry.reason}"
        if kind.is_bonus:
            bonus_ids.append(f"adjustment:{entry.id}")
            bonus_lines.append(f"{text} → +{fmt(points)}" + ("（不在加分表内）" if points == 0 else ""))
        else:
            deduction_ids.append(f"adjustment:{entry.id}")
            deduction_lines.append(f"{text} → −{fmt(-points)}")
    bonus, deduction = _adjustment_sums(rubric, entries)
    bonus_lines.append(f"加分合计 {fmt(bonus)} 分")
    deduction_lines.append(f"扣分合计 {fmt(deduction)} 分")
    totals = adjustment_totals(rubric, entries)
    return [
        LineItem(
            key="bonus",
            title="加分项目",
            max_points=None,
            points=totals["bonus"],
            lines=bonus_lines,
            record_ids=bonus_ids,
        ),
        LineItem(
            key="deduction",
            title="扣分项目",
            max_points=None,
            points=totals["deduction"],
            lines=deduction_lines,
            record_ids=deduction_ids,
        ),
    ]
