"""What the console shows from scoring: this month's ranking, the units at risk, a unit's explained score."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from scoring import service as scoring_service
from wenming.settings import Settings

CHART_ROWS = 15
AT_RISK_ROWS = 30


def dashboard(db: Session, settings: Settings, today: date) -> dict[str, Any]:
    """The month's top units by liveliness (as chart rows) and the units whose annual score is under the line."""
    rubric = scoring_service.load_rubric(settings.api_default_rubric)
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
    annual = scoring_service.annual_scores(db, settings, rubric, today.year)
    risky = sorted((a for a in annual if a.warning), key=lambda a: (a.score, a.unit_name))
    at_risk = [
        {
            "unit_id": a.unit_id,
            "name": a.unit_name,
            "level": a.honour_level,
            "score": f"{a.score:g}",
            "note": "连续两年低于预警线：列入限期整改" if a.rectification else "低于预警线",
        }
        for a in risky[:AT_RISK_ROWS]
    ]
    return {
        "rubric_title": rubric.title,
        "ranking": chart,
        "ranking_note": f"{today.month} 月还没有计入活跃度的报送。",
        "formula": ranking.formula,
        "at_risk": at_risk,
        "at_risk_total": len(risky),
        "at_risk_note": "暂无低于预警线的单位。",
    }


def explain(db: Session, settings: Settings, unit_id: int, year: int) -> dict[str, Any]:
    """A unit's annual score line by line, shaped for the unit page."""
    rubric = scoring_service.load_rubric(settings.api_default_rubric)
    result = scoring_service.explain_unit(db, settings, rubric, unit_id, year)
    return {
        "title": f"{year}年 · {rubric.title}",
        "total": f"{result.total:g}",
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
