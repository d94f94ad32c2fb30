"""itchat-uos group messages → ``IncomingMessage``: pure mapping, no network."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.cards import share_text
from bot.history.records import revoked_message_id, xml_field
from ingest.models import MessageKind, Platform
from ingest.schemas import IncomingMessage, MediaContent

log = logging.getLogger(__name__)

# Raw web-WeChat fields worth keeping for inspection (no callables, no contact objects).
_PAYLOAD_KEYS = (
    "MsgId",
    "NewMsgId",
    "MsgType",
    "AppMsgType",
    "SubMsgType",
    "CreateTime",
    "FromUserName",
    "ToUserName",
    "ActualUserName",
    "ActualNickName",
    "Content",
    "FileName",
    "Url",
    "Type",
    "IsAt",
)


def payload_of(msg: Mapping[str, Any]) -> dict[str, Any]:
    return {k: msg[k] for k in _PAYLOAD_KEYS if k in msg and isinstance(msg[k], str | int | float | bool)}


def group_name_of(msg: Mapping[str, Any]) -> str:
    """Groups are keyed by name: the ``@@…`` user names change at every login."""
    user = msg.get("User") or {}
    name = (user.get("NickName") or "").strip()
    return name or str(user.get("UserName") or msg.get("FromUserName"))


def member_key(msg: Mapping[str, Any]) -> tuple[str, str | None, list[str]]:
    """A stable-as-possible member key, the name shown in the group, and the member's other names.

    Web WeChat never exposes the wxid of group members and their ``@…`` ids change every login, so the
    member's own account nickname (``NickName`` in the chatroom member list) is the key; the group card
    (``DisplayName``) is only the display name because members edit it far more often. The other names
    (the bot account's remark, the nickname) go to unit resolution too, like an export's columns.
    """
    shown = (msg.get("ActualNickName") or "").strip() or None
    member: Mapping[str, Any] = {}
    user = msg.get("User") or {}
    for candidate in user.get("MemberList") or []:
        if candidate.get("UserName") == msg.get("ActualUserName"):
            member = candidate
            break
    nickname = (member.get("NickName") or "").strip() or None
    names = [(member.get(k) or "").strip() for k in ("DisplayName", "RemarkName", "NickName")]
    others = [name for name in dict.fromkeys(names) if name and name != shown]
    key = nickname or shown or str(msg.get("ActualUserName"))
    return f"nick:{key}", shown, others


def is_sticker(msg: Mapping[str, Any]) -> bool:
    """itchat reports stickers as ``Picture``: MsgType 47 (动画表情), or an app message of AppMsgType 8 (GIF)."""
    return msg.get("MsgType") == 47 or (msg.get("MsgType") == 49 and msg.get("AppMsgType") == 8)


def message_id_of(msg: Mapping[str, Any]) -> str | None:
    """``NewMsgId`` is stable across hot-reload redelivery; ``MsgId`` is the older fallback."""
    value = msg.get("NewMsgId") or msg.get("MsgId")
    return str(value) if value else None


def recalled_message_id(msg: Mapping[str, Any]) -> str | None:
    """What a revoke withdraws: itchat turns MsgType 10002 into a Note with the revokemsg XML in ``Content``."""
    if msg.get("MsgType") != 10002:
        return None
    return revoked_message_id(str(msg.get("Content") or ""))


def to_incoming(
    msg: Mapping[str, Any],
    *,
    self_user_name: str | None,
    download: Callable[[], bytes] | None = None,
) -> IncomingMessage:
    """Map one itchat group message (Text, Picture, Sharing, Note) to the normalized form."""
    kind_name = msg.get("Type")
    message_id = message_id_of(msg)
    sent_at = datetime.fromtimestamp(int(msg["CreateTime"]), UTC)
    payload = payload_of(msg)
    base: dict[str, Any] = {
        "platform": Platform.WECHAT,
        "group_id": group_name_of(msg),
        "group_name": group_name_of(msg),
        "message_id": message_id,
        "sent_at": sent_at,
    }
    recalled = recalled_message_id(msg) if kind_name == "Note" else None
    if recalled is not None:  # itchat makes a revoke a Note whose Text is the「"某某" 撤回了一条消息」line
        text = str(msg.get("Text") or "撤回了一条消息")
        return IncomingMessage(**base, kind=MessageKind.RECALL, text=text, recalls_message_id=recalled, payload=payload)
    if kind_name == "Note":  # system line: itchat fills the bot itself in as the "sender"
        return IncomingMessage(**base, kind=MessageKind.SYSTEM, text=str(msg.get("Text") or ""), payload=payload)
    sender_id, sender_name, other_names = member_key(msg)
    base |= {
        "sender_id": sender_id,
        "sender_name": sender_name,
        "other_names": other_names,
        "from_self": bool(self_user_name) and msg.get("ActualUserName") == self_user_name,
    }
    if kind_name == "Text":
        return IncomingMessage(**base, kind=MessageKind.TEXT, text=str(msg.get("Text") or ""), payload=payload)
    if kind_name == "Sharing":
        title = msg.get("Text") or msg.get("FileName")
        text = share_text(title, msg.get("Url"), xml_field(html.unescape(str(msg.get("Content") or "")), "des"))
        if text is None:
            return IncomingMessage(**base, kind=MessageKind.OTHER, text="[分享]", payload=payload)
        return IncomingMessage(**base, kind=MessageKind.TEXT, text=text, payload=payload)
    if kind_name == "Picture" and is_sticker(msg):  # never downloaded, never a photo
        return IncomingMessage(**base, kind=MessageKind.STICKER, text="[动画表情]", payload=payload)
    if kind_name == "Picture":
        media, error = None, None
        try:
            data = download() if download else b""
        except Exception as exc:  # the web session may have died mid-download
            data, error = b"", f"图片下载失败：{exc}"
        if data:
            # named by message id: itchat's FileName is a timestamp that collides within one second
            media = MediaContent(data=data, original_name=f"{message_id}.png")
        else:
            error = error or "图片下载得到 0 字节"
            log.warning("微信图片下载失败（群 %s，消息 %s）", base["group_id"], message_id)
        return IncomingMessage(**base, kind=MessageKind.IMAGE, media=media, media_error=error, payload=payload)
    return IncomingMessage(**base, kind=MessageKind.OTHER, text=str(msg.get("Text") or ""), payload=payload)
