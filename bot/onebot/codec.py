"""OneBot v11 wire shapes → normalized drafts: pure functions, no I/O."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.cards import json_card_text, share_text, xml_card_text
from ingest.models import MessageKind, Platform
from ingest.schemas import ANONYMOUS_PREFIX

_CQ_CODE = re.compile(r"\[CQ:([^,\]]+)((?:,[^\]]*)?)\]")


class EventError(ValueError):
    """An event that cannot become a message; the text is the Chinese reason kept with the raw event."""


MAX_DEPTH = 64  # real events nest a few levels; deeper ones would exhaust the recursion limit downstream
MAX_INT = 2**63  # QQ numbers and message ids fit a signed 64-bit integer
RAW_KEEP_CHARS = 200_000  # what a rejected body keeps of itself


def _refuse_constant(name: str) -> float:
    raise ValueError(f"JSON 中不允许 {name}")


def raw_text(body: bytes | str) -> str:
    """A storable copy of a body that could not be parsed: valid UTF-8, no NUL, bounded."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    return text[:RAW_KEEP_CHARS].replace("\x00", "\\u0000")


def decode_event(body: bytes | str) -> tuple[Any, str | None]:
    """Parse one event; on failure ``({"raw_body": …}, Chinese reason)`` so the caller can keep it rejected."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        value = json.loads(text, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        return {"raw_body": raw_text(body)}, "上报内容不是有效的 UTF-8 文本"
    except RecursionError:
        return {"raw_body": raw_text(body)}, f"上报内容嵌套过深（超过 {MAX_DEPTH} 层）"
    except json.JSONDecodeError:
        return {"raw_body": raw_text(body)}, "上报内容不是有效的 JSON"
    except ValueError as exc:  # integers beyond Python's digit limit, NaN / Infinity
        return {"raw_body": raw_text(body)}, f"上报内容中的数字无效：{str(exc)[:80]}"
    problem = _unstorable(value)
    return (value, None) if problem is None else ({"raw_body": raw_text(body)}, problem)


def _unstorable(value: Any) -> str | None:
    """Why a parsed event cannot be stored as it is (checked without recursion), or None."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"上报内容嵌套过深（超过 {MAX_DEPTH} 层）"
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "上报内容含有空字符（NUL），无法保存"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "上报内容含有无效的 Unicode 字符（孤立的代理项）"
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= MAX_INT:
            return "上报内容中的整数过大"
        elif isinstance(item, float) and not math.isfinite(item):
            return "上报内容中的数字无效"
    return None


def unescape(text: str) -> str:
    """Undo CQ-code escaping (``&amp;`` last so ``&amp;#91;`` stays literal)."""
    return text.replace("&#91;", "[").replace("&#93;", "]").replace("&#44;", ",").replace("&amp;", "&")


def escape(text: str, *, in_param: bool = False) -> str:
    """CQ-code escaping for plain text (and commas inside parameter values)."""
    text = text.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return text.replace(",", "&#44;") if in_param else text


def parse_cq_string(message: str) -> list[dict[str, Any]]:
    """The string (CQ-code) message format as the array format's segments."""
    segments: list[dict[str, Any]] = []
    pos = 0
    for match in _CQ_CODE.finditer(message):
        if match.start() > pos:
            segments.append({"type": "text", "data": {"text": unescape(message[pos : match.start()])}})
        data: dict[str, str] = {}
        for part in match.group(2)[1:].split(",") if match.group(2) else []:
            key, _, value = part.partition("=")
            data[key] = unescape(value)
        segments.append({"type": match.group(1), "data": data})
        pos = match.end()
    if pos < len(message):
        segments.append({"type": "text", "data": {"text": unescape(message[pos:])}})
    return segments


def segments_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Segments of a message event in either post format."""
    message = event.get("message")
    if isinstance(message, str):
        return parse_cq_string(message)
    if isinstance(message, list) and all(isinstance(s, dict) and "type" in s for s in message):
        return [{"type": s["type"], "data": s.get("data") or {}} for s in message]
    raise EventError("消息内容既不是数组格式也不是字符串格式")


@dataclass(frozen=True)
class ImageRef:
    """Where an image segment's bytes can be fetched: its ``url``, else the ``get_image`` action."""

    file: str | None
    url: str | None


@dataclass
class Draft:
    """Everything of an ``IncomingMessage`` except the media bytes, which the adapter fetches."""

    platform: Platform
    group_id: str
    sender_id: str | None
    sender_name: str | None
    message_id: str | None
    sent_at: datetime
    kind: MessageKind
    text: str | None = None
    other_names: list[str] = field(default_factory=list)
    from_self: bool = False
    image: ImageRef | None = None
    recalls_message_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def is_id(value: Any, *, signed: bool = False) -> bool:
    """An integer or decimal string within 64 bits: QQ numbers, message ids (``int()`` of 5,000 digits raises)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < MAX_INT and (signed or value >= 0)
    text = value.removeprefix("-") if isinstance(value, str) and signed else value
    return isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 18


def _int_field(event: dict[str, Any], key: str) -> int:
    value = event.get(key)
    if not is_id(value, signed=True):
        raise EventError(f"事件缺少有效的 {key} 字段")
    return int(value)


MAX_EVENT_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z: later Unix seconds are no date at all


def event_time(event: dict[str, Any]) -> datetime:
    """The event's ``time`` (Unix seconds) as an aware UTC datetime."""
    value = event.get("time")
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < MAX_EVENT_TIME:
        raise EventError("事件缺少有效的 time 字段")
    return datetime.fromtimestamp(value, UTC)


def message_key(self_id: int, message_id: int | str) -> str:
    """Dedup key: OneBot message ids are per bot account, so the account is part of the key."""
    return f"{self_id}:{message_id}"


def _sender(event: dict[str, Any]) -> tuple[str | None, str | None, list[str]]:
    """Stable sender id, display name (group card before nickname) and the other name; anonymous by its name."""
    anonymous = event.get("anonymous")
    if isinstance(anonymous, dict) and anonymous.get("name"):
        return f"{ANONYMOUS_PREFIX}{anonymous['name']}", f"匿名：{anonymous['name']}", []
    sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
    card = (sender.get("card") or "").strip()
    nickname = (sender.get("nickname") or "").strip()
    names = [name for name in dict.fromkeys((card, nickname)) if name]
    return str(_int_field(event, "user_id")), (names[0] if names else None), names[1:]


# Image sub-types that are stickers, in go-cqhttp's list and NapCat's PicSubType alike: 1 表情包 (custom sticker),
# 2 热图, 3 斗图, 7 贴图 / related sticker, 13 热搜图. 0 is a normal picture; 4, 5 (QQ 空间) and 8 (自拍) are photos.
STICKER_SUB_TYPES = frozenset({1, 2, 3, 7, 13})
PHOTO_SUB_TYPES = frozenset({0, 4, 5, 8})
STICKER_SUMMARIES = frozenset({"[动画表情]", "[表情]"})


def _sub_type(data: dict[str, Any]) -> int | None:
    value = data.get("sub_type", data.get("subType"))
    return int(value) if is_id(value) else None


def is_sticker_image(data: dict[str, Any]) -> bool:
    """A sticker sent as an ``image`` segment: its sub-type, NapCat's "[动画表情]" summary, or a market face."""
    sub_type = _sub_type(data)
    if sub_type in STICKER_SUB_TYPES:
        return True
    if str(data.get("summary") or "").strip() in STICKER_SUMMARIES and sub_type not in PHOTO_SUB_TYPES:
        return True
    return data.get("file") == "marketface" or "gxh.vip.qq.com/club/item/parcel" in str(data.get("url") or "")


def _card_text(segment: dict[str, Any]) -> str | None:
    data = segment["data"]
    if segment["type"] == "share":
        return share_text(data.get("title"), data.get("url"), data.get("content"))
    if segment["type"] == "json":
        return json_card_text(data.get("data"))
    if segment["type"] == "xml":
        return xml_card_text(data.get("data"))
    return None


def _text_of(segments: list[dict[str, Any]]) -> str:
    """Typed text, mentions, and link shares/cards as ``[分享] 标题`` lines (their titles are report text)."""
    parts: list[str] = []
    for segment in segments:
        data = segment["data"]
        if segment["type"] == "text":
            parts.append(str(data.get("text", "")))
        elif segment["type"] == "at":
            parts.append("@全体成员 " if str(data.get("qq")) == "all" else f"@{data.get('qq')} ")
        elif (card := _card_text(segment)) is not None:
            parts.append(("\n" if parts and parts[-1].strip() else "") + card + "\n")
    return "".join(parts).strip()


def _sticker_text(segments: list[dict[str, Any]]) -> str | None:
    """What a message of nothing but stickers and QQ faces shows: "[动画表情]", "[开心]", "[表情]"."""
    for segment in segments:
        data = segment["data"]
        if segment["type"] == "mface" or (segment["type"] == "image" and is_sticker_image(data)):
            return str(data.get("summary") or "").strip() or "[动画表情]"
    return "[表情]" if any(s["type"] == "face" for s in segments) else None


def group_message_drafts(event: dict[str, Any]) -> list[Draft]:
    """One text draft plus one draft per photo of a group message event (``message`` or ``message_sent``).

    Stickers (``mface``, sticker ``image`` sub-types, QQ ``face``) are never photos: a message of nothing else is
    one ``sticker`` draft; beside text they are left out (the event stays in the payload).
    """
    self_id = _int_field(event, "self_id")
    group_id = _int_field(event, "group_id")
    message_id = _int_field(event, "message_id")
    sent_at = event_time(event)
    sender_id, sender_name, other_names = _sender(event)
    segments = segments_of(event)
    from_self = event.get("post_type") == "message_sent" or sender_id == str(self_id)
    base = {
        "platform": Platform.QQ,
        "group_id": str(group_id),
        "sender_id": sender_id,
        "sender_name": sender_name,
        "other_names": other_names,
        "sent_at": sent_at,
        "from_self": from_self,
        "payload": event,
    }
    key = message_key(self_id, message_id)
    if event.get("sub_type") == "notice":  # grey system line such as 「管理员已禁止群内匿名聊天」
        return [Draft(**base, message_id=key, kind=MessageKind.SYSTEM, text=_text_of(segments) or None)]
    drafts: list[Draft] = []
    text = _text_of(segments)
    photos = [s for s in segments if s["type"] == "image" and not is_sticker_image(s["data"])]
    if text:
        drafts.append(Draft(**base, message_id=key, kind=MessageKind.TEXT, text=text))
    for index, segment in enumerate(photos):
        data = segment["data"]
        ref = ImageRef(file=data.get("file") or None, url=data.get("url") or None)
        if ref.url is None and ref.file and ref.file.startswith(("http://", "https://")):
            ref = ImageRef(file=ref.file, url=ref.file)
        suffix = "" if not text and index == 0 else f"#img{index}"
        drafts.append(Draft(**base, message_id=key + suffix, kind=MessageKind.IMAGE, image=ref))
    if not drafts and (sticker := _sticker_text(segments)) is not None:
        drafts.append(Draft(**base, message_id=key, kind=MessageKind.STICKER, text=sticker))
    if not drafts:
        raw = event.get("raw_message") if isinstance(event.get("raw_message"), str) else None
        kinds = ",".join(sorted({s["type"] for s in segments})) or "空消息"
        drafts.append(Draft(**base, message_id=key, kind=MessageKind.OTHER, text=raw or f"[{kinds}]"))
    return drafts


_NOTICE_TEXT = {
    ("group_increase", "approve"): "{user} 经管理员同意入群",
    ("group_increase", "invite"): "{user} 被邀请入群",
    ("group_decrease", "leave"): "{user} 退出了群",
    ("group_decrease", "kick"): "{user} 被 {operator} 移出群",
    ("group_decrease", "kick_me"): "机器人账号被移出群",
    ("group_admin", "set"): "{user} 被设为管理员",
    ("group_admin", "unset"): "{user} 被取消管理员",
    ("group_ban", "ban"): "{user} 被 {operator} 禁言 {duration} 秒",
    ("group_ban", "lift_ban"): "{user} 被 {operator} 解除禁言",
    ("group_upload", None): "{user} 上传了群文件",
}


def group_notice_draft(event: dict[str, Any]) -> Draft | None:
    """Group notices as system lines; a recall as a RECALL naming the recalled message. Others: None."""
    notice_type = event.get("notice_type")
    if "group_id" not in event:
        return None
    self_id = _int_field(event, "self_id")
    group_id = _int_field(event, "group_id")
    user = str(event.get("user_id", ""))
    base = {
        "platform": Platform.QQ,
        "group_id": str(group_id),
        "sender_id": None,
        "sender_name": None,
        "sent_at": event_time(event),
        "payload": event,
    }
    if notice_type == "group_recall":
        recalled = message_key(self_id, _int_field(event, "message_id"))
        return Draft(
            **base | {"sender_id": user or None},
            message_id=f"{recalled}#recall",
            kind=MessageKind.RECALL,
            text=f"撤回了消息 {recalled}",
            recalls_message_id=recalled,  # the key of the recalled text; its images are ``<key>#img<n>``
        )
    template = _NOTICE_TEXT.get((notice_type, event.get("sub_type"))) or _NOTICE_TEXT.get((notice_type, None))
    if template is None:
        return None
    text = template.format(user=user, operator=event.get("operator_id", ""), duration=event.get("duration", 0))
    return Draft(**base, message_id=None, kind=MessageKind.SYSTEM, text=text)


def image_segment(png: bytes) -> dict[str, Any]:
    """An outgoing image segment carrying the bytes inline (``base64://``), so no shared disk is needed."""
    import base64

    return {"type": "image", "data": {"file": "base64://" + base64.b64encode(png).decode("ascii")}}


def text_segment(text: str) -> dict[str, Any]:
    return {"type": "text", "data": {"text": text}}
