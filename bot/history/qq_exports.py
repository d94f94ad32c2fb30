"""QQ exports: the QQ PC ``.txt`` message record and qq-chat-exporter JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.history.records import IMAGE_PLACEHOLDER, HistoryFormatError, HistoryRecord, read_text
from ingest.models import MessageKind, Platform

QQ_TXT_HEADER = re.compile(
    r"^(?P<date>\d{4}[-/]\d{1,2}[-/]\d{1,2}) "
    r"(?:(?P<pre>上午|下午|AM|PM) )?(?P<time>\d{1,2}:\d{2}:\d{2})(?: (?P<post>AM|PM|上午|下午))? "
    r"(?:【(?P<title>[^】]*)】)?(?P<name>.*?)(?:\((?P<qq>\d{5,12})\)|<(?P<email>[^<>\s]+)>)$"
)
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


def parse_qq_txt(path: Path) -> Iterator[HistoryRecord]:
    """QQ PC export: header ``YYYY-MM-DD [上午|下午 ]H:MM:SS [【头衔】]name(QQ号)`` or ``name<email>``."""
    text, encoding = read_text(path)
    group_name: str | None = None
    header: re.Match[str] | None = None
    body: list[str] = []
    header_line = 0
    seen_header = False

    def flush() -> Iterator[HistoryRecord]:
        if header is None:
            return
        content = "\n".join(body).strip("\n")
        name = header.group("name").strip()
        qq, email = header.group("qq"), header.group("email")
        if content == IMAGE_PLACEHOLDER or not content:
            kind, content = MessageKind.OTHER, content or IMAGE_PLACEHOLDER
        else:
            kind = MessageKind.TEXT
        system = qq == "10000"  # QQ's system account writes the grey notices
        yield HistoryRecord(
            platform=Platform.QQ,
            sent_at=_clock(header),
            kind=MessageKind.SYSTEM if system else kind,
            text=content,
            sender_id=None if system else (qq or f"email:{email}"),
            sender_name=None if system else (name or None),
            group_name=group_name,
            source={"format": "qq-txt", "line": header_line, "encoding": encoding, "title": header.group("title")},
        )

    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r")
        match = QQ_TXT_HEADER.match(line)
        if match:
            yield from flush()
            header, body, header_line, seen_header = match, [], number, True
            continue
        if _SEPARATOR.match(line):  # "=====" lines open the next chat's section in a whole-account export
            yield from flush()
            header, body = None, []
            continue
        obj = _OBJECT.match(line.strip())
        if obj and header is None:
            group_name = obj.group("name").strip()
        elif header is not None:
            body.append(line)
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
    """qq-chat-exporter JSON: ``chatInfo`` + ``messages`` with ``sender.uin``, ``timestamp`` (ms), ``content``."""
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


def _qce_records(msg: Any, index: int, group_name: str | None, group_id: str | None) -> Iterator[HistoryRecord]:
    if not isinstance(msg, dict) or not isinstance(msg.get("sender"), dict):
        raise HistoryFormatError(f"第 {index + 1} 条消息缺少 sender")
    stamp = msg.get("timestamp")
    if not isinstance(stamp, int | float):
        raise HistoryFormatError(f"第 {index + 1} 条消息缺少 timestamp")
    sent_at = datetime.fromtimestamp(stamp / 1000 if stamp > 10**11 else stamp, UTC)
    sender = msg["sender"]
    content = msg.get("content") if isinstance(msg.get("content"), dict) else {}
    text = str(content.get("text") or "").strip()
    base: dict[str, Any] = {
        "platform": Platform.QQ,
        "sent_at": sent_at,
        "sender_id": str(sender.get("uin") or sender.get("uid") or "") or None,
        "sender_name": sender.get("name") or None,
        "group_name": group_name,
        "group_id": group_id,
        "source": {"format": "qce-json", "index": index, "id": msg.get("id")},
    }
    if msg.get("system"):
        yield HistoryRecord(**base | {"sender_id": None, "sender_name": None}, kind=MessageKind.SYSTEM, text=text)
        return
    key = f"qce:{msg.get('id')}"
    images = [r for r in content.get("resources") or [] if isinstance(r, dict) and r.get("type") == "image"]
    for placeholder in ("[图片]", "[图片消息]"):
        text = text.replace(placeholder, "").strip()
    if text:
        yield HistoryRecord(**base, kind=MessageKind.TEXT, text=text, message_id=key)
    for n, _ in enumerate(images):
        yield HistoryRecord(**base, kind=MessageKind.OTHER, text=IMAGE_PLACEHOLDER, message_id=f"{key}#img{n}")
    if msg.get("recalled"):  # what was posted, then its recall: a report it made ends withdrawn, as if seen live
        yield HistoryRecord(
            **base, kind=MessageKind.RECALL, text="撤回了一条消息", message_id=f"{key}#recall", recalls_message_id=key
        )
