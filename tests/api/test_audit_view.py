"""Audit rows read as Chinese sentences with a readable diff, for every kind the code records."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.orm import Session

from accounts.models import Role
from api import audit_view
from classifier import service as classifier_service
from classifier.schemas import ClassificationPatch
from ingest import service as ingest_service
from tests.api.conftest import Data, add_user
from wenming import audit
from wenming.audit import AuditEntry, AuditKind

ROOT = Path(__file__).resolve().parents[2]
ENGLISH_CODE = re.compile(r"\b(practice|pairing|news|volunteer|other|report_\w+|unit_id|staff:|cli:|None|True|False)\b")


def _kinds_used_in_code() -> set[str]:
    """Every ``AuditKind.X`` named anywhere outside the tests (and ``AuditKind("...")`` literals)."""
    used: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {"tests", ".venv"}:
            continue
        text = path.read_text(encoding="utf-8")
        used |= {AuditKind[name].value for name in re.findall(r"AuditKind\.([A-Z_]+)\b", text)}
    return used | {AuditKind.REPORT_WITHDRAWN.value, AuditKind.REPORT_PHOTO_WITHDRAWN.value}  # via AuditKind(kind)


def test_every_audit_kind_has_a_renderer() -> None:
    used = _kinds_used_in_code()
    assert AuditKind.CLASSIFICATION.value in used and len(used) >= 15  # the scan finds what the services record
    assert used <= set(audit_view.RENDERERS), sorted(used - set(audit_view.RENDERERS))
    assert set(AuditKind.names()) <= set(audit_view.RENDERERS)


def test_a_relabel_reads_as_a_sentence_with_a_chinese_diff(session: Session, data: Data) -> None:
    user = add_user(session, "zhang", Role.REVIEWER)
    user.display_name = "张三"
    unit = data.unit("县文化馆")
    report = data.report("文化馆组织志愿者清扫街道", unit=unit, label="other")
    patch = ClassificationPatch(
        label="practice", secondary_labels=["volunteer"], facts={"partner": "城东村"}, reason="是实践活动"
    )
    classifier_service.relabel(session, "staff:zhang", report.id, patch)
    [line] = audit_view.render(session, audit.history(session, ("report", report.id)))
    assert line.sentence == f"张三 将报送 #{report.id} 从「其他」改为「文明实践」"
    diff = {c.field: (c.before, c.after) for c in line.changes}
    assert diff["分类"] == ("其他", "文明实践")
    assert diff["次要分类"][1] == "志愿服务"
    assert "结对村（社区）：城东村" in diff["要素"][1]
    assert not ENGLISH_CODE.search(line.sentence + str(diff)), (line.sentence, diff)
    assert not [name for name in diff if re.search(r"[a-z]", name)], diff  # source, model_version named too


def test_remembering_a_sender_names_units_and_counts(session: Session, data: Data) -> None:
    unit = data.unit("县供电公司")
    sender = data.member("供电-刘工")
    first = data.report("供电公司党员进村宣传", sender=sender, unit=None)
    data.report("供电公司志愿者服务", sender=sender, unit=None)
    ingest_service.assign_report_unit(session, first.id, unit.id, actor="cli:root", remember_sender=True)
    lines = audit_view.render(session, session.query(AuditEntry).order_by(AuditEntry.id).all())
    sentences = [line.sentence for line in lines]
    assert "命令行（root） 记住发送人「供电-刘工」属于「县供电公司」" in sentences
    assert (
        f"命令行（root） 将报送 #{first.id} 从「（未归属）」归入「县供电公司」，并同时归入该发送人的 1 条报送"
        in sentences
    )
    for line in lines:
        assert not ENGLISH_CODE.search(line.sentence + " ".join(f"{c.field}{c.before}{c.after}" for c in line.changes))


def test_a_kind_without_renderer_still_reads_in_chinese(session: Session) -> None:
    entry = audit.record(session, "staff:x", AuditKind.GROUP, subject=("group", 3), after={"name": "一群"})
    entry.kind = "future_kind"
    [line] = audit_view.render(session, [entry])
    assert line.sentence.startswith("x：future_kind")
