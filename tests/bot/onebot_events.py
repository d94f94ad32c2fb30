"""OneBot v11 events shaped exactly as the v11 spec documents them (message, notice, meta_event)."""

from __future__ import annotations

from typing import Any

SELF_ID = 10001000
GROUP_ID = 123456


def group_message_array(message_id: int = 101, **overrides: Any) -> dict[str, Any]:
    event = {
        "time": 1700000000,
        "self_id": SELF_ID,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": message_id,
        "group_id": GROUP_ID,
        "user_id": 87654321,
        "anonymous": None,
        "message": [
            {"type": "text", "data": {"text": "县人民医院 11月20日 开展义诊志愿服务活动"}},
            {"type": "face", "data": {"id": "178"}},
        ],
        "raw_message": "县人民医院 11月20日 开展义诊志愿服务活动[CQ:face,id=178]",
        "font": 0,
        "sender": {
            "user_id": 87654321,
            "nickname": "小王",
            "card": "县人民医院-王医生",
            "sex": "unknown",
            "age": 0,
            "area": "",
            "level": "1",
            "role": "member",
            "title": "",
        },
    }
    event.update(overrides)
    return event


def group_message_string(message_id: int = 102) -> dict[str, Any]:
    raw = "教育局&#91;通知&#93; 党员志愿者&amp;青年突击队&#44;走进社区[CQ:image,file=abc.image,url=https://multimedia.nt.qq.com.cn/download?appid=1407&amp;fileid=X&#44;Y]"
    return group_message_array(
        message_id,
        message=raw,
        raw_message=raw,
        sender={"user_id": 87654321, "nickname": "李老师", "card": "", "role": "member"},
    )


def image_message(message_id: int = 103, url: str | None = "https://img.example.test/a.png") -> dict[str, Any]:
    data: dict[str, Any] = {"file": "A1B2C3.image", "subType": 0}
    if url:
        data["url"] = url
    return group_message_array(
        message_id, message=[{"type": "image", "data": data}], raw_message="[CQ:image,file=A1B2C3.image]"
    )


def anonymous_message(message_id: int = 104) -> dict[str, Any]:
    return group_message_array(
        message_id,
        sub_type="anonymous",
        user_id=80000000,
        anonymous={"id": 12345, "name": "大力鬼王", "flag": "12345|大力鬼王|ABCD"},
        sender={"user_id": 80000000, "nickname": "匿名消息"},
    )


def notice_subtype_message(message_id: int = 105) -> dict[str, Any]:
    return group_message_array(
        message_id,
        sub_type="notice",
        user_id=10000,
        message=[{"type": "text", "data": {"text": "管理员已禁止群内匿名聊天"}}],
        sender={"user_id": 10000, "nickname": ""},
    )


def group_increase(sub_type: str = "approve") -> dict[str, Any]:
    return {
        "time": 1700000100,
        "self_id": SELF_ID,
        "post_type": "notice",
        "notice_type": "group_increase",
        "sub_type": sub_type,
        "group_id": GROUP_ID,
        "operator_id": 11111,
        "user_id": 22222,
    }


def group_recall(message_id: int = 101) -> dict[str, Any]:
    return {
        "time": 1700000200,
        "self_id": SELF_ID,
        "post_type": "notice",
        "notice_type": "group_recall",
        "group_id": GROUP_ID,
        "user_id": 87654321,
        "operator_id": 87654321,
        "message_id": message_id,
    }


def heartbeat(interval: int = 5000) -> dict[str, Any]:
    return {
        "time": 1700000000,
        "self_id": SELF_ID,
        "post_type": "meta_event",
        "meta_event_type": "heartbeat",
        "status": {"online": True, "good": True},
        "interval": interval,
    }


def lifecycle(sub_type: str = "connect") -> dict[str, Any]:
    return {
        "time": 1700000000,
        "self_id": SELF_ID,
        "post_type": "meta_event",
        "meta_event_type": "lifecycle",
        "sub_type": sub_type,
    }
