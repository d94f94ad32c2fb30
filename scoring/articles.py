"""Media adoptions: one article counts once, at the highest level any source reports for it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from scoring.models import OutletLevel
from scoring.repository import AdoptionCandidate

LEVEL_RANK = {level.value: level.rank for level in OutletLevel}


@lru_cache(maxsize=65536)
def normalize_title(title: str) -> str:
    """Title key for deduplication: NFKC, lower case, without spaces, punctuation or 《》 quotes."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", title)).lower()


@dataclass
class Article:
    key: str
    title: str
    level: str
    points: float
    outlets: list[str] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)
    record_ids: list[int] = field(default_factory=list)

    @property
    def level_zh(self) -> str:
        return OutletLevel(self.level).zh


def _key(candidate: AdoptionCandidate, linked: Mapping[int, str]) -> str:
    if candidate.record_id is None and candidate.report_id in linked:
        return linked[candidate.report_id]
    return (candidate.title and normalize_title(candidate.title)) or f"report:{candidate.report_id}"


def dedupe(candidates: Iterable[AdoptionCandidate], per_level: Mapping[str, float]) -> list[Article]:
    """Merge staff records and classifier notices by title (or linked report); keep the highest level."""
    items = list(candidates)
    linked = {
        c.report_id: normalize_title(c.title) or f"report:{c.report_id}"
        for c in items
        if c.record_id is not None and c.report_id is not None and c.title
    }
    articles: dict[str, Article] = {}
    for c in sorted(items, key=lambda c: (c.day, c.record_id is None)):
        key = _key(c, linked)
        article = articles.get(key)
        if article is None:
            article = articles[key] = Article(key, c.title or f"报送 #{c.report_id}", c.level, 0.0)
        elif LEVEL_RANK.get(c.level, -1) > LEVEL_RANK.get(article.level, -1):
            article.level = c.level
        if c.outlet and c.outlet not in article.outlets:
            article.outlets.append(c.outlet)
        if c.record_id is not None:
            article.record_ids.append(c.record_id)
        elif c.report_id is not None:
            article.report_ids.append(c.report_id)
    for article in articles.values():
        article.points = float(per_level.get(article.level, 0.0))
    return sorted(articles.values(), key=lambda a: (-a.points, a.title))


def points_by_unit(candidates: Iterable[AdoptionCandidate], per_level: Mapping[str, float]) -> dict[int, float]:
    """Every unit's article points before any cap, in one pass: what ``dedupe`` sums, for a whole table.

    Same keys, same order (a stable sort by unit, then as ``dedupe`` sorts), same level rule (the first
    candidate's level, replaced only by a higher one), and the points summed highest first as the articles are.
    """
    items = sorted(candidates, key=lambda c: (c.unit_id, c.day, c.record_id is None))
    linked = {
        (c.unit_id, c.report_id): normalize_title(c.title) or f"report:{c.report_id}"
        for c in items
        if c.record_id is not None and c.report_id is not None and c.title
    }
    levels: dict[tuple[int, str], str] = {}
    for c in items:
        if c.record_id is None and (c.unit_id, c.report_id) in linked:
            key = linked[(c.unit_id, c.report_id)]
        else:
            key = (c.title and normalize_title(c.title)) or f"report:{c.report_id}"
        found = levels.get((c.unit_id, key))
        if found is None or LEVEL_RANK.get(c.level, -1) > LEVEL_RANK.get(found, -1):
            levels[(c.unit_id, key)] = c.level
    points: dict[int, list[float]] = {}
    for (unit_id, _key), level in levels.items():
        points.setdefault(unit_id, []).append(float(per_level.get(level, 0.0)))
    return {unit_id: sum(sorted(found, reverse=True)) for unit_id, found in points.items()}
