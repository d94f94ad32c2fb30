"""What the API and the console show from scoring: boards by rubric and period, the dashboard, explanations."""

from __future__ import annotations

import re
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.errors import ApiError, NotFound
from scoring import appeals, closing
from scoring import rubric as scoring_rubric
from scoring import schemas as ss
from scoring import service as scoring_service
from wenming.settings import Settings

CHART_ROWS = 15
AT_RISK_ROWS = 30
APPEAL_ROWS = 8


def dashboard(db: Session, settings: Settings, today: date) -> dict[str, Any]:
    """The month's top units by liveliness (as chart rows) and the units whose annual score is under the line."""
    rubric = _shipped_rubric(settings.api_default_rubric)
    ranking = scoring_service.monthly_ranking(db, settings, rubric, today.year, today.month)
    chart = [
        {
            "rank": r.rank,
            "unit_id": r.unit_id,
            "name": r.unit_name,
            "value": r.liveliness,
            "value_text": f"{r.liveliness:g}（{r.practice_count} 次）",
        }
        for r in ranking.rows[:CHART_ROWS]
        if r.liveliness > 0
    ]
    annual = scoring_service.annual_scores(db, settings, rubric, today.year, today)
    risky = sorted((a for a in annual if a.warning), key=lambda a: (a.score, a.unit_name))
    at_risk = [
        {
            "unit_id": a.unit_id,
            "name": a.unit_name,
            "level": a.honour_level,
            "score": f"{a.score:g}",
            "note": _risk_note(a),
        }
        for a in risky[:AT_RISK_ROWS]
    ]
    provisional = any(a.provisional for a in annual)
    open_appeals = appeals.list_appeals(db, status="open", limit=APPEAL_ROWS + 1)
    return {
        "rubric_title": rubric.title,
        "ranking": chart,
        "ranking_note": f"{today.month} 月还没有计入活跃度的报送。",
        "formula": ranking.formula,
        "at_risk": at_risk,
        "at_risk_total": len(risky),
        "at_risk_note": "暂无低于预警线的单位。",
        "at_risk_caveat": _risk_caveat(annual, today) if provisional else None,
        "appeals": open_appeals[:APPEAL_ROWS],
        "appeals_more": len(open_appeals) > APPEAL_ROWS,
    }


def _risk_note(score: ss.AnnualScore) -> str:
    if score.provisional:
        return "预计：按已计入月份推算" + ("，连续两年低于预警线" if score.rectification else "，低于预警线")
    return "连续两年低于预警线：列入限期整改" if score.rectification else "低于预警线"


def _risk_caveat(annual: list[ss.AnnualScore], today: date) -> str:
    """Why the list is a projection: the year is not closed, and which months it covers."""
    through = annual[0].through if annual else f"{today.year}年{today.month}月"
    coverage = sorted({a.coverage for a in annual if a.coverage})
    return (
        f"{today.year}年度尚未关账：以下为截至 {through} 的全年预计（计分范围：{'、'.join(coverage)}），"
        "不是年终结论，不在群内发布。"
    )


def explain(db: Session, settings: Settings, unit_id: int, year: int, rubric_name: str | None = None) -> dict[str, Any]:
    """A unit's annual score line by line, shaped for the unit page (any shipped rubric, any year)."""
    rubric = get_rubric(settings, rubric_name)
    result = scoring_service.explain_unit(db, settings, rubric, unit_id, year)
    return {
        "title": f"{year}年 · {rubric.title}" + ("（未关账，预计）" if result.provisional else ""),
        "total": "无数据" if result.total is None else f"{result.total:g}",
        "notes": result.notes,
        "rows": [
            {
                "name": item.title,
                "score": f"{item.points:g}",
                "max": f"{item.max_points:g}" if item.max_points is not None else None,
                "lines": item.lines,
                "report_ids": item.report_ids,
            }
            for item in result.items
        ],
    }


# --- boards shared by the API and the console -------------------------------------------------------

MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
QUARTER_RE = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")


_loaded: dict[str, tuple[int, scoring_service.Rubric]] = {}  # name → (file mtime_ns, parsed rubric)
_loading = threading.Lock()


def _shipped_rubric(name: str) -> scoring_service.Rubric:
    """A shipped rubric parsed once and again only when its file changes (listing and parsing YAML on every
    request was a quarter of a leaderboard request's time)."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else scoring_rubric.RUBRIC_DIR / f"{name}.yaml"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = -1
    cached = _loaded.get(name)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _loading:
        rubric = scoring_service.load_rubric(name)
        _loaded[name] = (stamp, rubric)
    return rubric


def get_rubric(settings: Settings, name: str | None) -> scoring_service.Rubric:
    """A shipped rubric by name; unknown names are a 404 that lists the choices."""
    name = name or settings.api_default_rubric
    known = scoring_service.list_rubrics()
    if name not in known:
        raise NotFound(f"没有名为 {name} 的考核细则（可选：{'、'.join(known)}）")
    return _shipped_rubric(name)


def local_today(settings: Settings) -> date:
    return datetime.now(settings.tz).date()


def parse_month(value: str | None, settings: Settings) -> tuple[int, int]:
    if not value:
        t = local_today(settings)
        return t.year, t.month
    match = MONTH_RE.match(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise ApiError(422, f"月份格式应为 YYYY-MM（如 2026-10），收到 {value!r}")
    return int(match.group(1)), int(match.group(2))


def parse_quarter(value: str | None, settings: Settings) -> tuple[int, int]:
    if not value:
        t = local_today(settings)
        return t.year, (t.month - 1) // 3 + 1
    match = QUARTER_RE.match(value.strip())
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ApiError(422, f"季度格式应为 YYYYQn（如 2026Q3），收到 {value!r}")
    return int(match.group(1)), int(match.group(2))


class RubricOut(BaseModel):
    name: str
    title: str


def rubrics() -> list[RubricOut]:
    return [RubricOut(name=n, title=_shipped_rubric(n).title) for n in scoring_service.list_rubrics()]


class AnnualBoard(BaseModel):
    rubric: str
    year: int
    rows: list[ss.AnnualScore]
    provisional: bool = False  # the year is not closed: scores are projections, flags are 预计
    no_data: list[str] = []  # units whose counting starts after the year


def monthly(db: Session, settings: Settings, rubric: str | None, month: str | None) -> ss.MonthlyRanking:
    year, m = parse_month(month, settings)
    return scoring_service.monthly_ranking(db, settings, get_rubric(settings, rubric), year, m)


def quarterly(
    db: Session, settings: Settings, rubric: str | None, quarter: str | None, as_of: date | None = None
) -> ss.QuarterTable:
    year, q = parse_quarter(quarter, settings)
    return scoring_service.quarter_table(db, settings, get_rubric(settings, rubric), year, q, as_of)


def annual(
    db: Session, settings: Settings, rubric: str | None, year: int | None, as_of: date | None = None
) -> AnnualBoard:
    r = get_rubric(settings, rubric)
    y = year or local_today(settings).year
    rows = scoring_service.annual_scores(db, settings, r, y, as_of)
    return AnnualBoard(
        rubric=r.name,
        year=y,
        rows=rows,
        provisional=any(row.provisional for row in rows),
        no_data=scoring_service.uncovered_units(db, settings, y),
    )


def published(db: Session, settings: Settings, rubric: str | None, period: str) -> Any:
    """The published board of a period (MonthlyRanking, QuarterTable or list of AnnualScore), or None."""
    found = closing.published_board(db, get_rubric(settings, rubric).name, period)
    return found[0] if found else None
