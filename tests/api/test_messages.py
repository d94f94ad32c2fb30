"""The 消息 list and its two staff actions: promote a kept message to a report, demote a report to messages."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import service as ingest_service
from ingest.models import RawMessage, Report, Unit
from tests.api.conftest import Staff, error_of
from tests.ingest.builders import T0, message, photo
from wenming.audit import AuditEntry
from wenming.settings import Settings

pytestmark = pytest.mark.anyio


def _feed(session: Session, settings: Settings) -> dict[str, int]:
    """A morning in the group: one report, replies, a question, a sticker, an office notice."""
    for name, aliases in [("长兴县市场监督管理局", ["县市场监管局"]), ("长兴县人民医院", ["县人民医院"])]:
        session.add(Unit(name=name, aliases=aliases))
    session.flush()
    market, hospital = "县市场监管局-张三", "县人民医院-李四"
    for msg in [
        message(text="10月12日上午，我局在金陵社区开展食品安全宣传", name=market, sender="u1", at=T0),
        message(image=photo(1), name=market, sender="u1", at=T0 + timedelta(minutes=1)),
        message(text="收到", name=hospital, sender="u2", at=T0 + timedelta(minutes=5)),
        message(text="请问今天的活动照片发哪里？", name=hospital, sender="u2", at=T0 + timedelta(minutes=6)),
        message(kind="sticker", text="[动画表情]", name=hospital, sender="u2", at=T0 + timedelta(minutes=7)),
        message(text="请各单位本周五前报送", name="县文明办-周", sender="u9", at=T0 + timedelta(minutes=8)),
    ]:
        ingest_service.receive(session, settings, msg)
    ingest_service.assemble_pending(session, settings)
    session.commit()
    units = dict(session.execute(select(Unit.name, Unit.id)).all())
    return {"market": units["长兴县市场监督管理局"], "hospital": units["长兴县人民医院"]}


async def test_kept_messages_are_listed_with_why_and_filters(
    client: httpx.AsyncClient, staff: Staff, session: Session, settings: Settings
) -> None:
    units = _feed(session, settings)
    h = staff.headers("viewer")
    page = (await client.get("/api/v1/messages", headers=h)).json()
    assert page["total"] == 3
    assert [(m["text"], m["reason_zh"], m["promotable"]) for m in page["items"]] == [
        ("[动画表情]", "表情包", False),
        ("请问今天的活动照片发哪里？", "提问", True),
        ("收到", "应答（收到、好的、👍）", True),
    ]
    assert {m["unit_name"] for m in page["items"]} == {"长兴县人民医院"}
    asked = (await client.get("/api/v1/messages", params={"reason": "question"}, headers=h)).json()
    assert [m["text"] for m in asked["items"]] == ["请问今天的活动照片发哪里？"]
    mine = await client.get("/api/v1/messages", params={"unit_id": units["market"]}, headers=h)
    assert mine.json()["total"] == 0
    found = await client.get("/api/v1/messages", params={"q": "收", "date_from": "2026-10-12"}, headers=h)
    assert [m["text"] for m in found.json()["items"]] == ["收到"]
    ignored = (await client.get("/api/v1/messages", params={"status": "ignored"}, headers=h)).json()
    assert [(m["text"], m["reason"], m["promotable"]) for m in ignored["items"]] == [
        ("请各单位本周五前报送", "staff", False)
    ]
    bad = await client.get("/api/v1/messages", params={"date_from": "2026-10-13", "date_to": "2026-10-12"}, headers=h)
    assert bad.status_code == 400


async def test_promote_makes_a_classified_report_and_is_audited(
    client: httpx.AsyncClient, staff: Staff, session: Session, settings: Settings
) -> None:
    units = _feed(session, settings)
    h = staff.headers("reviewer")
    question = session.scalars(select(RawMessage).where(RawMessage.reason == "question")).one()
    promoted = await client.post(f"/api/v1/messages/{question.id}/promote", json={"reason": "确是活动"}, headers=h)
    assert promoted.status_code == 200, promoted.text
    report = promoted.json()
    assert (report["text"], report["unit_id"]) == ("请问今天的活动照片发哪里？", units["hospital"])
    assert report["label"] is not None and report["classification"] is not None  # classified on the spot
    assert [c["kind"] for c in report["corrections"]] == ["message_promoted"]
    listed = (await client.get("/api/v1/messages", headers=h)).json()
    assert "请问今天的活动照片发哪里？" not in [m["text"] for m in listed["items"]]
    sticker = session.scalars(select(RawMessage).where(RawMessage.kind == "sticker")).one()
    refused = await client.post(f"/api/v1/messages/{sticker.id}/promote", json={}, headers=h)
    assert refused.status_code == 409 and "表情包" in error_of(refused)["message"]
    missing = await client.post("/api/v1/messages/999999/promote", json={}, headers=h)
    assert missing.status_code == 404


async def test_demote_takes_a_report_out_of_every_count_and_keeps_its_messages(
    client: httpx.AsyncClient, staff: Staff, session: Session, settings: Settings
) -> None:
    units = _feed(session, settings)
    h = staff.headers("reviewer")
    report = session.scalars(select(Report)).one()
    before = (await client.get("/api/v1/reports", params={"unit_id": units["market"]}, headers=h)).json()
    assert before["total"] == 1
    demoted = await client.post(f"/api/v1/reports/{report.id}/demote", json={"reason": "测试消息"}, headers=h)
    assert demoted.status_code == 200, demoted.text
    body = demoted.json()
    assert [(m["kind"], m["reason"]) for m in body["messages"]] == [("text", "demoted"), ("image", "demoted")]
    assert (await client.get(f"/api/v1/reports/{report.id}", headers=h)).status_code == 404
    after = (await client.get("/api/v1/reports", params={"unit_id": units["market"]}, headers=h)).json()
    assert after["total"] == 0
    photo_message = body["messages"][1]
    assert (await client.get(photo_message["thumb_url"], headers=h)).status_code == 200  # the photo stays visible
    audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "report_demoted")).one()
    assert (audit.subject_type, audit.subject_id, audit.reason) == ("report", str(report.id), "测试消息")
    trail = (await client.get("/api/v1/audit", params={"report_id": report.id}, headers=h)).json()
    assert [row["kind"] for row in trail["items"]] == ["report_demoted"]
