"""The registry of staff-entered record kinds: table, input, date, Chinese name and the one line describing one.

The API, the console and ``wenming score`` read it, so a kind is added here once and every door knows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel

from classifier.models import OutletLevel
from scoring import models as m
from scoring import schemas as s
from scoring.errors import ScoringError
from scoring.models import AdjustmentKind, CheckKind, RecordKind


@dataclass(frozen=True)
class RecordType:
    """One kind of staff record."""

    kind: RecordKind
    model: type[Any]  # the table
    schema: type[BaseModel]  # what staff enter
    date_field: str | None  # the day the record is about (None: it is about a quarter)
    year_field: str | None  # set when the record belongs to a year rather than to its date
    describe: Callable[[Any], str]  # the one Chinese line for receipts, listings and the audit view

    @property
    def zh(self) -> str:
        return self.kind.zh

    def on(self, record: Any) -> date | None:
        return getattr(record, self.date_field) if self.date_field else None


def _criticism(r: Any) -> str:
    return f"{r.occurred_on} 通报批评：{r.reason}"


def _media_adoption(r: Any) -> str:
    return f"《{r.title}》 {r.outlet}（{OutletLevel.zh_of(r.level)}）{r.published_on}"


def _pairing_sheet(r: Any) -> str:
    return f"{r.year}年第{r.quarter}季度 结对 {r.partner}（{r.activity_count} 次）"


def _volunteer_stats(r: Any) -> str:
    return f"{r.year}年第{r.quarter}季度 员工 {r.headcount}、注册 {r.registered}、参加 {r.active}"


def _check(r: Any) -> str:
    detail = f" {r.value:g}%" if r.value is not None else (f" {r.grade}" if r.grade else "")
    when = f"{r.month}月" if r.month else (f"第{r.quarter}季度" if r.quarter else "")
    return f"{r.year}年{when} {CheckKind.zh_of(r.kind)}{detail}（{r.done_on}）"


def _adjustment(r: Any) -> str:
    name = AdjustmentKind.zh_of(r.kind)
    if r.kind in AdjustmentKind.names() and AdjustmentKind(r.kind).is_bonus:
        level = f"（{OutletLevel.zh_of(r.level)}）" if r.level else ""
        return f"加分：{name}{level}（{r.occurred_on}）{r.reason}"
    return f"扣分 {r.points or 0:g}：{name}（{r.occurred_on}）{r.reason}"


def _annual_score(r: Any) -> str:
    source = f"（{r.document}）" if r.document else ""
    return f"{r.year}年度得分 {r.score:g} 分{source}"


TYPES: dict[RecordKind, RecordType] = {
    t.kind: t
    for t in (
        RecordType(RecordKind.CRITICISM, m.Criticism, s.CriticismIn, "occurred_on", None, _criticism),
        RecordType(
            RecordKind.MEDIA_ADOPTION, m.MediaAdoption, s.MediaAdoptionIn, "published_on", None, _media_adoption
        ),
        RecordType(RecordKind.PAIRING_SHEET, m.PairingSheet, s.PairingSheetIn, "activity_date", "year", _pairing_sheet),
        RecordType(RecordKind.VOLUNTEER_STATS, m.VolunteerStats, s.VolunteerStatsIn, None, "year", _volunteer_stats),
        RecordType(RecordKind.CHECK, m.XixiangCheck, s.XixiangCheckIn, "done_on", "year", _check),
        RecordType(RecordKind.ADJUSTMENT, m.Adjustment, s.AdjustmentIn, "occurred_on", None, _adjustment),
        RecordType(RecordKind.ANNUAL_SCORE, m.AnnualScoreRecord, s.AnnualScoreIn, None, "year", _annual_score),
    )
}


def record_type(kind: str) -> RecordType:
    """The registry entry of a kind code; unknown codes are a Chinese error listing the choices."""
    try:
        return TYPES[RecordKind(kind)]
    except ValueError:
        choices = "、".join(f"{k.value}（{k.zh}）" for k in RecordKind)
        raise ScoringError(f"未知的记录类型 {kind!r}（可选：{choices}）") from None
