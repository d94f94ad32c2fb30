"""Fact extraction: outlet and level, article title, pairing partner, participants, hours, activity date."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from classifier.models import OutletLevel
from classifier.places import PAIRING_CUES, find_partner
from classifier.text import DATA_DIR

SHIPPED_OUTLETS = DATA_DIR / "outlets.yaml"
LEVELS = ("county", "city", "province", "central")
LEVEL_ZH = OutletLevel.names()

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUM = r"(\d+(?:\.\d+)?|[零一二两三四五六七八九十百]+|半)"

_ADOPTION = re.compile(
    r"(?:被|获|在|经|于|登上|上了)([^,，。!！?？;；\s《》“”\"]{2,16}?)"
    r"(?:网站|平台|客户端|公众号|头版|版面)?(?:录用|刊发|刊登|采用|转载|登载|报道|播出|刊载|转发|发布|推送)"
)
_TITLE = re.compile(r"《([^》]{4,60})》")
_PEOPLE = re.compile(
    r"(?:志愿者|党员|干部|职工|员工|青年|队员|医护人员|教师|同志|参与人数|参加人数|人数)[^,，。;；\d一二两三四五六七八九十]{0,4}"
    + _NUM
    + r"\s*(?:余|多)?\s*(?:名|人|位)?"
    + r"|"
    + _NUM
    + r"\s*(?:余|多)?\s*(?:名|位|个)\s*(?:志愿者|党员|干部|职工|员工|青年|队员|医护|教师|同志)"
    + r"|(?:组织|共有|共计|共|近|约)\s*"
    + _NUM
    + r"\s*(?:余|多)?\s*(?:名|人)(?:参加|参与|参与其中)?"
    + r"|"
    + _NUM
    + r"\s*(?:余|多)?\s*(?:名|人)(?:参加|参与)"
)
_HOURS = re.compile(
    r"(?:时长|历时|用时|服务了?|共计|累计|持续)[^,，。;；\d一二两三四五六七八九十半]{0,6}?"
    + _NUM
    + r"\s*(?:个)?\s*(?:半)?\s*(?:小时|h\b|钟头)"
)
_DATE = re.compile(
    r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"
    r"|(?<![\d.])(\d{1,2})[./](\d{1,2})(?=\s*(?:上午|下午|晚上|早上|中午|,|，|日|号|\s))"
)
_RELATIVE = {"前天": -2, "昨天": -1, "昨日": -1}
# Cheap pre-checks so that texts without numbers or dates skip the heavier patterns.
_HAS_NUMBER = re.compile(r"[\d零一二两三四五六七八九十百半]")
_HAS_DATE = re.compile(r"月|\d[./]\d|前天|昨天|昨日")


class OutletTable:
    """Media outlets and their level, plus name hints for outlets the table does not list."""

    def __init__(self, names: dict[str, str], hints: list[tuple[str, str]]) -> None:
        self.names = names
        self.hints = hints
        alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        self._pattern = re.compile(alternation) if alternation else None

    @classmethod
    def load(cls, path: Path = SHIPPED_OUTLETS) -> OutletTable:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names: dict[str, str] = {}
        for level, outlets in (data.get("outlets") or {}).items():
            if level not in LEVELS:
                raise ValueError(f"媒体表中的级别 {level!r} 未知（应为 {'/'.join(LEVELS)}）")
            for name in outlets or ():
                names[str(name).lower()] = level
        hints = [(str(h["contains"]).lower(), str(h["level"])) for h in data.get("hints") or ()]
        return cls(dict(sorted(names.items(), key=lambda kv: -len(kv[0]))), hints)

    def find(self, text: str) -> list[tuple[str, str]]:
        """Known outlets named in the text (longest match wins at each place), with their levels, in order."""
        if self._pattern is None:
            return []
        found: dict[str, str] = {}
        for match in self._pattern.finditer(text):
            found.setdefault(match.group(0), self.names[match.group(0)])
        return list(found.items())

    def mentioned(self, text: str) -> list[tuple[str, str]]:
        """Outlets in the table, or else one guessed from an adoption phrase ("被XX日报刊发")."""
        found = self.find(text)
        if found:
            return found
        adopted = _ADOPTION.search(text)
        if adopted:
            name = adopted.group(1).strip()
            level = self.guess_level(name)
            if level:
                return [(name, level)]
        return []

    def guess_level(self, name: str) -> str | None:
        for needle, level in self.hints:
            if needle in name:
                return level
        return None


def extract(
    text: str,
    outlets: OutletTable,
    post_date: date | None,
    news_like: bool,
    found_outlets: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """All facts stated in a normalised text; keys as documented in docs/ARCHITECTURE.md."""
    facts: dict[str, Any] = {}
    if news_like or "录用" in text or "刊" in text:
        found = outlets.mentioned(text) if found_outlets is None else found_outlets
        facts.update(_outlet_facts(found, text))
    if any(cue in text for cue in PAIRING_CUES):
        partner = find_partner(text)
        if partner:
            facts["partner"] = partner
    if _HAS_NUMBER.search(text):
        _numeric_facts(text, facts)
    when = find_activity_date(text, post_date) if _HAS_DATE.search(text) else None
    if when is not None and when != post_date:
        facts["activity_date"] = when.isoformat()
    return facts


def _numeric_facts(text: str, facts: dict[str, Any]) -> None:
    people = find_participants(text)
    if people is not None:
        facts["participants"] = people
    if "时" in text or "钟头" in text or "h" in text:
        hours = find_hours(text)
        if hours is not None:
            facts["volunteer_hours"] = hours


def _outlet_facts(candidates: list[tuple[str, str]], text: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if candidates:
        name, level = max(candidates, key=lambda c: LEVELS.index(c[1]))
        facts["outlet"] = name
        facts["outlet_level"] = level
    title = _TITLE.search(text)
    if title and (candidates or "稿" in text):
        facts["article_title"] = title.group(1).strip()
    return facts


def _number(token: str) -> float | None:
    """Arabic or Chinese numerals up to the hundreds (``二十余`` → 20, ``半`` → 0.5)."""
    if token == "半":
        return 0.5
    try:
        return float(token)
    except ValueError:
        pass
    total, current = 0, 0
    for char in token:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return float(total + current) or None


def find_participants(text: str) -> int | None:
    for match in _PEOPLE.finditer(text):
        token = next(g for g in match.groups() if g)
        value = _number(token)
        if value is not None and 1 <= value < 100_000 and value == int(value):
            return int(value)
    return None


def find_hours(text: str) -> float | None:
    match = _HOURS.search(text)
    if not match:
        return None
    value = _number(match.group(1))
    if value is None or not 0 < value < 100_000:
        return None
    if "半" in match.group(0)[len(match.group(0)) - 4 :] and match.group(1) != "半":
        value += 0.5
    return value


def find_activity_date(text: str, post_date: date | None) -> date | None:
    """The first date stated in the text; a missing year comes from the post date (never in the future)."""
    for word, offset in _RELATIVE.items():
        if word in text and post_date is not None:
            return post_date + timedelta(days=offset)
    for match in _DATE.finditer(text):
        year_s, month_s, day_s = (
            match.group(1),
            match.group(2) or match.group(4),
            match.group(3) or match.group(5),
        )
        resolved = _resolve(int(year_s) if year_s else None, int(month_s), int(day_s), post_date)
        if resolved is not None:
            return resolved
    return None


def _resolve(year: int | None, month: int, day: int, post_date: date | None) -> date | None:
    if year is None:
        if post_date is None:
            return None
        year = post_date.year
        candidate = _safe_date(year, month, day)
        # A report looks back: "12月28日" posted on 3 January is last year's.
        if candidate is not None and candidate > post_date + timedelta(days=31):
            return _safe_date(year - 1, month, day)
        return candidate
    return _safe_date(year, month, day)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
