"""Chinese sentences for the audit kinds of periods, appeals, unit links and coverage.

Same shape as the console's audit renderers — ``(entry, who, lookup) -> str`` where ``lookup.unit(id)`` names a
unit — so ``SENTENCES`` can be merged into the audit page's renderer table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scoring.models import AppealStatus, PeriodState
from wenming.audit import AuditEntry, AuditKind

Sentence = Callable[[AuditEntry, str, Any], str]

_STEPS = {
    (PeriodState.OPEN.value, PeriodState.CLOSED.value): "关账",
    (PeriodState.CLOSED.value, PeriodState.PUBLISHED.value): "公布",
    (PeriodState.PUBLISHED.value, PeriodState.PUBLISHED.value): "重新公布",
}


def _why(entry: AuditEntry) -> str:
    return f"（原因：{entry.reason}）" if entry.reason else ""


def scoring_period(entry: AuditEntry, who: str, lookup: Any) -> str:
    before, after = (entry.before or {}).get("state"), (entry.after or {}).get("state")
    step = _STEPS.get((before, after), "重开" if after == PeriodState.OPEN.value else "变更")
    return f"{who} {step}了考核期 {(entry.after or {}).get('period', entry.subject_id)}{_why(entry)}"


def appeal(entry: AuditEntry, who: str, lookup: Any) -> str:
    after = entry.after or {}
    if not entry.before:
        unit = lookup.unit(after.get("unit_id"))
        return f"{who} 为 {unit} 提交了申诉 #{entry.subject_id}：{after.get('subject', '')}（理由：{entry.reason}）"
    return f"{who} {AppealStatus.zh_of(after.get('status'))}申诉 #{entry.subject_id}：{after.get('resolution', '')}"


def unit_link(entry: AuditEntry, who: str, lookup: Any) -> str:
    after = entry.after or {}
    unit = lookup.unit(after.get("unit_id"))
    if after.get("revoked"):
        return f"{who} 停用了 {unit} 的查看链接 #{entry.subject_id}{_why(entry)}"
    return f"{who} 生成了 {unit} 的查看链接 #{entry.subject_id}（有效期至 {str(after.get('expires_at', ''))[:10]}）"


def unit_coverage(entry: AuditEntry, who: str, lookup: Any) -> str:
    start = (entry.after or {}).get("scoring_start")
    return f"{who} 将 {lookup.unit(entry.subject_id)} 的计分起始月份设为 {start or '跟随全县设置'}"


SENTENCES: dict[str, Sentence] = {
    AuditKind.SCORING_PERIOD.value: scoring_period,
    AuditKind.APPEAL.value: appeal,
    AuditKind.UNIT_LINK.value: unit_link,
    AuditKind.UNIT_COVERAGE.value: unit_coverage,
}
