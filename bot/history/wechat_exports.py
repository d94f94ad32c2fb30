"""WeChat exports: WeChatMsg CSV and TXT, PyWxDump CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.history.records import (
    IMAGE_PLACEHOLDER,
    HistoryFormatError,
    HistoryRecord,
    read_text,
    revoked_message_id,
    sharing_text,
)
from ingest.models import MessageKind, Platform

WECHATMSG_COLUMNS = [
    "localId",
    "TalkerId",
    "Type",
    "SubType",
    "IsSender",
    "CreateTime",
    "Status",
    "StrContent",
    "StrTime",
    "Remark",
    "NickName",
    "Sender",
]


def _kind_and_text(msg_type: int, sub_type: int, content: str) -> tuple[MessageKind, str | None]:
    """WeChat PC message types (1 text, 3 image, 49 app message, 10000/10002 system)."""
    if msg_type == 1:
        return MessageKind.TEXT, content
    if msg_type == 3:
        return MessageKind.OTHER, IMAGE_PLACEHOLDER  # exports carry no image bytes
    if msg_type == 49:
        text = sharing_text(content) if content.lstrip().startswith("<") else content
        return (MessageKind.TEXT, text) if text else (MessageKind.OTHER, f"[应用消息 {sub_type}]")
    if msg_type in (10000, 10002):
        return MessageKind.SYSTEM, content
    labels = {34: "[语音]", 43: "[视频]", 47: "[表情]", 48: "[位置]", 42: "[名片]"}
    return MessageKind.OTHER, labels.get(msg_type, f"[消息类型 {msg_type}]")


def _sender(nickname: str, wxid: str, remark: str = "") -> tuple[str | None, str | None]:
    """The live adapter keys WeChat members by account nickname, so history does the same."""
    nickname = nickname.strip()
    if nickname:
        return f"nick:{nickname}", remark.strip() or nickname
    if wxid.strip():
        return f"wxid:{wxid.strip()}", remark.strip() or None
    return None, None


def parse_wechatmsg_csv(path: Path) -> Iterator[HistoryRecord]:
    """WeChatMsg CSV (utf-8-sig): ``localId,TalkerId,Type,SubType,IsSender,CreateTime,…,Sender``."""
    text, _ = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    missing = set(WECHATMSG_COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise HistoryFormatError(f"不是 WeChatMsg CSV：缺少列 {', '.join(sorted(missing))}")
    for line, row in enumerate(reader, start=2):
        try:
            msg_type, sub_type = int(row["Type"]), int(row["SubType"] or 0)
            sent_at = datetime.fromtimestamp(int(row["CreateTime"]), UTC)
        except ValueError:
            raise HistoryFormatError(f"第 {line} 行：Type 或 CreateTime 不是数字") from None
        kind, body = _kind_and_text(msg_type, sub_type, row["StrContent"] or "")
        is_self = row["IsSender"].strip() == "1"
        sender_id, sender_name = (
            (None, None) if kind is MessageKind.SYSTEM else _sender(row["NickName"], row["Sender"], row["Remark"])
        )
        yield HistoryRecord(
            platform=Platform.WECHAT,
            sent_at=sent_at,
            kind=kind,
            text=body,
            sender_id=sender_id,
            sender_name=sender_name,
            from_self=is_self,
            source={"format": "wechatmsg-csv", "line": line, "localId": row["localId"], "TalkerId": row["TalkerId"]},
        )


_TXT_HEADER = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (.+)$")


def parse_wechatmsg_txt(path: Path) -> Iterator[HistoryRecord]:
    """WeChatMsg TXT: blocks of ``YYYY-MM-DD HH:MM:SS name`` then the content lines, blank-separated."""
    text, _ = read_text(path)
    header: re.Match[str] | None = None
    body: list[str] = []
    line_no = 0

    def flush() -> Iterator[HistoryRecord]:
        if header is None:
            return
        content = "\n".join(body).strip("\n")
        name = header.group(2).strip()
        kind = MessageKind.OTHER if content == IMAGE_PLACEHOLDER else MessageKind.TEXT
        yield HistoryRecord(
            platform=Platform.WECHAT,
            sent_at=datetime.strptime(header.group(1), "%Y-%m-%d %H:%M:%S"),
            kind=kind,
            text=content,
            sender_id=f"nick:{name}",
            sender_name=name,
            source={"format": "wechatmsg-txt", "line": line_no},
        )

    for number, line in enumerate(text.splitlines(), start=1):
        match = _TXT_HEADER.match(line)
        if match:
            yield from flush()
            header, body, line_no = match, [], number
        elif header is not None:
            body.append(line)
        elif line.strip():
            raise HistoryFormatError(f"第 {number} 行不是 WeChatMsg TXT 的消息头（应为“日期 时间 昵称”）")
    yield from flush()


_PYWXDUMP_TYPES = {
    "文本": MessageKind.TEXT,
    "图片": MessageKind.OTHER,
    "系统通知": MessageKind.SYSTEM,
    "邀请加群": MessageKind.SYSTEM,
    "撤回消息": MessageKind.SYSTEM,
}


def parse_pywxdump_csv(path: Path) -> Iterator[HistoryRecord]:
    """PyWxDump CSV: ``id,MsgSvrID,type_name,is_sender,talker,room_name,(content|msg,src),CreateTime``."""
    text, _ = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    fields = set(reader.fieldnames or [])
    if not {"MsgSvrID", "type_name", "is_sender", "talker", "CreateTime"} <= fields:
        raise HistoryFormatError("不是 PyWxDump 导出的 CSV：缺少 MsgSvrID/type_name/talker/CreateTime 列")
    for line, row in enumerate(reader, start=2):
        if "msg" in row:
            content = row["msg"] or ""
        else:  # older exports: a JSON-encoded {"src": …, "msg": …} or a plain string
            try:
                value = json.loads(row.get("content") or '""')
            except json.JSONDecodeError:
                value = row.get("content") or ""
            content = value.get("msg", "") if isinstance(value, dict) else str(value)
        type_name = (row["type_name"] or "").strip()
        kind = _PYWXDUMP_TYPES.get(type_name, MessageKind.TEXT if "链接" in type_name else MessageKind.OTHER)
        recalled = revoked_message_id(content) if type_name == "撤回消息" else None
        if recalled is not None:  # the revoke XML names the recalled MsgSvrID: a recall, not a system line
            kind, content = MessageKind.RECALL, "撤回了一条消息"
        elif kind is MessageKind.OTHER:
            content = IMAGE_PLACEHOLDER if type_name == "图片" else f"[{type_name or '其他消息'}]"
        elif content.lstrip().startswith("<"):
            content = sharing_text(content) or content
        try:
            sent_at = datetime.strptime(row["CreateTime"].strip(), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise HistoryFormatError(f"第 {line} 行：CreateTime 格式应为 YYYY-MM-DD HH:MM:SS") from None
        talker = (row["talker"] or "").strip()
        system = kind in (MessageKind.SYSTEM, MessageKind.RECALL)
        yield HistoryRecord(
            platform=Platform.WECHAT,
            sent_at=sent_at,
            kind=kind,
            text=content,
            sender_id=None if system or not talker else f"nick:{talker}",
            sender_name=None if system else talker or None,
            message_id=(row["MsgSvrID"] or "").strip() or None,  # the server id web WeChat calls NewMsgId
            from_self=(row["is_sender"] or "").strip() == "1",
            recalls_message_id=recalled,
            source={"format": "pywxdump-csv", "line": line, "room_name": row.get("room_name", "")},
        )
