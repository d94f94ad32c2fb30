"""Post texts and charts from scoring results, shaped by a group's policy. Pure functions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.models import PostPolicy
from bot.posts.chart import Bar, FontError, bar_chart

log = logging.getLogger(__name__)

MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


@dataclass(frozen=True)
class Post:
    """What goes to one group: text and an optional PNG."""

    text: str
    png: bytes | None = None


def _chart(title: str, subtitle: str, bars: list[Bar], footer: str) -> bytes | None:
    """The chart PNG, or none when the machine has no CJK font: the text alone still reaches the group."""
    try:
        return bar_chart(title, subtitle, bars, footer)
    except FontError as exc:
        log.warning("排行榜只发文字，未附图表：%s", exc)
        return None


def _shown(rows: list[Any], policy: PostPolicy, top_n: int, value: str) -> list[Any]:
    """Top N places (ties at the cut included, units with nothing left out), or everything for full/staff."""
    if not any(getattr(r, value) > 0 for r in rows):
        return []  # an empty period ranks nobody: no medals for a table of zeros
    if policy is not PostPolicy.TOP_N:
        return rows
    return [r for r in rows if r.rank <= top_n and getattr(r, value) > 0]


def _place(row: Any, value: str) -> str:
    """🥇🥈🥉 or "4." for units with something to their name; a unit with nothing gets no place."""
    return MEDALS.get(row.rank, f"{row.rank}.") if getattr(row, value) > 0 else "—"


EXCELLENT_FACTOR = 2  # a month with at least twice the minimum of practice activities is 优秀
QUARTER_PASS = 70.0  # the rubric's warning line: a quarter total from here is 达标
QUARTER_EXCELLENT = 90.0


def monthly_highlights_post(ranking: Any, minimum: int) -> Post:
    """Tiers and counts, no ranking and no bottom places (the default for public groups; see docs/scoring.md)."""
    rows = list(ranking.rows)
    excellent = [r for r in rows if r.practice_count >= EXCELLENT_FACTOR * minimum]
    passed = [r for r in rows if r.meets_minimum]
    lines = [f"【{ranking.year}年{ranking.month}月 文明单位创建动态】"]
    lines.append(f"本月 {len(passed)} 个单位达到每月 {minimum} 次文明实践活动的要求（共 {len(rows)} 个单位）。")
    if excellent:
        names = "、".join(r.unit_name for r in sorted(excellent, key=lambda r: r.unit_name))
        lines.append(f"优秀（实践活动 {EXCELLENT_FACTOR * minimum} 次及以上）{len(excellent)} 个：{names}")
    lines.append("感谢各单位积极参与。各单位的明细请查看本单位页面，或咨询县文明办。")
    return Post("\n".join(lines))


def quarterly_highlights_post(table: Any) -> Post:
    """The quarter as tiers: 优秀 names, 达标 count; nobody is named for being low."""
    rows = list(table.rows)
    excellent = [r for r in rows if r.total >= QUARTER_EXCELLENT]
    passed = [r for r in rows if r.total >= QUARTER_PASS]
    lines = [f"【{table.title}】", f"达标（{QUARTER_PASS:g} 分及以上）{len(passed)} 个单位（共 {len(rows)} 个）。"]
    if excellent:
        names = "、".join(r.unit_name for r in sorted(excellent, key=lambda r: r.unit_name))
        lines.append(f"优秀（{QUARTER_EXCELLENT:g} 分及以上）{len(excellent)} 个：{names}")
    lines.append("完整汇总表由县文明办发送各单位。")
    return Post("\n".join(lines))


def monthly_ranking_post(ranking: Any, policy: PostPolicy, top_n: int, minimum: int) -> Post:
    """The 1st-of-month leaderboard: public groups see no bottom places unless the office chose ``full``."""
    if policy is PostPolicy.HIGHLIGHTS:
        return monthly_highlights_post(ranking, minimum)
    rows = _shown(list(ranking.rows), policy, top_n, "liveliness")
    scope = f"前 {top_n} 名" if policy is PostPolicy.TOP_N else f"共 {len(ranking.rows)} 个单位"
    head = f"【{ranking.year}年{ranking.month}月 文明单位活跃度排行（{scope}）】"
    lines = [head]
    if not rows:
        lines.append("本月暂无单位在群内报送活动。")
    for row in rows:
        medal = _place(row, "liveliness")
        detail = f"实践 {row.practice_count} 次，活跃 {row.active_days} 天"
        lines.append(f"{medal} {row.unit_name}  活跃度 {row.liveliness:g}（{detail}）")
    lines.append(f"计分方法：{ranking.formula}")
    if policy is PostPolicy.STAFF_ONLY:
        lagging = [r.unit_name for r in ranking.rows if not r.meets_minimum]
        lines.append(f"未达每月 {minimum} 次实践的单位（{len(lagging)} 个）：" + ("、".join(lagging) or "无"))
    elif policy is PostPolicy.TOP_N:
        lines.append("感谢各单位积极参与，完整排名请咨询县文明办。")
    bars = [
        Bar(
            f"{r.rank}. {r.unit_name}",
            r.liveliness,
            f"实践 {r.practice_count} 次 · {r.active_days} 天",
            not r.meets_minimum,
        )
        for r in rows
    ]
    footer = f"橙色：未达每月 {minimum} 次实践" if policy is not PostPolicy.TOP_N else "数据来源：文明单位工作群动态"
    chart = _chart(f"{ranking.year}年{ranking.month}月 文明单位活跃度排行", ranking.formula, bars, footer)
    return Post("\n".join(lines), chart)


def quarterly_post(table: Any, policy: PostPolicy, top_n: int) -> Post:
    """The quarterly summary after quarter end, ranked by total (tiers only under ``highlights``)."""
    if policy is PostPolicy.HIGHLIGHTS:
        return quarterly_highlights_post(table)
    rows = _shown(list(table.rows), policy, top_n, "total")
    lines = [f"【{table.title}】"]
    if not rows:
        lines.append("本季度暂无可排名的数据。")
    for row in rows:
        items = "，".join(
            f"{c.title} {row.items.get(c.key, 0):g}" for c in table.columns if row.items.get(c.key) is not None
        )
        lines.append(f"{_place(row, 'total')} {row.unit_name}  合计 {row.total:g}（{items}）")
    if policy is PostPolicy.TOP_N and len(table.rows) > len(rows):
        lines.append(f"以上为前 {top_n} 名，完整汇总表请咨询县文明办。")
    bars = [Bar(f"{r.rank}. {r.unit_name}", r.total) for r in rows]
    chart = _chart(f"{table.year}年第{table.quarter}季度 考核汇总", table.title, bars, "按季度合计得分排序")
    return Post("\n".join(lines), chart)


def reminder_post(ranking: Any, minimum: int, day: int) -> Post | None:
    """Mid-month list for staff: units still under the monthly minimum of practice reports."""
    lagging = [r for r in ranking.rows if r.practice_count < minimum]
    if not lagging:
        return None
    lines = [f"【{ranking.year}年{ranking.month}月 中旬提醒（截至 {day} 日）】本月实践活动不足 {minimum} 次的单位："]
    lines += [f"· {r.unit_name}：已报 {r.practice_count} 次" for r in lagging]
    lines.append("请联络员提醒以上单位按时开展并在群内报送活动。")
    return Post("\n".join(lines))


def unit_reminder_text(unit_name: str, count: int, minimum: int, month: int) -> str:
    """The private note to one lagging unit (never posted in a group)."""
    return (
        f"【县文明办提醒】{unit_name}：本月（{month}月）已在群内报送实践活动 {count} 次，"
        f"按要求每月不少于 {minimum} 次，请在月底前开展并报送（文字+照片）。"
    )


def year_warning_post(scores: list[Any], year: int) -> Post | None:
    """Year-end list for staff: units under the warning line, and those facing 限期整改.

    Only a closed year's figures are posted: projections (预计) stay in the console and are never posted.
    """
    warned = [s for s in scores if s.warning and not getattr(s, "provisional", False)]
    if not warned:
        return None
    lines = [f"【{year}年度 文明单位考核预警（仅工作人员）】低于预警线的单位 {len(warned)} 个："]
    for s in warned:
        flag = "（连续低于预警线，限期整改）" if s.rectification else ""
        lines.append(f"· {s.unit_name}：{s.score:g} 分{flag}")
    return Post("\n".join(lines))
