"""Demo records become the OneBot events an implementation would push, and decode back faithfully."""

from __future__ import annotations

import json
from pathlib import Path

from bot.onebot.codec import group_message_drafts, group_notice_draft
from bot.simulator import OneBotSimulator, demo_photo, load_traffic
from ingest.models import MessageKind


def test_demo_records_round_trip_through_the_codec(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(demo_photo("a"))
    base = {
        "platform": "qq",
        "group_id": "650433512",
        "group_name": "长兴县文明单位管理群",
        "sent_at": "2026-08-01T10:05:57+08:00",
    }
    member = {"sender_id": "3046085319", "sender_name": "长兴移动 萧秀"}
    records = [
        base | member | {"message_id": "1", "kind": "text", "text": "我公司志愿者开展反诈宣传[第1批]"},
        base | member | {"message_id": "2", "kind": "image", "image": "images/a.jpg", "image_name": "{0CB2}.jpg"},
        base | member | {"message_id": "3", "kind": "other", "text": "[表情]"},
        base | member | {"message_id": "6", "kind": "sticker", "text": "[动画表情]"},
        base
        | {"sender_id": None, "sender_name": None, "message_id": "4", "kind": "system", "text": "徐娜芬 加入了本群"},
        base | member | {"message_id": "5", "kind": "recall", "recalls_message_id": "1"},
        {"platform": "wechat", "group_id": "x@chatroom", "sender_id": "wxid_1", "message_id": "9", "kind": "text"},
    ]
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    traffic = load_traffic(path, self_id=42)
    assert traffic.groups == {650433512: "长兴县文明单位管理群"}
    drafts = [
        d
        for e in traffic.events
        for d in (group_message_drafts(e) if e["post_type"] == "message" else [group_notice_draft(e)])
    ]
    assert [d.kind for d in drafts] == [
        MessageKind.TEXT,
        MessageKind.IMAGE,
        MessageKind.STICKER,  # a QQ face alone
        MessageKind.STICKER,  # a market sticker: never a photo
        MessageKind.SYSTEM,
        MessageKind.RECALL,
    ]
    assert drafts[0].text == "我公司志愿者开展反诈宣传[第1批]" and drafts[0].sender_name == "长兴移动 萧秀"
    assert drafts[0].message_id == "42:1" and drafts[0].sent_at.isoformat() == "2026-08-01T02:05:57+00:00"
    assert drafts[2].text == "[表情]" and drafts[3].text == "[动画表情]" and drafts[4].sender_name is None
    assert drafts[5].message_id == "42:1#recall" and drafts[5].recalls_message_id == drafts[0].message_id

    sim = OneBotSimulator("ws://unused", traffic, self_id=42)
    data, ok = sim.answer("get_image", {"file": "{0CB2}.jpg"})
    assert ok and data["base64"]
    assert sim.answer("get_image", {"file": "missing.jpg"}) == (None, False)
    groups, _ = sim.answer("get_group_list", {})
    assert groups[0]["group_name"] == "长兴县文明单位管理群"
