"""The row every history parser yields, and helpers the parsers share (encodings, XML fields)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ingest.models import MessageKind, Platform


class HistoryFormatError(ValueError):
    """The file is not in the expected export format; the message is Chinese and names the line."""


@dataclass
class HistoryRecord:
    """One exported message; ``sent_at`` may be naive (office local time, as exports write it)."""

    platform: Platform
    sent_at: datetime
    kind: MessageKind
    text: str | None
    sender_id: str | None = None
    sender_name: str | None = None
    message_id: str | None = None
    group_id: str | None = None
    group_name: str | None = None
    from_self: bool = False
    recalls_message_id: str | None = None  # a recall: the ``message_id`` of the message it withdraws
    source: dict[str, Any] = field(default_factory=dict)


IMAGE_PLACEHOLDER = "[图片]"


def read_text(path: Path) -> tuple[str, str]:
    """Decode an export whatever Windows tool wrote it: BOM first, then UTF-8, UTF-16, GB18030."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:4000]
    if sample and sample.count(b"\x00") > len(sample) // 4:  # UTF-16 without a BOM
        even_nuls = sample[1::2].count(b"\x00")
        return data.decode("utf-16-le" if even_nuls > len(sample) // 4 else "utf-16-be"), "utf-16"
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise HistoryFormatError("无法识别文件编码（支持 UTF-8、UTF-16、GB18030）") from None


def xml_field(xml: str, tag: str) -> str | None:
    """First ``<tag>`` text of a WeChat app-message XML (CDATA or escaped)."""
    match = re.search(rf"<{tag}>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</{tag}>", xml, re.S)
    return html.unescape(match.group(1)).strip() if match and match.group(1).strip() else None


def sharing_text(xml: str) -> str | None:
    """An app message (link share, quoted reply) as readable text; None when it has no title."""
    title = xml_field(xml, "title")
    if title is None:
        return None
    url = xml_field(xml, "url")
    kind = xml_field(xml, "type")
    if kind == "57":  # a quoted reply: the title is what the member typed
        return title
    return f"[分享] {title}" + (f"\n{url}" if url else "")


_REVOKE = re.compile(r"<sysmsg[^>]*\btype=[\"']revokemsg[\"']")
_REVOKED_ID = tuple(re.compile(rf"<{tag}>\s*(\d+)\s*</{tag}>") for tag in ("newmsgid", "msgid"))


def revoked_message_id(xml: str) -> str | None:
    """The id a WeChat ``<sysmsg type="revokemsg">`` withdraws (escaped or not); None for any other XML.

    ``<newmsgid>`` (PC and newer clients) is the recalled message's server id (``NewMsgId``, PyWxDump's
    ``MsgSvrID``); web WeChat only has ``<msgid>``, its ``MsgId``, which web WeChat sets equal to ``NewMsgId``.
    """
    content = html.unescape(xml)
    if not _REVOKE.search(content):
        return None
    for pattern in _REVOKED_ID:
        match = pattern.search(content)
        if match:
            return match.group(1)
    return None
