"""长兴 2020 line items: pure arithmetic over SQL aggregates, each item explaining itself in Chinese."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from sqlalchemy.orm import Session

from ingest.models import HonourLevel
from scoring import articles, repository
from scoring.periods import month_bounds, month_start, quarter_of, started
from scoring.repository import Record
from scoring.rubric import AdoptionItem, ChangxingRubric, CooperationItem, MonthlyCountItem, PairingItem
from scoring.schemas import LineItem, TableColumn, VolunteerCompliance

COLUMNS = [
    TableColumn(key="practice", title="常态化开展文明实践活动", max_points=30),
    TableColumn(key="pairing", title="开展结对共建活动", max_points=20),
    TableColumn(key="information", title="信息材料报送", max_points=30),
    TableColumn(key="cooperation", title="重点工作配合", max_points=20),
]


def fmt(value: float) -> str:
    """Points as staff write them: 25, 12.5, 8.33."""
    return f"{round(value, 2):g}"


@dataclass
class Period:
    """A run of whole months of one year; ``counted`` are the month indexes that are scored."""

    year: int
    first_month: int
    months: int
    counted: list[int]
    until: date | None = None  # exclusive end of the data read (the day after as-of), when inside the period
    month_divisor: int | None = None  # running totals: divide by every covered month, not only started ones
    quarter_divisor: int | None = None

    @property
    def start(self) -> date:
        return month_start(self.year, self.first_month)

    @property
    def data_bounds(self) -> list[date]:
        """Month ends clipped to as-of: nothing dated after the as-of day is read."""
        return [min(b, self.until) for b in self.bounds] if self.until else self.bounds

    @property
    def data_end(self) -> date:
        return self.data_bounds[-1]

    @property
    def divisor(self) -> int:
        return self.month_divisor or len(self.counted)

    @property
    def bounds(self) -> list[date]:
        return month_bounds(self.year, self.first_month, self.months)

    @property
    def end(self) -> date:
        return self.bounds[-1]

    def month(self, index: int) -> int:
        return self.first_month + index

    @cached_property
    def quarters(self) -> list[int]:
        return sorted({quarter_of(self.month(i)) for i in self.counted})

    @cached_property
    def quarter_indexes(self) -> dict[int, list[int]]:
        """Month indexes of the period per quarter (all months, started or not: pairing reports of the quarter)."""
        found: dict[int, list[int]] = defaultdict(list)
        for i in range(self.months):
            found[quarter_of(self.month(i))].append(i)
        return found

    @classmethod
    def of(cls, year: int, first_month: int, months: int, as_of: date, mode: str) -> Period:
        starts = [month_start(year, first_month + i) for i in range(months)]
        until = as_of + timedelta(days=1)
        return cls(year, first_month, months, started(starts, as_of, mode), until if until > starts[0] else None)


def covered(period: Period, start: date | None) -> Period | None:
    """The period restricted to the months from ``start`` (coverage); None when no counted month is covered."""
    if start is None:
        return period
    counted = [i for i in period.counted if month_start(period.year, period.month(i)) >= start]
    return Period(period.year, period.first_month, period.months, counted, period.until) if counted else None


def running(period: Period, start: date | None) -> Period:
    """The same counted months, divided by every covered month of the period: points earned so far."""
    months = [i for i in range(period.months) if start is None or month_start(period.year, period.month(i)) >= start]
    quarters = {quarter_of(period.month(i)) for i in months}
    return Period(
        period.year, period.first_month, period.months, period.counted, period.until, len(months), len(quarters)
    )


@dataclass
class Facts:
    """Everything the items need for all units of a period, fetched with a handful of grouped queries."""

    counts: dict[tuple[int, int], dict[str, int]]
    sheets: dict[int, list[Record]]
    adoptions: dict[int, list[repository.AdoptionCandidate]]
    criticisms: dict[int, list[Record]]
    # group → month index → report ids (explanations only)
    evidence: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    _article_points: dict[int, float] | None = None

    def article_points(self, per_article: dict[str, float]) -> dict[int, float]:
        """Every unit's adoption points before the cap, deduplicated once for the whole table."""
        if self._article_points is None:
            every = [c for found in self.adoptions.values() for c in found]
            self._article_points = articles.points_by_unit(every, per_article)
        return self._article_points


def _groups(rubric: ChangxingRubric) -> dict[str, Sequence[str]]:
    items = rubric.items
    return {"practice": items.practice.labels, "news": items.news.labels, "pairing": ["pairing"]}


def gather(
    session: Session,
    rubric: ChangxingRubric,
    period: Period,
    unit_id: repository.Units = None,
) -> Facts:
    """Run the grouped queries for one period (all units, some, or one for an explanation)."""
    c = rubric.counting
    counts = repository.bucket_counts(session, c, period.start, period.data_bounds, _groups(rubric), unit_id)
    sheets: dict[int, list[Record]] = defaultdict(list)
    for sheet in repository.pairing_sheets(session, period.year, unit_id, period.quarters):
        sheets[sheet.unit_id].append(sheet)
    adoptions: dict[int, list[repository.AdoptionCandidate]] = defaultdict(list)
    found = repository.report_adoptions(session, c, period.start, period.data_end, unit_id)
    for candidate in found + repository.record_adoptions(session, period.start, period.data_end, unit_id):
        adoptions[candidate.unit_id].append(candidate)
    criticisms: dict[int, list[Record]] = defaultdict(list)
    for criticism in repository.criticisms(session, period.start, period.data_end, unit_id):
        criticisms[criticism.unit_id].append(criticism)
    return Facts(counts, sheets, adoptions, criticisms)


def gather_evidence(session: Session, rubric: ChangxingRubric, period: Period, unit_id: int, facts: Facts) -> None:
    """Attach the contributing report ids per item group and month (one unit only)."""
    groups = _groups(rubric)
    evidence: dict[str, dict[int, list[int]]] = {name: defaultdict(list) for name in groups}
    listing = repository.report_listing(session, rubric.counting, period.start, period.data_end, unit_id)
    for report_id, day, label in listing:
        index = (day.year - period.year) * 12 + day.month - period.first_month
        for name, labels in groups.items():
            if label in labels and report_id not in evidence[name][index]:
                evidence[name][index].append(report_id)
    facts.evidence = evidence


def _ids(ids: Sequence[int]) -> str:
    return "（报送 " + "、".join(f"#{i}" for i in ids) + "）" if ids else ""


def _month_fraction(rule: MonthlyCountItem, count: int) -> float:
    """Share of a month's points: full from ``min_per_month``, else the rubric's partial credit (or nothing)."""
    return 1.0 if count >= rule.min_per_month else rule.partial.get(count, 0.0)


_NONE: dict[str, int] = {}


def _monthly_points(key: str, rule: MonthlyCountItem, unit_id: int, period: Period, facts: Facts) -> float:
    counts, full, partial = facts.counts, rule.min_per_month, rule.partial
    total = 0  # what sum() of the months' fractions gives, added in the same order, without a call per month
    for i in period.counted:
        count = counts.get((unit_id, i), _NONE).get(key, 0)
        total += 1.0 if count >= full else partial.get(count, 0.0)
    return rule.points * total / period.divisor


def _monthly_item(
    key: str, title: str, noun: str, rule: MonthlyCountItem, unit_id: int, period: Period, facts: Facts
) -> LineItem:
    lines, total, report_ids = [], 0.0, []
    for index in period.counted:
        count = facts.counts.get((unit_id, index), {}).get(key, 0)
        ids = facts.evidence.get(key, {}).get(index, [])
        report_ids.extend(ids)
        fraction = _month_fraction(rule, count)
        total += fraction
        if count >= rule.min_per_month:
            verdict = "满分"
        elif count in rule.partial:
            verdict = f"未达 {rule.min_per_month} 次，按 {fmt(fraction * 100)}% 计"
        else:
            verdict = f"未达 {rule.min_per_month} 次，不得分"
        lines.append(f"{period.month(index)}月：{count} {noun} → {verdict}{_ids(ids)}")
    points = _monthly_points(key, rule, unit_id, period, facts)
    lines.append(f"{fmt(rule.points)} × {fmt(total)} / {period.divisor} 个月 = {fmt(points)} 分")
    return LineItem(
        key=key,
        title=title,
        max_points=rule.points,
        points=round(points, 2),
        lines=lines,
        report_ids=report_ids,
    )


def _pairing_quarters(
    rule: PairingItem, unit_id: int, period: Period, facts: Facts
) -> list[tuple[int, list[Record], int, bool]]:
    """Per counted quarter: its sheets, its pairing reports, and whether the quarter is met."""
    found = []
    own_sheets = facts.sheets.get(unit_id, [])
    counts = facts.counts
    for quarter in period.quarters:
        sheets = [s for s in own_sheets if s.quarter == quarter]
        reports = sum(counts.get((unit_id, i), _NONE).get("pairing", 0) for i in period.quarter_indexes[quarter])
        counted = sum(s.activity_count for s in sheets) + (reports if rule.evidence == "sheet_or_report" else 0)
        found.append((quarter, sheets, reports, counted >= rule.min_per_quarter))
    return found


def _pairing_points(
    rule: PairingItem, quarters: list[tuple[int, list[Record], int, bool]], divisor: int | None = None
) -> float:
    return rule.points * sum(ok for *_, ok in quarters) / (divisor or len(quarters))


def _pairing_item(rubric: ChangxingRubric, unit_id: int, period: Period, facts: Facts) -> LineItem:
    rule = rubric.items.pairing
    lines, report_ids, record_ids = [], [], []
    quarters = _pairing_quarters(rule, unit_id, period, facts)
    for quarter, sheets, reports, ok in quarters:
        indexes = [i for i in range(period.months) if quarter_of(period.month(i)) == quarter]
        ids = [r for i in indexes for r in facts.evidence.get("pairing", {}).get(i, [])]
        record_ids.extend(f"pairing_sheet:{s.id}" for s in sheets)
        report_ids.extend(ids if rule.evidence == "sheet_or_report" else [])
        partners = "、".join(s.partner for s in sheets)
        sheet_text = f"情况表 {len(sheets)} 份（{partners}）" if sheets else "未报送情况表"
        report_text = f"，群内结对共建报送 {reports} 条{_ids(ids)}" if rule.evidence == "sheet_or_report" else ""
        lines.append(f"第{quarter}季度：{sheet_text}{report_text} → {'达标' if ok else '未达标'}")
    points = _pairing_points(rule, quarters, period.quarter_divisor)
    met = sum(ok for *_, ok in quarters)
    lines.append(f"{fmt(rule.points)} × {met} / {period.quarter_divisor or len(quarters)} 个季度 = {fmt(points)} 分")
    return LineItem(
        key="pairing",
        title="开展结对共建活动",
        max_points=rule.points,
        points=round(points, 2),
        lines=lines,
        report_ids=report_ids,
        record_ids=record_ids,
    )


def _adoption_points(rule: AdoptionItem, found: list[articles.Article]) -> tuple[float, float]:
    """(sum of the articles' points, the points after the cap)."""
    raw = sum(a.points for a in found)
    return raw, min(raw, rule.cap) if rule.cap is not None else raw


def _adoption_item(rubric: ChangxingRubric, unit_id: int, facts: Facts) -> LineItem:
    rule = rubric.items.adoption
    found = articles.dedupe(facts.adoptions.get(unit_id, []), rule.per_article)
    raw, points = _adoption_points(rule, found)
    lines = [
        f"《{a.title}》 {a.level_zh}（{'、'.join(a.outlets) or '未注明媒体'}）→ {fmt(a.points)} 分"
        + ("（多级录用，取最高级别）" if len(a.report_ids) + len(a.record_ids) > 1 else "")
        for a in found
    ]
    capped = f"，加满 {fmt(rule.cap)} 分为止" if rule.cap is not None and raw > rule.cap else ""
    lines.append(f"{len(found)} 篇合计 {fmt(raw)} 分{capped} → {fmt(points)} 分")
    return LineItem(
        key="adoption",
        title="信息材料报送·录用情况",
        max_points=rule.cap,
        points=round(points, 2),
        lines=lines,
        report_ids=[r for a in found for r in a.report_ids],
        record_ids=[f"media_adoption:{r}" for a in found for r in a.record_ids],
    )


def _cooperation_points(rule: CooperationItem, criticisms: int) -> float:
    return max(0.0, rule.points - rule.per_criticism * criticisms)


def _cooperation_item(rubric: ChangxingRubric, unit_id: int, facts: Facts) -> LineItem:
    rule = rubric.items.cooperation
    found = facts.criticisms.get(unit_id, [])
    points = _cooperation_points(rule, len(found))
    lines = [f"{c.occurred_on:%Y-%m-%d} 通报批评：{c.reason} → −{fmt(rule.per_criticism)}" for c in found]
    floor = "，扣完为止" if rule.per_criticism * len(found) > rule.points else ""
    deducted = f"{fmt(rule.per_criticism)} × {len(found)} 次通报批评{floor}"
    lines.append(f"{fmt(rule.points)} − {deducted} = {fmt(points)} 分")
    return LineItem(
        key="cooperation",
        title="重点工作配合",
        max_points=rule.points,
        points=round(points, 2),
        lines=lines,
        record_ids=[f"criticism:{c.id}" for c in found],
    )


def line_items(rubric: ChangxingRubric, unit_id: int, period: Period, facts: Facts) -> list[LineItem]:
    """The five scored lines (信息材料报送 split into 通讯稿 and 录用), explained."""
    items = rubric.items
    return [
        _monthly_item("practice", "常态化开展文明实践活动", "次实践活动", items.practice, unit_id, period, facts),
        _pairing_item(rubric, unit_id, period, facts),
        _monthly_item("news", "信息材料报送·通讯稿", "篇通讯稿", items.news, unit_id, period, facts),
        _adoption_item(rubric, unit_id, facts),
        _cooperation_item(rubric, unit_id, facts),
    ]


def _fold(practice: float, pairing: float, news: float, adoption: float, cooperation: float) -> dict[str, float]:
    """The five lines as the 附件3 columns (信息材料报送 = 通讯稿 + 录用)."""
    return {
        "practice": practice,
        "pairing": pairing,
        "information": round(news + adoption, 2),
        "cooperation": cooperation,
    }


def table_columns(rubric: ChangxingRubric, unit_id: int, period: Period, facts: Facts) -> dict[str, float]:
    """The 附件3 columns of one unit: the line items' arithmetic without writing their explanations."""
    items = rubric.items
    rule = items.adoption
    raw = facts.article_points(rule.per_article).get(unit_id, 0)
    return _fold(
        round(_monthly_points("practice", items.practice, unit_id, period, facts), 2),
        round(
            _pairing_points(
                items.pairing, _pairing_quarters(items.pairing, unit_id, period, facts), period.quarter_divisor
            ),
            2,
        ),
        round(_monthly_points("news", items.news, unit_id, period, facts), 2),
        round(min(raw, rule.cap) if rule.cap is not None else raw, 2),
        round(_cooperation_points(items.cooperation, len(facts.criticisms.get(unit_id, []))), 2),
    )


def volunteer_compliance(rubric: ChangxingRubric, unit: repository.AnyUnit, stats: list[Record]) -> VolunteerCompliance:
    """§四.2 flags from the newest statistics of the year; missing figures give ``None`` flags."""
    rule = rubric.volunteer
    high = unit.honour_level in rule.high_levels
    required = rule.min_registered_ratio_high if high else rule.min_registered_ratio
    latest = max(stats, key=lambda s: (s.quarter, s.id)) if stats else None
    if latest is None:
        return VolunteerCompliance(
            stats_record_id=None,
            headcount=unit.headcount,
            registered=None,
            active=None,
            registered_ratio=None,
            required_registered_ratio=required,
            registered_ok=None,
            active_ratio=None,
            required_active_ratio=rule.min_active_ratio,
            active_ok=None,
        )
    reg_ratio = latest.registered / latest.headcount if latest.headcount else 0.0
    act_ratio = latest.active / latest.registered if latest.registered else 0.0
    return VolunteerCompliance(
        stats_record_id=latest.id,
        headcount=latest.headcount,
        registered=latest.registered,
        active=latest.active,
        registered_ratio=round(reg_ratio, 4),
        required_registered_ratio=required,
        registered_ok=round(reg_ratio, 6) >= required,
        active_ratio=round(act_ratio, 4),
        required_active_ratio=rule.min_active_ratio,
        active_ok=round(act_ratio, 6) >= rule.min_active_ratio,
    )


def _ok(flag: bool | None) -> str:
    return "达标" if flag else "未达标"


def volunteer_lines(unit: repository.AnyUnit, compliance: VolunteerCompliance) -> list[str]:
    """The §四.2 flags as sentences for the explanation."""
    if compliance.stats_record_id is None:
        return ["志愿者比例：未录入注册志愿者统计，无法判断"]
    level = HonourLevel(unit.honour_level).zh
    lines = [
        f"注册志愿者 {compliance.registered} / 员工 {compliance.headcount} = "
        f"{fmt((compliance.registered_ratio or 0) * 100)}%（{level}级文明单位要求 ≥ "
        f"{fmt(compliance.required_registered_ratio * 100)}%）→ {_ok(compliance.registered_ok)}",
        f"参加服务 {compliance.active} / 注册 {compliance.registered} = "
        f"{fmt((compliance.active_ratio or 0) * 100)}%"
        f"（要求 ≥ {fmt(compliance.required_active_ratio * 100)}%）→ {_ok(compliance.active_ok)}",
    ]
    return [f"志愿者比例（记录 volunteer_stats:{compliance.stats_record_id}）：{line}" for line in lines]
