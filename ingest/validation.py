"""Turn malformed input into one clear Chinese sentence, and keep oversized payloads inspectable."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ingest.models import MessageKind, Platform

PAYLOAD_PREVIEW_CHARS = 65_536
MAX_PAYLOAD_CHARS = 1_000_000

_FIELD_NAMES = {
    "platform": "平台",
    "group_id": "群号",
    "sent_at": "发送时间",
    "kind": "消息类型",
    "sender_id": "发送者",
    "message_id": "消息编号",
    "text": "文本",
    "media": "图片",
}


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, in Chinese, naming the field."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "消息"
        name = _FIELD_NAMES.get(field.split(".")[0], field)
        kind = error["type"]
        if kind == "missing":
            problems.append(f"缺少字段 {field}（{name}）")
        elif kind == "enum" and field == "platform":
            allowed = "、".join(p.value for p in Platform)
            problems.append(f"未知平台 {error.get('input')!r}，应为 {allowed}")
        elif kind == "enum" and field == "kind":
            allowed = "、".join(k.value for k in MessageKind)
            problems.append(f"未知消息类型 {error.get('input')!r}，应为 {allowed}")
        elif kind.startswith("datetime"):
            problems.append(f"字段 {field}（{name}）不是有效的时间")
        else:
            problems.append(f"字段 {field}（{name}）无效：{error['msg']}")
    return "消息格式错误：" + "；".join(problems)


def jsonable_payload(data: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy for storage: bytes become their length, giant payloads a preview."""

    def clean(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return {"bytes": len(value)}
        if isinstance(value, Mapping):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, str | int | float | bool) or value is None:
            return value
        return str(value)

    cleaned = clean(dict(data))
    text = json.dumps(cleaned, ensure_ascii=False)
    if len(text) > MAX_PAYLOAD_CHARS:
        return {"truncated": True, "original_chars": len(text), "preview": text[:PAYLOAD_PREVIEW_CHARS]}
    return cleaned
