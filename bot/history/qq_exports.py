"""QQ exports: the QQ PC ``.txt`` message record and qq-chat-exporter JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cards import json_card_text, share_text
from bot.history.records import (
    IMAGE_PLACEHOLDER,
    STICKER_TEXTS,
    HistoryFormatError,
    HistoryRecord,
    MediaRef,
    names_in_order,
    read_text,
)
from ingest.models import MessageKind, Platform

# Real QQ numbers have 5 to 11 digits, but any length is accepted: the failure to avoid is a header not recognised.
QQ_TXT_HEADER = re.compile(
    r"^(?P<date>\d{4}[-/]\d{1,2}[-/]\d{1,2}) "
    r"(?:(?P<pre>上午|下午|AM|PM) )?(?P<time>\d{1,2}:\d{2}:\d{2})(?: (?P<post>AM|PM|上午|下午))? "
    r"(?:【(?P<title>[^】]*)】)?(?P<name>.*?)(?:\((?P<qq>\d+)\)|<(?P<email>[^<>\s]+)>)$"
)
# What every header starts with: a line like this that is not a whole header is an error, never body text.
_HEADER_LIKE = re.compile(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}\s+(?:(?:上午|下午|AM|PM)\s*)?\d{1,2}:\d{2}:\d{2}(?:\s|$)")
_PREAMBLE = re.compile(r"^(消息记录|消息分组[:：]|消息对象[:：])")
_OBJECT = re.compile(r"^消息对象[:：](?P<name>.+)$")
_SEPARATOR = re.compile(r"^={10,}\s*$")


def _clock(match: re.Match[str]) -> datetime:
    """Date and time of a header line, converting 12-hour 上午/下午 (AM/PM) times."""
    date = match.group("date").replace("/", "-")
    hour, minute, second = (int(part) for part in match.group("time").split(":"))
    marker = match.group("pre") or match.group("post")
    if marker in ("下午", "PM") and hour < 12:
        hour += 12
    elif marker in ("上午", "AM") and hour == 12:
        hour = 0
    year, month, day = (int(part) for part in date.split("-"))
    return datetime(year, month, day, hour, minute, second)


def _qq_record(header: re.Match[str], body: list[str], line: int, group: str | None, encoding: str) -> HistoryRecord:
    content = "\n".join(body).strip("\n")
    name = header.group("name").strip()
    qq, email = header.group("qq"), header.group("email")
    if content == IMAGE_PLACEHOLDER or not content:
        kind, content = MessageKind.OTHER, content or IMAGE_PLACEHOLDER
    elif content in STICKER_TEXTS:
        kind = MessageKind.STICKER
    else:
        kind = MessageKind.TEXT
    system = qq == "10000"  # QQ's system account writes the grey notices
    return HistoryRecord(
        platform=Platform.QQ,
        sent_at=_clock(header),
        kind=MessageKind.SYSTEM if system else kind,
        text=content,
        sender_id=None if system else (qq or f"email:{email}"),
        sender_name=None if system else (name or None),
        group_name=group,
        source={"format": "qq-txt", "line": line, "encoding": encoding, "title": header.group("title")},
    )


def _unplaced_qq(lines: list[str], line: int, group: str | None, why: str) -> HistoryRecord:
    text = "\n".join(lines).strip("\n")
    record = HistoryRecord.unplaced(Platform.QQ, f"第 {line} 行：{why}，已单独保存，未并入上一条消息", {})
    record.group_name = group
    record.source = {"format": "qq-txt", "line": line, "text": text}
    return record


def parse_qq_txt(path: Path) -> Iterator[HistoryRecord]:
    """QQ PC export: header ``YYYY-MM-DD [上午|下午 ]H:MM:SS [【头衔】]name(QQ号)`` or ``name<email>``.

    A line that starts like a header (date and time) but is not one, or text before the first message, is an
    error with its line number; it and the lines under it are kept apart, so the message before stays intact.
    """
    text, encoding = read_text(path)
    group_name: str | None = None
    header: re.Match[str] | None = None
    body: list[str] = []
    header_line = 0
    seen_header = False
    stray: list[str] = []  # an unrecognised header (or text before any) and the lines under it
    stray_line = 0
    stray_why = ""

    def flush() -> Iterator[HistoryRecord]:
        nonlocal header, body, stray
        if header is not None:
            yield _qq_record(header, body, header_line, group_name, encoding)
        if stray:
            yield _unplaced_qq(stray, stray_line, group_name, stray_why)
        header, body, stray = None, [], []

    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r")
        match = QQ_TXT_HEADER.match(line)
        if match:
            yield from flush()
            header, header_line, seen_header = match, number, True
        elif _SEPARATOR.match(line):  # "=====" lines open the next chat's section in a whole-account export
            yield from flush()
        elif _HEADER_LIKE.match(line):
            yield from flush()
            stray, stray_line, stray_why = [line], number, "像消息头但无法识别（应为“日期 时间 昵称(QQ号)”）"
        elif stray:
            stray.append(line)
        elif header is not None:
            body.append(line)
        elif obj := _OBJECT.match(line.strip()):
            group_name = obj.group("name").strip()
        elif line.strip() and not _PREAMBLE.match(line.strip()):
            stray, stray_line, stray_why = [line], number, "在第一条消息之前，不属于任何消息"
    yield from flush()
    if not seen_header:
        raise HistoryFormatError("没有找到 QQ 消息记录的消息头（应为“日期 时间 昵称(QQ号)”）")


def _group_id(chat: dict[str, Any]) -> str | None:
    for key in ("groupCode", "peerUin", "uin", "id"):
        value = str(chat.get(key) or "")
        if value.isdigit():
            return value
    return None


def parse_qce_json(path: Path) -> Iterator[HistoryRecord]:
    """qq-chat-exporter JSON: ``chatInfo`` + ``messages`` with ``sender``, ``timestamp`` (ms), ``content``."""
    text, _ = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryFormatError(f"JSON 无法解析：第 {exc.lineno} 行 {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) or "chatInfo" not in data:
        raise HistoryFormatError("不是 qq-chat-exporter 的 JSON：缺少 chatInfo 或 messages")
    chat = data["chatInfo"] if isinstance(data["chatInfo"], dict) else {}
    group_name, group_id = chat.get("name"), _group_id(chat)
    for index, msg in enumerate(data["messages"]):
        yield from _qce_records(msg, index, group_name, group_id)


_QCE_PLACEHOLDER = re.compile(r"\[(图片|图片消息|图片:[^\]]*|表情\d*|JSON消息|回复消息|动画表情)\]")


def _qce_text(content: dict[str, Any]) -> str:
    """Typed text and mentions from the elements, cards as ``[分享]`` lines; else ``content.text`` cleaned."""
    elements = [e for e in content.get("elements") or [] if isinstance(e, dict) and isinstance(e.get("data"), dict)]
    if not elements:
        return _QCE_PLACEHOLDER.sub("", str(content.get("text") or "")).strip()
    parts: list[str] = []
    for element in elements:
        data = element["data"]
        if element.get("type") == "text":
            parts.append(str(data.get("text") or ""))
        elif element.get("type") == "at":
            parts.append(f"@{data.get('name') or data.get('uin') or ''} ")
        elif element.get("type") == "json":
            card = share_text(data.get("title"), data.get("url"), data.get("description"))
            card = card if data.get("url") else json_card_text(data.get("content")) or card
            if card and not card.startswith("[分享] JSON消息"):
                parts.append(("\n" if parts else "") + card + "\n")
    return "".join(parts).strip()


def _is_qce_sticker(element: dict[str, Any]) -> bool:
    data = element.get("data") or {}
    return element.get("type") in ("market_face", "face") or (
        element.get("type") == "image" and data.get("subType") == "sticker"
    )


def _qce_photos(content: dict[str, Any]) -> list[MediaRef]:
    """Photos (never stickers) with the references the export gives for their files."""
    elements = [e for e in content.get("elements") or [] if isinstance(e, dict)]
    images = [e.get("data") or {} for e in elements if e.get("type") == "image" and not _is_qce_sticker(e)]
    if not elements:  # older exports list only resources
        images = [r for r in content.get("resources") or [] if isinstance(r, dict) and r.get("type") == "image"]
    resources = [r for r in content.get("resources") or [] if isinstance(r, dict) and r.get("type") == "image"]
    refs = []
    for image in images:
        names = [str(image.get(k)) for k in ("localPath", "filename") if image.get(k)]
        for resource in resources:  # the resource entry of the same file carries the exported path
            if resource.get("filename") == image.get("filename") and resource.get("localPath"):
                names.insert(0, str(resource["localPath"]))
        md5 = str(image.get("md5") or "").lower() or None
        refs.append(MediaRef(md5=md5, names=tuple(dict.fromkeys(names))))
    return refs


def _qce_records(msg: Any, index: int, group_name: str | None, group_id: str | None) -> Iterator[HistoryRecord]:
    source = {"format": "qce-json", "index": index, "id": msg.get("id") if isinstance(msg, dict) else None}
    if not isinstance(msg, dict) or not isinstance(msg.get("sender"), dict):
        why = f"第 {index + 1} 条消息缺少 sender，无法导入"
        yield HistoryRecord.unplaced(Platform.QQ, why, source | {"message": msg})
        return
    stamp = msg.get("timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        why = f"第 {index + 1} 条消息缺少 timestamp，无法导入"
        yield HistoryRecord.unplaced(Platform.QQ, why, source | {"message": msg})
        return
    sent_at = datetime.fromtimestamp(stamp / 1000 if stamp > 10**11 else stamp, UTC)
    sender = msg["sender"]
    content = msg.get("content") if isinstance(msg.get("content"), dict) else {}
    name, others = names_in_order(
        sender.get("name"), sender.get("groupCard"), sender.get("remark"), sender.get("nickname")
    )
    base: dict[str, Any] = {
        "platform": Platform.QQ,
        "sent_at": sent_at,
        "sender_id": str(sender.get("uin") or sender.get("uid") or "") or None,
        "sender_name": name,
        "other_names": others,
        "group_name": group_name,
        "group_id": group_id,
        "source": source,
    }
    if msg.get("system"):
        text = str(content.get("text") or "").strip()
        system = base | {"sender_id": None, "sender_name": None, "other_names": []}
        yield HistoryRecord(**system, kind=MessageKind.SYSTEM, text=text)
        return
    key = f"qce:{msg.get('id')}"
    text = _qce_text(content)
    photos = _qce_photos(content)
    if text:
        yield HistoryRecord(**base, kind=MessageKind.TEXT, text=text, message_id=key)
    for n, ref in enumerate(photos):
        yield HistoryRecord(
            **base, kind=MessageKind.OTHER, text=IMAGE_PLACEHOLDER, message_id=f"{key}#img{n}", media=ref
        )
    elements = [e for e in content.get("elements") or [] if isinstance(e, dict)]
    if not text and not photos and any(_is_qce_sticker(e) for e in elements):
        yield HistoryRecord(**base, kind=MessageKind.STICKER, text="[表情]", message_id=key)
    if msg.get("recalled"):  # what was posted, then its recall: a report it made ends withdrawn, as if seen live
        yield HistoryRecord(
            **base, kind=MessageKind.RECALL, text="撤回了一条消息", message_id=f"{key}#recall", recalls_message_id=key
        )
