"""Calendar windows (months, quarters, years) as local dates of the office time zone."""

from __future__ import annotations

from datetime import date, datetime

from wenming.settings import Settings


def month_start(year: int, month: int) -> date:
    """First day of a month; months past 12 roll into the next year."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1)


def month_bounds(year: int, first_month: int, count: int) -> list[date]:
    """Exclusive end of each of ``count`` consecutive months starting at ``first_month``."""
    return [month_start(year, first_month + i + 1) for i in range(count)]


def quarter_first_month(quarter: int) -> int:
    return 3 * (quarter - 1) + 1


def quarter_of(month: int) -> int:
    return (month - 1) // 3 + 1


def today(settings: Settings) -> date:
    """Today in the office time zone: a period has started when its first local day has come."""
    return datetime.now(settings.tz).date()


def started(starts: list[date], as_of: date, mode: str) -> list[int]:
    """Indexes of the windows that count: all of them, or those already started (all when none has)."""
    if mode == "all":
        return list(range(len(starts)))
    begun = [i for i, start in enumerate(starts) if start <= as_of]
    return begun or list(range(len(starts)))


def parse_month(text: str) -> tuple[int, int]:
    """``2026-10`` or ``2026年10月`` → (2026, 10)."""
    cleaned = text.strip().replace("年", "-").removesuffix("月")
    try:
        year_text, month_text = cleaned.split("-")
        year, month = int(year_text), int(month_text)
    except ValueError:
        raise ValueError(f"月份格式应为 2026-10，收到 {text!r}") from None
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise ValueError(f"月份超出范围：{text!r}")
    return year, month


def parse_quarter(text: str) -> tuple[int, int]:
    """``2026Q3`` / ``2026-Q3`` / ``2026年第3季度`` → (2026, 3)."""
    cleaned = text.strip().upper().replace("-", "").replace("年第", "Q").removesuffix("季度")
    try:
        year_text, quarter_text = cleaned.split("Q")
        year, quarter = int(year_text), int(quarter_text)
    except ValueError:
        raise ValueError(f"季度格式应为 2026Q3，收到 {text!r}") from None
    if not 1 <= quarter <= 4 or not 2000 <= year <= 2100:
        raise ValueError(f"季度超出范围：{text!r}")
    return year, quarter
