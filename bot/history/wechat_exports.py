"""WeChat exports: WeChatMsg CSV and TXT, PyWxDump CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.cards import share_text
from bot.history.records import (
    IMAGE_PLACEHOLDER,
    STICKER_TEXTS,
    HistoryFormatError,
    HistoryRecord,
    MediaRef,
    image_md5,
    names_in_order,
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
    """WeChat PC message types (1 text, 3 image, 47 sticker, 49 app message, 10000/10002 system)."""
    if msg_type == 1:
        return MessageKind.TEXT, content
    if msg_type == 3:
        return MessageKind.OTHER, IMAGE_PLACEHOLDER  # the bytes come from --media, if the export has them
    if msg_type == 47 or (msg_type == 49 and sub_type == 8):
        return MessageKind.STICKER, "[动画表情]"  # a sticker is never a photo
    if msg_type == 49:
        text = sharing_text(content) if content.lstrip().startswith("<") else content
        return (MessageKind.TEXT, text) if text else (MessageKind.OTHER, f"[应用消息 {sub_type}]")
    if msg_type in (10000, 10002):
        return MessageKind.SYSTEM, content
    labels = {34: "[语音]", 43: "[视频]", 48: "[位置]", 42: "[名片]"}
    return MessageKind.OTHER, labels.get(msg_type, f"[消息类型 {msg_type}]")


_WXID = re.compile(r"^(wxid_[0-9a-z]+|[a-zA-Z][-_a-zA-Z0-9]{5,19})$")


def _sender(nickname: str, wxid: str, remark: str = "") -> tuple[str | None, str | None, list[str]]:
    """Key, display name and other names of a WeChatMsg row; members are keyed by nickname like live capture.

    ``Remark`` is the exporting account's remark for the sender (WeChatMsg writes the nickname there when there
    is none); the account ``NickName`` often carries the unit when the remark is only a person's name, so both
    go to unit resolution. ``Sender`` is a wxid, or in some WeChatMsg versions the sender's group nickname.
    """
    group_nickname = wxid.strip() if wxid.strip() and not _WXID.match(wxid.strip()) else None
    name, others = names_in_order(group_nickname, remark, nickname)
    if nickname.strip():
        return f"nick:{nickname.strip()}", name, others
    if wxid.strip() and group_nickname is None:
        return f"wxid:{wxid.strip()}", name, others
    return (f"nick:{name}" if name else None), name, others


def _numbered(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows with the file line each starts on (a quoted field may span several lines)."""
    start = reader.line_num + 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def parse_wechatmsg_csv(path: Path) -> Iterator[HistoryRecord]:
    """WeChatMsg CSV (utf-8-sig): ``localId,TalkerId,Type,SubType,IsSender,CreateTime,…,Sender``.

    A row that cannot be read (a non-numeric Type or CreateTime) is reported with its line number and kept; the
    other rows go in.
    """
    text, _ = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    missing = set(WECHATMSG_COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise HistoryFormatError(f"不是 WeChatMsg CSV：缺少列 {', '.join(sorted(missing))}")
    for line, row in _numbered(reader):
        source = {"format": "wechatmsg-csv", "line": line, "localId": row["localId"], "TalkerId": row["TalkerId"]}
        try:
            msg_type, sub_type = int(row["Type"]), int(row["SubType"] or 0)
            sent_at = datetime.fromtimestamp(int(row["CreateTime"]), UTC)
        except (TypeError, ValueError):
            source["row"] = {k: v for k, v in row.items() if k}
            error = f"第 {line} 行：Type 或 CreateTime 不是数字，无法导入"
            yield HistoryRecord.unplaced(Platform.WECHAT, error, source)
            continue
        content = row["StrContent"] or ""
        kind, body = _kind_and_text(msg_type, sub_type, content)
        is_self = (row["IsSender"] or "").strip() == "1"
        sender_id, sender_name, others = (
            (None, None, [])
            if kind is MessageKind.SYSTEM
            else _sender(row["NickName"] or "", row["Sender"] or "", row["Remark"] or "")
        )
        md5 = image_md5(content) if msg_type == 3 else None
        yield HistoryRecord(
            platform=Platform.WECHAT,
            sent_at=sent_at,
            kind=kind,
            text=body,
            sender_id=sender_id,
            sender_name=sender_name,
            other_names=others,
            from_self=is_self,
            media=MediaRef(md5=md5) if msg_type == 3 else None,
            source=source | {"CreateTime": int(row["CreateTime"])},
        )


_TXT_HEADER = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (.+)$")


def parse_wechatmsg_txt(path: Path) -> Iterator[HistoryRecord]:
    """WeChatMsg TXT: blocks of ``YYYY-MM-DD HH:MM:SS name`` then the content lines, blank-separated."""
    text, _ = read_text(path)
    header: re.Match[str] | None = None
    body: list[str] = []
    line_no = 0
    seen_header = False

    def flush() -> Iterator[HistoryRecord]:
        if header is None:
            return
        content = "\n".join(body).strip("\n")
        name = header.group(2).strip()
        if content == IMAGE_PLACEHOLDER:
            kind = MessageKind.OTHER
        elif content in STICKER_TEXTS:
            kind = MessageKind.STICKER
        else:
            kind = MessageKind.TEXT
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
            header, body, line_no, seen_header = match, [], number, True
        elif header is not None:
            body.append(line)
        elif line.strip():  # before the first message: nothing to attach it to
            error = f"第 {number} 行不是 WeChatMsg TXT 的消息头（应为“日期 时间 昵称”），已单独保存"
            source = {"format": "wechatmsg-txt", "line": number, "text": line}
            yield HistoryRecord.unplaced(Platform.WECHAT, error, source)
    yield from flush()
    if not seen_header:
        raise HistoryFormatError("没有找到 WeChatMsg TXT 的消息头（应为“日期 时间 昵称”）")


_PYWXDUMP_TYPES = {
    "文本": MessageKind.TEXT,
    "图片": MessageKind.OTHER,
    "动画表情": MessageKind.STICKER,
    "用户上传的GIF表情": MessageKind.STICKER,
    "系统通知": MessageKind.SYSTEM,
    "邀请加群": MessageKind.SYSTEM,
    "撤回消息": MessageKind.SYSTEM,
}
_HTML_LINK = re.compile(r"<a\b[^>]*>.*?</a>", re.S)


def _pywxdump_content(row: dict[str, str]) -> tuple[str, str]:
    """(msg, src) of a row: newer exports have both columns, older ones a JSON ``content``."""
    if "msg" in row:
        return row["msg"] or "", row.get("src") or ""
    try:
        value = json.loads(row.get("content") or '""')
    except json.JSONDecodeError:
        value = row.get("content") or ""
    if isinstance(value, dict):
        return str(value.get("msg", "")), str(value.get("src", ""))
    return str(value), ""


def _pywxdump_share(msg: str, src: str) -> str | None:
    """A card link row: PyWxDump writes ``title\\ndes\\n\\n<a href=url>…</a>`` (or the url) and the url in ``src``."""
    lines = [line.strip() for line in _HTML_LINK.sub("", msg).splitlines() if line.strip()]
    lines = [line for line in lines if line != src.strip()]
    title = lines[0] if lines else None
    return share_text(title, src or None, lines[1] if len(lines) > 1 else None)


def _load_users(path: Path) -> dict[str, dict[str, str]]:
    """PyWxDump writes ``users.json`` (wxid → remark, nickname…) next to its CSV files; names for unit resolution."""
    users = path.with_name("users.json")
    if not users.is_file():
        return {}
    try:
        data = json.loads(read_text(users)[0])
    except (json.JSONDecodeError, HistoryFormatError):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def parse_pywxdump_csv(path: Path) -> Iterator[HistoryRecord]:
    """PyWxDump CSV: ``id,MsgSvrID,type_name,is_sender,talker,room_name,(content|msg,src),CreateTime``."""
    text, _ = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    fields = set(reader.fieldnames or [])
    if not {"MsgSvrID", "type_name", "is_sender", "talker", "CreateTime"} <= fields:
        raise HistoryFormatError("不是 PyWxDump 导出的 CSV：缺少 MsgSvrID/type_name/talker/CreateTime 列")
    users = _load_users(path)
    for line, row in _numbered(reader):
        source = {"format": "pywxdump-csv", "line": line, "room_name": row.get("room_name", "")}
        try:
            sent_at = datetime.strptime((row["CreateTime"] or "").strip(), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            source["row"] = {k: v for k, v in row.items() if k}
            error = f"第 {line} 行：CreateTime 格式应为 YYYY-MM-DD HH:MM:SS，无法导入"
            yield HistoryRecord.unplaced(Platform.WECHAT, error, source)
            continue
        yield _pywxdump_record(row, sent_at, users, source)


def _pywxdump_record(
    row: dict[str, str], sent_at: datetime, users: dict[str, dict[str, str]], source: dict[str, object]
) -> HistoryRecord:
    content, src = _pywxdump_content(row)
    type_name = (row["type_name"] or "").strip()
    kind = _PYWXDUMP_TYPES.get(type_name, MessageKind.TEXT if "链接" in type_name else MessageKind.OTHER)
    recalled = revoked_message_id(content) if type_name == "撤回消息" else None
    media = None
    if recalled is not None:  # the revoke XML names the recalled MsgSvrID: a recall, not a system line
        kind, content = MessageKind.RECALL, "撤回了一条消息"
    elif kind is MessageKind.STICKER:
        content = "[动画表情]"
    elif kind is MessageKind.OTHER:
        content = IMAGE_PLACEHOLDER if type_name == "图片" else f"[{type_name or '其他消息'}]"
        media = MediaRef(names=(src.replace("\\", "/"),)) if type_name == "图片" and src.strip() else None
    elif "链接" in type_name:
        content = _pywxdump_share(content, src) or content
    elif content.lstrip().startswith("<"):
        content = sharing_text(content) or content
    talker = (row["talker"] or "").strip()
    user = users.get(talker, {})
    name, others = names_in_order(user.get("roomNickname"), user.get("remark"), user.get("nickname"), talker)
    system = kind in (MessageKind.SYSTEM, MessageKind.RECALL)
    return HistoryRecord(
        platform=Platform.WECHAT,
        sent_at=sent_at,
        kind=kind,
        text=content,
        sender_id=None if system or not talker else f"nick:{user.get('nickname') or talker}",
        sender_name=None if system else name,
        other_names=[] if system else others,
        message_id=(row["MsgSvrID"] or "").strip() or None,  # the server id web WeChat calls NewMsgId
        from_self=(row["is_sender"] or "").strip() == "1",
        recalls_message_id=recalled,
        media=media,
        source=source,
    )
