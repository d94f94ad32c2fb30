"""The row every history parser yields, and helpers the parsers share (encodings, XML fields)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cards import share_text
from ingest.models import MessageKind, Platform
from ingest.schemas import IMAGE_PLACEHOLDER

__all__ = ["IMAGE_PLACEHOLDER", "HistoryFormatError", "HistoryRecord", "MediaRef", "names_in_order"]


class HistoryFormatError(ValueError):
    """The file is not in the expected export format; the message is Chinese and names the line."""


@dataclass(frozen=True)
class MediaRef:
    """How an export refers to a photo's file, for ``wenming import --media DIR``: its own references only."""

    md5: str | None = None  # md5 of the image file (WeChat ``<img md5=…>``, qq-chat-exporter ``md5``)
    names: tuple[str, ...] = ()  # file names or relative paths the export gives (``images/abc.jpg``, ``a1b2.dat``)


@dataclass
class HistoryRecord:
    """One exported message; ``sent_at`` may be naive (office local time, as exports write it).

    A record with ``error`` is a line the parser could not place: it is kept as a rejected message with that
    Chinese error (which names the line), never glued onto its neighbour.
    """

    platform: Platform
    sent_at: datetime | None
    kind: MessageKind
    text: str | None
    sender_id: str | None = None
    sender_name: str | None = None
    other_names: list[str] = field(default_factory=list)  # remark, nickname…: see ingest.resolution
    message_id: str | None = None
    group_id: str | None = None
    group_name: str | None = None
    from_self: bool = False
    recalls_message_id: str | None = None  # a recall: the ``message_id`` of the message it withdraws
    media: MediaRef | None = None  # a photo placeholder: where its file may be found
    error: str | None = None
    source: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def unplaced(cls, platform: Platform, error: str, source: dict[str, Any]) -> HistoryRecord:
        """A line the parser cannot place, kept whole for staff."""
        return cls(platform=platform, sent_at=None, kind=MessageKind.OTHER, text=None, error=error, source=source)


def names_in_order(*names: str | None) -> tuple[str | None, list[str]]:
    """The display name (first present) and the sender's other names, blanks and repeats dropped."""
    unique = [name for name in dict.fromkeys((n or "").strip() for n in names) if name]
    return (unique[0] if unique else None), unique[1:]


STICKER_TEXTS = frozenset({"[表情]", "[动画表情]", "[表情包]", "[动画]", "[表情消息]"})


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
    kind = xml_field(xml, "type")
    if kind == "57":  # a quoted reply: the title is what the member typed
        return title
    return share_text(title, xml_field(xml, "url"), xml_field(xml, "des"))


_IMG_MD5 = re.compile(r"<img\b[^>]*?\bmd5\s*=\s*[\"']([0-9a-fA-F]{32})[\"']")


def image_md5(xml: str) -> str | None:
    """The ``md5`` a WeChat image message's ``<img>`` XML gives: the md5 of the picture file."""
    match = _IMG_MD5.search(html.unescape(xml or ""))
    return match.group(1).lower() if match else None


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
