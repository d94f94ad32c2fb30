"""Audit rows as staff read them: one Chinese sentence each, and the before/after as a field-by-field diff.

``RENDERERS`` maps an audit kind to a function writing its sentence; a package that adds a kind adds a renderer
here (``tests/api/test_audit_view.py`` fails for a kind used in code without one). Values are named through the
ZhEnums (labels, levels, roles, statuses), units by name, and actors by their display names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Role, StaffUser
from api import audit_scoring
from classifier.models import ClassificationSource, Fact, Label
from ingest.models import HonourLevel, Member, RawStatus, ReportStatus, Unit
from scoring.models import AppealStatus, PeriodState, RecordKind
from wenming.audit import AuditEntry, AuditKind
from wenming.queue.models import JobKind, JobStatus

# Field names in before/after snapshots, as staff read them.
FIELD_ZH: dict[str, str] = {
    "label": "分类",
    "secondary_labels": "次要分类",
    "facts": "要素",
    "unit_id": "单位",
    "unit_source": "归属方式",
    "also_assigned_report_ids": "同时归入的报送",
    "also_unassigned_report_ids": "同时取消归属的报送",
    "name": "名称",
    "aliases": "别名",
    "honour_level": "级别",
    "category": "类别",
    "headcount": "人数",
    "active": "启用",
    "deleted": "已删除",
    "user": "用户名",
    "role": "角色",
    "display_name": "显示名",
    "password_changed": "已重设密码",
    "token": "令牌",
    "revoked": "已吊销",
    "status": "状态",
    "reason": "原因",
    "voided": "已作废",
    "summary": "内容",
    "text": "文字",
    "photo_count": "照片数",
    "version": "模型版本",
    "policy_zh": "发布方式",
    "top_n": "公布前几名",
    "expected_gap_minutes": "正常间隔（分钟）",
    "watched": "监测",
    "group_id": "群",
    "current": "当前使用",
    "state": "状态",
    "period": "考核期",
    "subject": "申诉事项",
    "resolution": "处理结果",
    "scoring_start": "计分起始月份",
    "expires_at": "有效期至",
    "source": "分类来源",
    "model_version": "模型版本",
    "file": "文件",
    "possible_repost": "疑似重复图片",
    "text_message_id": "文字消息",
    "examples": "训练样本数",
    "corrections": "人工更正数",
    "reclassified": "分类有变化的报送",
    "report_ids": "报送",
    "jobs": "任务",
    "reports": "报送",
    "removed": "清理数量",
    "older_than_days": "清理多少天前的",
    "platform": "平台",
    "created": "新增",
    "updated": "更新",
    "unchanged": "无变化",
}
HIDDEN_FIELDS = {
    "policy",
    "recall_raw_message_id",
    "recalled_raw_message_id",
    "raw_message_id",
    "sender_id",
    "kind",
    "name_zh",
}


@dataclass
class Lookup:
    """Names the sentences need, loaded once per page: units, members and staff display names."""

    units: dict[int, str] = field(default_factory=dict)
    members: dict[int, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def unit(self, unit_id: Any) -> str:
        if unit_id in (None, ""):
            return "（未归属）"
        return self.units.get(int(unit_id), f"单位 {unit_id}")

    def member(self, member_id: Any) -> str:
        return self.members.get(int(member_id), f"发送人 {member_id}") if str(member_id).isdigit() else "发送人"


def load_lookup(session: Session, entries: Iterable[AuditEntry]) -> Lookup:
    """Every unit, member and staff user the given rows name, in three queries."""
    rows = list(entries)
    unit_ids: set[int] = set()
    member_ids = {int(e.subject_id) for e in rows if e.subject_type == "member" and (e.subject_id or "").isdigit()}
    for e in rows:
        for snap in (e.before or {}, e.after or {}):
            if isinstance(snap.get("unit_id"), int):
                unit_ids.add(snap["unit_id"])
        if e.subject_type == "unit" and (e.subject_id or "").isdigit():
            unit_ids.add(int(e.subject_id))
    lookup = Lookup()
    if unit_ids:
        lookup.units = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).tuples().all())
    if member_ids:
        found = session.execute(select(Member.id, Member.display_name).where(Member.id.in_(member_ids))).tuples()
        lookup.members = {mid: name or f"发送人 {mid}" for mid, name in found}
    logins = {e.actor.split(":", 1)[1] for e in rows if e.actor.startswith("staff:")}
    if logins:
        users = session.execute(
            select(StaffUser.username, StaffUser.display_name).where(StaffUser.username.in_(logins))
        )
        lookup.users = {login: shown or login for login, shown in users.tuples()}
    return lookup


def actor_zh(actor: str, lookup: Lookup) -> str:
    """``staff:zhang`` → 张三, ``cli:root`` → 命令行（root）, system actors by their Chinese names."""
    kind, _, who = actor.partition(":")
    if kind == "staff" and who:
        return lookup.users.get(who, who)
    if kind == "cli" and who:
        return f"命令行（{who}）"
    return {"system": "系统", "scheduler": "定时任务", "worker": "后台任务"}.get(actor, actor)


def value_zh(key: str, value: Any, lookup: Lookup) -> str:
    """One snapshot value in words: enum codes by their names, units by name, booleans as 是/否."""
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "unit_id":
        return lookup.unit(value)
    if key in {"label", "text_kind", "photo_kind"}:
        return Label.zh_of(value)
    if key == "secondary_labels":
        return "、".join(Label.zh_of(v.get("label") if isinstance(v, dict) else v) for v in value) or "（空）"
    if key == "honour_level":
        return HonourLevel.zh_of(value)
    if key == "role":
        return Role.zh_of(value)
    if key == "status":
        statuses = (ReportStatus, RawStatus, JobStatus, AppealStatus)
        return next((e.zh_of(value) for e in statuses if value in e.names()), str(value))
    if key == "state":
        return PeriodState.zh_of(value)
    if key == "unit_source":
        return {"staff": "工作人员指定", "nickname": "按昵称识别"}.get(value, str(value))
    if key == "facts" and isinstance(value, dict):
        return "；".join(f"{Fact.zh_of(k)}：{value_zh(k, v, lookup)}" for k, v in value.items()) or "（空）"
    if key in {"version", "model_version"}:
        return model_zh(str(value))
    if key == "source":
        return ClassificationSource.zh_of(value)
    if key in {
        "also_assigned_report_ids",
        "also_unassigned_report_ids",
        "report_ids",
        "reports",
        "jobs",
    } and isinstance(value, list):
        return "、".join(f"#{v}" for v in value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{FIELD_ZH.get(k, Fact.zh_of(k))}：{value_zh(k, v, lookup)}" for k, v in value.items())
    return str(value)


@dataclass
class Change:
    field: str
    before: str
    after: str


def changes(entry: AuditEntry, lookup: Lookup) -> list[Change]:
    """The fields that differ between before and after (a field only in ``after`` is a new value)."""
    before, after = entry.before or {}, entry.after or {}
    out = []
    for key in [*before, *(k for k in after if k not in before)]:
        if key in HIDDEN_FIELDS or before.get(key) == after.get(key):
            continue
        if after and key not in after:  # the after snapshot names what the change set; the rest is context
            continue
        was = value_zh(key, before[key], lookup) if key in before else "—"
        now = value_zh(key, after[key], lookup) if key in after else "—"
        out.append(Change(FIELD_ZH.get(key, Fact.zh_of(key)), was, now))
    return out


def _subject(entry: AuditEntry, lookup: Lookup) -> str:
    kind, sid = entry.subject_type, entry.subject_id
    if kind == "report":
        return f"报送 #{sid}"
    if kind == "unit":
        return f"单位「{lookup.unit(sid)}」"
    if kind == "member":
        return f"发送人「{lookup.member(sid)}」"
    if kind in RecordKind.names():
        return f"{RecordKind.zh_of(kind)}记录 #{sid}"
    return {"user": "用户", "token": "令牌", "job": "任务", "group": "群", "model": "模型版本"}.get(kind or "", "") + (
        f" {sid}" if sid else ""
    )


Renderer = Callable[[AuditEntry, str, Lookup], str]


def _classification(e: AuditEntry, who: str, lk: Lookup) -> str:
    was, now = Label.zh_of((e.before or {}).get("label")) or "未分类", Label.zh_of((e.after or {}).get("label"))
    return f"{who} 将{_subject(e, lk)} 从「{was}」改为「{now}」"


def _report_unit(e: AuditEntry, who: str, lk: Lookup) -> str:
    after = e.after or {}
    if "undo_of" in after:
        undone = len(after.get("also_unassigned_report_ids") or [])
        extra = f"，{undone} 条同时归入的报送恢复为未归属" if undone else ""
        return f"{who} 撤销了{_subject(e, lk)}的归属，恢复为「{lk.unit(after.get('unit_id'))}」{extra}"
    was, now = lk.unit((e.before or {}).get("unit_id")), lk.unit(after.get("unit_id"))
    text = f"{who} 将{_subject(e, lk)} 从「{was}」归入「{now}」"
    also = after.get("also_assigned_report_ids") or []
    return text + (f"，并同时归入该发送人的 {len(also)} 条报送" if also else "")


def _member_unit(e: AuditEntry, who: str, lk: Lookup) -> str:
    unit = (e.after or {}).get("unit_id")
    if unit is None:
        return f"{who} 取消了{_subject(e, lk)}的单位归属（原为「{lk.unit((e.before or {}).get('unit_id'))}」）"
    return f"{who} 记住{_subject(e, lk)}属于「{lk.unit(unit)}」"


def _withdrawn(e: AuditEntry, who: str, lk: Lookup) -> str:
    return f"{_subject(e, lk)} 的发送者在群里撤回了报送"


def _photo_withdrawn(e: AuditEntry, who: str, lk: Lookup) -> str:
    return f"{_subject(e, lk)} 的发送者在群里撤回了一张图片"


def _promoted(e: AuditEntry, who: str, lk: Lookup) -> str:
    return f"{who} 将一条群消息转为{_subject(e, lk)}"


def _demoted(e: AuditEntry, who: str, lk: Lookup) -> str:
    return f"{who} 将{_subject(e, lk)} 改为消息（不再计分）"


def _unit(e: AuditEntry, who: str, lk: Lookup) -> str:
    name = (e.after or {}).get("name") or (e.before or {}).get("name") or lk.unit(e.subject_id)
    if (e.after or {}).get("deleted"):
        return f"{who} 删除了单位「{name}」"
    if not e.before:
        return f"{who} 添加了单位「{name}」"
    return f"{who} 修改了单位「{name}」的信息"


def _unit_import(e: AuditEntry, who: str, lk: Lookup) -> str:
    a = e.after or {}

    def n(key: str) -> int:
        value = a.get(key, 0)
        return len(value) if isinstance(value, list) else int(value or 0)

    counts = f"新增 {n('created')} 个，更新 {n('updated')} 个，无变化 {n('unchanged')} 个"
    return f"{who} 导入了单位名册「{e.subject_id}」：{counts}"


def _group(e: AuditEntry, who: str, lk: Lookup) -> str:
    return f"{who} 修改了群「{(e.after or {}).get('name') or e.subject_id}」的信息"


def _staff_user(e: AuditEntry, who: str, lk: Lookup) -> str:
    a, b = e.after or {}, e.before or {}
    user = a.get("user") or b.get("user") or e.subject_id
    if not b:
        return f"{who} 添加了用户 {user}（{Role.zh_of(a.get('role'))}）"
    if a.get("password_changed") and all(a.get(k) == b.get(k) for k in ("role", "active")):
        return f"{who} 重设了用户 {user} 的密码"
    if b.get("active") and a.get("active") is False:
        return f"{who} 停用了用户 {user}"
    if b.get("active") is False and a.get("active"):
        return f"{who} 恢复启用了用户 {user}"
    return f"{who} 修改了用户 {user}"


def _api_token(e: AuditEntry, who: str, lk: Lookup) -> str:
    a = e.after or {}
    if a.get("revoked"):
        return f"{who} 吊销了访问令牌 {(e.before or {}).get('token', e.subject_id)}"
    return f"{who} 为用户 {a.get('user', '')} 签发了访问令牌「{a.get('name', '')}」"


def _record(e: AuditEntry, who: str, lk: Lookup) -> str:
    what = RecordKind.zh_of(e.subject_type)
    if (e.after or {}).get("voided"):
        return f"{who} 作废了{what}记录 #{e.subject_id}：{(e.before or {}).get('summary', '')}"
    return f"{who} 录入了{what}记录 #{e.subject_id}：{(e.after or {}).get('summary', '')}"


def _job(e: AuditEntry, who: str, lk: Lookup) -> str:
    a, b = e.after or {}, e.before or {}
    if b.get("status") == JobStatus.DEAD.value:
        return f"{who} 将失败的任务 #{a.get('job', e.subject_id)} 重新排队"
    if "removed" in a:
        return f"{who} 清理了 {a['removed']} 个 {a.get('older_than_days', '')} 天前完成的任务"
    name = a.get("name") or JobKind.zh_of(a.get("kind"))
    jobs = a.get("jobs") or []
    return f"{who} 排入后台任务「{name}」" + (f"（{len(jobs)} 个）" if len(jobs) > 1 else "")


def _classifier_version(e: AuditEntry, who: str, lk: Lookup) -> str:
    return f"{who} 启用了分类模型 {model_zh(e.subject_id)}"


def _reclassify(e: AuditEntry, who: str, lk: Lookup) -> str:
    a = e.after or {}
    return f"{who} 用模型 {model_zh(a.get('version'))} 重新分类了报送（{a.get('reclassified', 0)} 条的分类有变化）"


def _post_policy(e: AuditEntry, who: str, lk: Lookup) -> str:
    return f"{who} 修改了群 {e.subject_id} 的排行榜发布方式"


def _capture_agent(e: AuditEntry, who: str, lk: Lookup) -> str:
    a = e.after or {}
    verb = "吊销了" if a.get("revoked") else "登记了"
    return f"{who} {verb}采集代理「{a.get('name', e.subject_id)}」"


def _capture_watch(e: AuditEntry, who: str, lk: Lookup) -> str:
    return f"{who} 修改了群 {e.subject_id} 的采集缺口告警设置"


RENDERERS: dict[str, Renderer] = {
    AuditKind.CLASSIFICATION.value: _classification,
    AuditKind.REPORT_UNIT.value: _report_unit,
    AuditKind.MEMBER_UNIT.value: _member_unit,
    AuditKind.REPORT_WITHDRAWN.value: _withdrawn,
    AuditKind.REPORT_PHOTO_WITHDRAWN.value: _photo_withdrawn,
    AuditKind.MESSAGE_PROMOTED.value: _promoted,
    AuditKind.REPORT_DEMOTED.value: _demoted,
    AuditKind.UNIT.value: _unit,
    AuditKind.UNIT_IMPORT.value: _unit_import,
    AuditKind.GROUP.value: _group,
    AuditKind.STAFF_USER.value: _staff_user,
    AuditKind.API_TOKEN.value: _api_token,
    AuditKind.RECORD.value: _record,
    AuditKind.JOB.value: _job,
    AuditKind.CLASSIFIER_VERSION.value: _classifier_version,
    AuditKind.RECLASSIFY.value: _reclassify,
    AuditKind.POST_POLICY.value: _post_policy,
    AuditKind.CAPTURE_AGENT.value: _capture_agent,
    AuditKind.CAPTURE_WATCH.value: _capture_watch,
    **audit_scoring.SENTENCES,  # periods, appeals, unit links, coverage (the scores work)
}


def model_zh(version: str | None) -> str:
    """The shipped model reads 初始模型; trained versions keep their names (the full id is shown on hover)."""
    if not version:
        return "（无）"
    return "初始模型" if version.startswith("seed") else version


@dataclass
class AuditLine:
    """One row of the audit page or of a report's change history."""

    entry: AuditEntry
    actor: str
    kind: str
    sentence: str
    changes: list[Change]
    link: str | None


def _link(entry: AuditEntry) -> str | None:
    if entry.subject_type == "report" and (entry.subject_id or "").isdigit():
        return f"/reports/{entry.subject_id}"
    if entry.subject_type == "unit" and (entry.subject_id or "").isdigit():
        return f"/units/{entry.subject_id}"
    return None


def render_one(entry: AuditEntry, lookup: Lookup) -> AuditLine:
    who = actor_zh(entry.actor, lookup)
    renderer = RENDERERS.get(entry.kind)
    if renderer is None:
        sentence = f"{who}：{AuditKind.zh_of(entry.kind)} {_subject(entry, lookup)}".strip()
    else:
        sentence = renderer(entry, who, lookup)
    return AuditLine(entry, who, AuditKind.zh_of(entry.kind), sentence, changes(entry, lookup), _link(entry))


def render(session: Session, entries: Iterable[AuditEntry]) -> list[AuditLine]:
    """Sentences and diffs for a page of audit rows."""
    rows = list(entries)
    lookup = load_lookup(session, rows)
    return [render_one(e, lookup) for e in rows]
