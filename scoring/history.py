"""What earlier years count for: published year snapshots and staff-entered historic annual scores, nothing else.

A year the system barely saw (one stray report) is never scored into the two-year rule: only a year that staff
closed and published, or an official annual score staff entered for a year before the system, is history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.models import AnnualScoreRecord, PeriodKind, PeriodSnapshot, PeriodState, ScoringPeriod
from scoring.schemas import AnnualScore, MonthlyRanking, QuarterTable


@dataclass(frozen=True)
class PastScore:
    """One unit's score for an earlier year and where it comes from (shown beside it)."""

    score: float
    source: str  # "published" (the year's published snapshot) | "entered" (annual_score record)

    @property
    def source_zh(self) -> str:
        return "已公布" if self.source == "published" else "工作人员录入"


def period_row(session: Session, rubric: str, kind: PeriodKind, year: int, number: int) -> ScoringPeriod | None:
    query = select(ScoringPeriod).where(
        ScoringPeriod.rubric == rubric,
        ScoringPeriod.kind == kind.value,
        ScoringPeriod.year == year,
        ScoringPeriod.number == number,
    )
    return session.scalars(query).first()


def year_closed(session: Session, rubric: str, year: int) -> bool:
    """Whether staff closed (or published) the year: only then are warnings and 限期整改 final."""
    row = period_row(session, rubric, PeriodKind.YEAR, year, 0)
    return row is not None and row.state != PeriodState.OPEN.value


def year_scores(session: Session, rubric: str, year: int) -> dict[int, PastScore]:
    """Per unit: the entered historic score, else the score in the year's published snapshot."""
    found: dict[int, PastScore] = {}
    row = period_row(session, rubric, PeriodKind.YEAR, year, 0)
    if row is not None and row.published_snapshot_id is not None:
        snapshot = session.get(PeriodSnapshot, row.published_snapshot_id)
        for unit in (snapshot.data if snapshot else {}).get("rows", []):
            if unit.get("score") is not None:
                found[int(unit["unit_id"])] = PastScore(float(unit["score"]), "published")
    entered = select(AnnualScoreRecord).where(AnnualScoreRecord.year == year, AnnualScoreRecord.voided_at.is_(None))
    for record in session.scalars(entered.order_by(AnnualScoreRecord.id)):  # the newest entry wins
        found[record.unit_id] = PastScore(record.score, "entered")
    return found


def published_snapshot(session: Session, rubric: str, key: tuple[PeriodKind, int, int]) -> PeriodSnapshot | None:
    row = period_row(session, rubric, *key)
    if row is None or row.published_snapshot_id is None:
        return None
    return session.get(PeriodSnapshot, row.published_snapshot_id)


def board_of(kind: PeriodKind, snapshot: PeriodSnapshot) -> Any:
    """The published board as the live functions return it: MonthlyRanking, QuarterTable or list of AnnualScore."""
    board = snapshot.data["board"]
    if kind is PeriodKind.MONTH:
        return MonthlyRanking.model_validate(board)
    if kind is PeriodKind.QUARTER:
        return QuarterTable.model_validate(board)
    return [AnnualScore.model_validate(r) for r in board]


def published_board(session: Session, rubric: str, kind: str, year: int, number: int) -> Any:
    """What was published for a period (posts and exports show it), or None when nothing was."""
    period_kind = PeriodKind(kind)
    snapshot = published_snapshot(session, rubric, (period_kind, year, number))
    return board_of(period_kind, snapshot) if snapshot else None
