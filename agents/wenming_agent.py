#!/usr/bin/env python3
"""Wenming reference capture agent: push chat messages from an office PC to Wenming's capture API.

用法 Usage (the three settings may also be given as --server/--agent/--secret-file):

    set WENMING_AGENT_SERVER=http://wenming.example:8000
    set WENMING_AGENT_NAME=office-pc1
    set WENMING_AGENT_SECRET=wmag_…            (from `wenming agents add office-pc1`, shown once)
    python wenming_agent.py ping               检查密钥与电脑时钟
    python wenming_agent.py push 导出目录       上传目录里的聊天记录（可反复运行，从上次确认处继续）
    python wenming_agent.py push 导出目录 --since 2026-11-03T09:12+08:00 --until 2026-11-04T10:30+08:00

Needs Python ≥ 3.11 and httpx only. Reads ``*.jsonl`` files in the normalized format of docs/formats.md (photos as
files next to them, uploaded with the messages); when the wenming package is installed on the same PC it also
reads chat exports (WeChatMsg, PyWxDump, QQ 电脑版 txt, qq-chat-exporter). Each batch is signed
(HMAC-SHA256 over timestamp + body), retried with back-off, and acknowledged message by message; the state file
``.wenming_agent_state.json`` in the folder remembers the last acknowledged message of every file.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import httpx

STATE_NAME = ".wenming_agent_state.json"
BATCH_PATH = "/api/v1/capture/batches"
PING_PATH = "/api/v1/capture/ping"
MAX_PHOTO_BYTES = 10 * 1024 * 1024


class AgentError(RuntimeError):
    """Stop: the message says why, in Chinese. ``code`` is the process exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Config:
    server: str
    name: str
    secret: str
    batch: int = 200
    max_batch_bytes: int = 8 * 1024 * 1024
    max_attempts: int = 8
    timeout: float = 120.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 keyed by the secret over ``timestamp + "\\n" + body``."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class Api:
    """Signed POSTs with retry: network errors, 429 and 5xx back off (2 s doubling to 5 min); 401 stops."""

    def __init__(
        self,
        config: Config,
        client: httpx.Client,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config, self.client, self.sleep, self.clock = config, client, sleep, clock

    def post(self, path: str, body: bytes) -> Any:
        wait = 2.0
        for attempt in range(1, self.config.max_attempts + 1):
            stamp = str(int(self.clock()))  # signed afresh on every attempt: a retry is never a replay
            headers = {
                "X-Wenming-Agent": self.config.name,
                "X-Wenming-Timestamp": stamp,
                "X-Wenming-Signature": sign(self.config.secret, stamp, body),
                "Content-Type": "application/json",
            }
            try:
                response = self.client.post(
                    self.config.server.rstrip("/") + path, content=body, headers=headers, timeout=self.config.timeout
                )
            except httpx.HTTPError as exc:
                problem = f"无法连接 {self.config.server}（{type(exc).__name__}）"
            else:
                if response.status_code == 200:
                    return response.json()
                message = _error_message(response)
                if response.status_code == 401:
                    raise AgentError(f"服务器拒绝了采集代理「{self.config.name}」：{message}", code=2)
                if response.status_code == 413:
                    raise AgentError(f"批次过大：{message}（可调小 --max-batch-mb）")
                if response.status_code not in (429,) and response.status_code < 500:
                    raise AgentError(f"服务器拒绝了这批消息（HTTP {response.status_code}）：{message}")
                problem = f"服务器暂时不可用（HTTP {response.status_code}）：{message}"
            if attempt == self.config.max_attempts:
                raise AgentError(f"{problem}；已重试 {attempt} 次，下次运行会从上次确认处继续")
            print(f"{problem}，{wait:g} 秒后重试（第 {attempt} 次）", file=sys.stderr)
            self.sleep(wait)
            wait = min(wait * 2, 300.0)
        raise AgentError("未能上传")  # unreachable: the loop either returns or raises


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


# -- reading what to push --


@dataclass
class Item:
    """One message as sent, and its photo bytes when it has one."""

    message: dict[str, Any]
    photo: bytes | None = None


def _photo(message: dict[str, Any], base: Path) -> Item:
    """A JSONL line's ``image`` (a path inside the folder) becomes ``image_sha256`` plus the bytes."""
    ref = message.pop("image", None)
    name = message.pop("image_name", None)
    if ref is None:
        return Item(message)
    target = (base / str(ref)).resolve()
    problem = None
    if not isinstance(ref, str) or PurePosixPath(ref).is_absolute() or Path(ref).is_absolute():
        problem = f"图片路径「{ref}」必须是相对路径"
    elif not target.is_relative_to(base) or not target.is_file():
        problem = f"找不到图片文件「{ref}」（或在目录之外）"
    elif target.stat().st_size > MAX_PHOTO_BYTES:
        problem = f"图片文件「{ref}」过大"
    if problem:
        return Item(message | {"media_error": problem})
    data = target.read_bytes()
    original = name if isinstance(name, str) and name else PurePosixPath(ref).name
    return Item(message | {"image_sha256": hashlib.sha256(data).hexdigest(), "image_name": original}, data)


def read_jsonl(path: Path) -> Iterator[Item]:
    """Every non-blank line; a line that is not a JSON object is still sent, so the server keeps it rejected."""
    base = path.resolve().parent
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                data = None
            if not isinstance(data, dict):
                yield Item(
                    {"platform": "unknown", "payload": {"file": path.name, "line_no": number, "text": line[:10_000]}}
                )
                continue
            yield _photo(data, base)


def read_export(path: Path, group: str | None, group_id: str | None) -> Iterator[Item]:
    """A chat export through Wenming's own parsers (available when the wenming package is installed)."""
    from bot.history.importer import PARSERS, detect_format

    for record in PARSERS[detect_format(path)](path):
        name = group or record.group_name or path.stem
        if getattr(record, "error", None) or record.sent_at is None:  # a line the parser could not place
            payload = {"history": record.source, "error": getattr(record, "error", None)}
            yield Item({"platform": record.platform.value, "group_id": group_id or name, "payload": payload})
            continue
        yield Item(
            {
                "platform": record.platform.value,
                "group_id": group_id or record.group_id or name,
                "group_name": name,
                "sender_id": record.sender_id,
                "sender_name": record.sender_name,
                "message_id": record.message_id,
                "sent_at": record.sent_at.isoformat(),  # naive = office time, as the server reads it
                "kind": record.kind.value,
                "text": record.text,
                "from_self": record.from_self,
                "recalls_message_id": record.recalls_message_id,
                "payload": {"history": record.source},
            }
        )


def exports_supported() -> bool:
    try:
        import bot.history.importer  # noqa: F401
    except ImportError:
        return False
    return True


def sources(folder: Path) -> list[Path]:
    """The files to push, in name order: JSONL always, exports when the parsers are available."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    exports = exports_supported()
    chosen = []
    for path in files:
        if path.suffix.lower() == ".jsonl" or (exports and path.suffix.lower() in (".csv", ".txt", ".json")):
            chosen.append(path)
    return chosen


def _sent_at(message: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(message.get("sent_at")))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.astimezone()  # naive: this PC's local time


# -- state --


@dataclass
class State:
    """Per file (and time window): how many messages the server acknowledged; photos it already has."""

    path: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    photos: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> State:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return cls(path)
        return cls(path, dict(data.get("files", {})), set(data.get("photos", [])))

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {"version": 1, "files": self.files, "photos": sorted(self.photos)}, ensure_ascii=False, indent=1
            ),
            encoding="utf-8",
        )
        tmp.replace(self.path)

    def start(self, key: str, fingerprint: str) -> int:
        """Where to continue in this file; a file whose beginning changed starts over (the server dedups)."""
        entry = self.files.get(key)
        if not entry or entry.get("fingerprint") != fingerprint:
            self.files[key] = {"fingerprint": fingerprint, "acked": 0}
        return int(self.files[key]["acked"])


def fingerprint(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.sha256(handle.read(65536)).hexdigest()[:32]


# -- pushing --


@dataclass
class Summary:
    files: int = 0
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0  # acknowledged in an earlier run
    reasons: list[str] = field(default_factory=list)


def _body(items: list[Item], known: set[str], force: bool = False) -> bytes:
    photos = {}
    for item in items:
        sha = item.message.get("image_sha256")
        if item.photo is not None and sha and (force or sha not in known):
            photos[sha] = base64.b64encode(item.photo).decode("ascii")
    return json.dumps({"messages": [i.message for i in items], "photos": photos}, ensure_ascii=False).encode()


def send_batch(api: Api, items: list[Item], state: State, summary: Summary) -> None:
    """Send; messages whose photo the server lacks are sent once more with the bytes."""
    answer = api.post(BATCH_PATH, _body(items, state.photos))
    acks = answer["acks"]
    again = [items[a["index"]] for a in acks if a["status"] == "rejected" and a.get("retry")]
    if again:
        acks = [a for a in acks if not (a["status"] == "rejected" and a.get("retry"))]
        second = api.post(BATCH_PATH, _body(again, state.photos, force=True))["acks"]
        still = [a for a in second if a["status"] == "rejected" and a.get("retry")]
        if still:
            raise AgentError("服务器仍不接受这些消息：" + "；".join(a["reason"] for a in still[:3]))
        acks += [a | {"index": items.index(again[a["index"]])} for a in second]
    for ack in acks:
        status = ack["status"]
        summary.stored += status == "stored"
        summary.duplicates += status == "duplicate"
        if status == "rejected":
            summary.rejected += 1
            if len(summary.reasons) < 20:
                summary.reasons.append(f"{ack.get('message_id') or ack['index']}：{ack.get('reason')}")
        sha = items[ack["index"]].message.get("image_sha256")
        if sha and status in ("stored", "duplicate"):
            state.photos.add(sha)
    summary.sent += len(items)


def push_folder(
    folder: Path,
    api: Api,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    group: str | None = None,
    group_id: str | None = None,
    state_path: Path | None = None,
) -> Summary:
    """Push every file of ``folder``; resumable: acknowledged messages are not sent again."""
    state = State.load(state_path or folder / STATE_NAME)
    summary = Summary()
    window = f"|{since.isoformat() if since else ''}|{until.isoformat() if until else ''}"
    for path in sources(folder):
        summary.files += 1
        key = path.relative_to(folder).as_posix() + window
        done = state.start(key, fingerprint(path))
        try:
            items = (
                read_jsonl(path) if path.suffix.lower() == ".jsonl" else iter(list(read_export(path, group, group_id)))
            )
        except ValueError as exc:  # not a chat export Wenming knows: say so and go on with the other files
            summary.reasons.append(f"{path.name}：跳过（{exc}）")
            continue
        batch: list[Item] = []
        size = 0
        position = 0
        for position, item in enumerate(items, start=1):
            if position <= done:
                summary.skipped += 1
                continue
            moment = _sent_at(item.message)
            if moment is not None and ((since and moment < since) or (until and moment > until)):
                if not batch:
                    state.files[key]["acked"] = position
                continue
            batch.append(item)
            size += len(item.photo or b"") * 4 // 3 + 500
            if len(batch) >= api.config.batch or size >= api.config.max_batch_bytes:
                send_batch(api, batch, state, summary)
                state.files[key]["acked"] = position
                state.save()
                batch, size = [], 0
        if batch:
            send_batch(api, batch, state, summary)
        state.files[key]["acked"] = max(position, done)
        state.save()
    return summary


# -- command line --


def _config(args: argparse.Namespace) -> Config:
    secret = os.environ.get("WENMING_AGENT_SECRET", "")
    if args.secret_file:
        secret = Path(args.secret_file).read_text(encoding="utf-8").strip()
    server = args.server or os.environ.get("WENMING_AGENT_SERVER", "")
    name = args.agent or os.environ.get("WENMING_AGENT_NAME", "")
    missing = [label for label, value in (("服务器地址", server), ("代理名称", name), ("密钥", secret)) if not value]
    if missing:
        raise AgentError(
            "缺少" + "、".join(missing) + "：设置 WENMING_AGENT_SERVER / WENMING_AGENT_NAME / "
            "WENMING_AGENT_SECRET，或用 --server / --agent / --secret-file"
        )
    return Config(server, name, secret, batch=args.batch, max_batch_bytes=int(args.max_batch_mb * 1024 * 1024))


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise AgentError(f"时间格式应为 2026-11-03T09:12+08:00，收到 {value!r}") from None
    return moment if moment.tzinfo else moment.astimezone()


def main(argv: list[str] | None = None, client: httpx.Client | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="wenming_agent.py", description="Wenming 采集代理：把聊天记录上传到文明办系统"
    )
    parser.add_argument("--server", help="服务器地址（默认 WENMING_AGENT_SERVER）")
    parser.add_argument("--agent", help="采集代理名称（默认 WENMING_AGENT_NAME）")
    parser.add_argument("--secret-file", help="保存密钥的文件（默认读取 WENMING_AGENT_SECRET）")
    parser.add_argument("--batch", type=int, default=200, help="每批消息数（默认 200）")
    parser.add_argument("--max-batch-mb", type=float, default=8.0, help="每批最大体积（MB，默认 8）")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ping", help="检查密钥与电脑时钟")
    push = commands.add_parser("push", help="上传一个目录里的聊天记录")
    push.add_argument("folder", type=Path)
    push.add_argument("--since", help="只上传此时刻及之后的消息（补采缺口）")
    push.add_argument("--until", help="只上传此时刻及之前的消息")
    push.add_argument("--group", help="群名称（导出文件里没有时）")
    push.add_argument("--group-id", help="QQ 群号（QQ 导出文件请务必填写，与机器人采集的群一致）")
    args = parser.parse_args(argv)
    try:
        api = Api(_config(args), client or httpx.Client())
        if args.command == "ping":
            print(api.post(PING_PATH, b"")["message"])
            return 0
        if not args.folder.is_dir():
            raise AgentError(f"目录不存在：{args.folder}")
        summary = push_folder(
            args.folder,
            api,
            since=_moment(args.since),
            until=_moment(args.until),
            group=args.group,
            group_id=args.group_id,
        )
    except AgentError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return exc.code
    print(
        f"完成：{summary.files} 个文件，上传 {summary.sent} 条（新存入 {summary.stored}，已有 {summary.duplicates}，"
        f"被拒 {summary.rejected}），此前已确认 {summary.skipped} 条"
    )
    for reason in summary.reasons:
        print(f"  被拒：{reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
