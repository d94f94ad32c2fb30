"""The capture-agent door end to end: an agent made by `wenming agents add` pushes signed batches with photos into
the real API app on a committed database; they are stored, assembled, classified and queued for OCR exactly as live
capture; replays store nothing twice; bad signatures, stale timestamps, replays and revoked agents get 401."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from capture.models import CaptureAgent
from classifier.ocr.service import OCR_REPORT_JOB
from ingest.models import Media, RawMessage, Report, Unit
from tests.capture.conftest import Agent, batch_body
from tests.ingest.builders import photo
from wenming.audit import AuditEntry
from wenming.db import transaction
from wenming.queue.models import Job

GROUP = "650433512"
URL = "/api/v1/capture/batches"
PHOTOS = [photo(101), photo(102)]
SHAS = [hashlib.sha256(p).hexdigest() for p in PHOTOS]


def _messages(prefix: str = "qce") -> list[dict[str, Any]]:
    base = {
        "platform": "qq",
        "group_id": GROUP,
        "group_name": "长兴县文明单位工作群",
        "sender_id": "87654321",
        "sender_name": "长兴县人民医院-王医生",
    }
    return [
        base
        | {
            "message_id": f"{prefix}:1",
            "sent_at": "2026-11-20T09:00:00+08:00",
            "kind": "text",
            "text": "11月20日上午，县人民医院志愿者在城东社区开展义诊志愿服务活动，服务群众80余人。",
        },
        base
        | {
            "message_id": f"{prefix}:2",
            "sent_at": "2026-11-20T09:01:00+08:00",
            "kind": "image",
            "image_sha256": SHAS[0],
            "image_name": "mmexport1763600460000.jpg",
        },
        base
        | {
            "message_id": f"{prefix}:3",
            "sent_at": "2026-11-20T09:01:30+08:00",
            "kind": "image",
            "image_sha256": SHAS[1],
        },
    ]


def _push(client: TestClient, agent: Agent, body: bytes, **kw: Any) -> Any:
    return client.post(URL, content=body, headers=agent.headers(body, **kw))


def _count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_signed_batch_with_photos_is_stored_assembled_classified_and_replay_stores_nothing_twice(
    client: TestClient, add_agent: Any, committed_factory: sessionmaker[Session]
) -> None:
    with transaction(committed_factory) as session:
        session.add(Unit(name="长兴县人民医院", aliases=["县人民医院"], honour_level="county"))
    agent = add_agent()
    body = batch_body(_messages(), {"a": PHOTOS[0], "b": PHOTOS[1]})
    response = _push(client, agent, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [(a["index"], a["message_id"], a["status"]) for a in answer["acks"]] == [
        (0, "qce:1", "stored"),
        (1, "qce:2", "stored"),
        (2, "qce:3", "stored"),
    ]
    assert (answer["stored"], answer["duplicates"], answer["rejected"]) == (3, 0, 0)
    with committed_factory() as session:
        report = session.scalars(select(Report)).one()
        raws = session.scalars(select(RawMessage).order_by(RawMessage.id)).all()
        jobs = session.scalars(select(Job)).all()
        stored = session.scalars(select(Media.sha256)).all()
    assert [r.status for r in raws] == ["assembled"] * 3  # raw stored first, then assembled into one report
    assert raws[0].payload["wenming_agent"] == "office-pc1" and raws[1].media_ref == "mmexport1763600460000.jpg"
    assert report.photo_count == 2 and report.unit_id is not None
    assert report.status in ("classified", "needs_review") and report.label is not None  # classified on arrival
    assert [j.kind for j in jobs] == [OCR_REPORT_JOB]  # its photos are queued for reading
    assert sorted(stored) == sorted(SHAS)

    again = _push(client, agent, body, timestamp=int(time.time()) + 1)  # the agent retries, newly signed
    assert again.status_code == 200
    assert [a["status"] for a in again.json()["acks"]] == ["duplicate"] * 3
    assert [a["raw_message_id"] for a in again.json()["acks"]] == [a["raw_message_id"] for a in answer["acks"]]
    assert (_count(committed_factory, RawMessage), _count(committed_factory, Report)) == (3, 1)


def test_a_photo_already_uploaded_is_referenced_by_its_hash_alone(
    client: TestClient, add_agent: Any, committed_factory: sessionmaker[Session]
) -> None:
    agent = add_agent()
    first = _messages()
    assert _push(client, agent, batch_body(first, {"a": PHOTOS[0], "b": PHOTOS[1]})).status_code == 200
    later = [m | {"message_id": "qce:9"} for m in first[1:2]]  # the same photo posted again, bytes not resent
    [ack] = _push(client, agent, batch_body(later)).json()["acks"]
    assert ack["status"] == "stored"
    unknown = [first[1] | {"message_id": "qce:10", "image_sha256": "0" * 64}]
    [missing] = _push(client, agent, batch_body(unknown)).json()["acks"]
    assert missing["status"] == "rejected" and missing["retry"] is True and missing["raw_message_id"] is None
    assert "未曾上传" in missing["reason"]
    assert _count(committed_factory, RawMessage) == 4  # nothing stored for the missing photo: resend it with bytes


def test_bad_messages_are_kept_rejected_with_a_chinese_reason(
    client: TestClient, add_agent: Any, committed_factory: sessionmaker[Session]
) -> None:
    agent = add_agent()
    bad = [
        {"platform": "qq", "group_id": GROUP, "kind": "text", "text": "没有时间"},
        "不是对象",
        {
            "platform": "qq",
            "group_id": GROUP,
            "sent_at": "2026-11-20T09:00:00+08:00",
            "kind": "text",
            "message_id": "nul:1",
            "text": "空字符\x00在此",
        },
        _messages()[0],  # a good message in the same batch is stored whatever the database refuses
    ]
    acks = _push(client, agent, batch_body(bad)).json()["acks"]
    postgres = client.app.state.engine.dialect.name == "postgresql"  # PostgreSQL text cannot hold a NUL byte
    assert [a["status"] for a in acks] == ["rejected", "rejected", "rejected" if postgres else "stored", "stored"]
    if postgres:
        assert "空字符" in acks[2]["reason"]
    assert "sent_at" in acks[0]["reason"] and acks[0]["retry"] is False
    with committed_factory() as session:
        kept = session.scalars(select(RawMessage).where(RawMessage.status == "rejected")).all()
    assert len(kept) >= 2 and all(r.error for r in kept)


def test_wrong_secret_stale_time_replay_unknown_and_revoked_agents_get_401_with_a_reason(
    client: TestClient, add_agent: Any, cli: Any, committed_factory: sessionmaker[Session]
) -> None:
    agent = add_agent()
    body = batch_body(_messages()[:1])

    def refused(response: Any, words: str) -> None:
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "agent_unauthorized" and words in response.json()["error"]["message"]

    refused(_push(client, agent, body, secret="wmag_" + "x" * 43), "签名不符")
    refused(_push(client, agent, body, timestamp=int(time.time()) - 301), "超过 5 分钟")
    refused(client.post(URL, content=body, headers={"Content-Type": "application/json"}), "缺少签名")
    refused(_push(client, Agent("no-such-agent", agent.secret), body), "未知的采集代理")
    headers = agent.headers(body)
    assert client.post(URL, content=body, headers=headers).status_code == 200
    refused(client.post(URL, content=body, headers=headers), "已经处理过")  # the identical request, replayed
    tampered = body.replace("义诊".encode(), "体检".encode())
    refused(client.post(URL, content=tampered, headers=agent.headers(body)), "签名不符")

    from wiring.cli.main import app

    assert cli.invoke(app, ["agents", "revoke", agent.name, "--reason", "电脑报废"]).exit_code == 0
    refused(_push(client, agent, body), "已被吊销")
    assert _count(committed_factory, RawMessage) == 1
    with committed_factory() as session:
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.kind == "capture_agent").order_by(AuditEntry.id)
        ).all()
        row = session.scalars(select(CaptureAgent)).one()
    assert [(a.after.get("revoked"), a.reason, a.subject_type) for a in audit] == [
        (None, None, "capture_agent"),
        (True, "电脑报废", "capture_agent"),
    ]
    assert all(a.actor.startswith("cli:") for a in audit)
    assert row.revoked_at is not None and agent.secret not in json.dumps([row.key_salt, row.secret_hash])


def test_ping_checks_secret_and_clock(client: TestClient, add_agent: Any) -> None:
    agent = add_agent()
    ok = client.post("/api/v1/capture/ping", content=b"", headers=agent.headers(b""))
    assert ok.status_code == 200 and ok.json()["agent"] == agent.name


def test_an_oversized_body_is_refused_before_it_is_read(
    client: TestClient, add_agent: Any, capture_settings: Any
) -> None:
    agent = add_agent()
    big = b"{" + b" " * capture_settings.capture_max_body_bytes + b"}"
    response = client.post(URL, content=big, headers=agent.headers(big))
    assert response.status_code == 413 and "分成更小的批次" in response.json()["error"]["message"]


def test_agents_list_and_duplicate_names(cli: Any, add_agent: Any) -> None:
    from wiring.cli.main import app

    add_agent("office-pc1")
    again = cli.invoke(app, ["agents", "add", "office-pc1"])
    assert again.exit_code == 1 and "已存在" in again.output
    listed = cli.invoke(app, ["agents", "list"], env={"COLUMNS": "200"})
    assert "office-pc1" in listed.output and "启用" in listed.output and "从未" in listed.output
