"""The QQ adapter: OneBot v11 events → ``IncomingMessage`` → ingest; actions over the reverse WebSocket."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import APIRouter
from pydantic import ValidationError

from bot.base import Adapter, AdapterStatus, GroupInfo, MessageSink, SendError
from bot.onebot import media as onebot_media
from bot.onebot.codec import (
    Draft,
    EventError,
    decode_event,
    group_message_drafts,
    group_notice_draft,
    image_segment,
    is_id,
    raw_text,
    text_segment,
)
from bot.onebot.connection import ActionError, Connection
from bot.onebot.journal import Journal
from bot.onebot.media import FetchPolicy, MediaError, Resolver, download
from ingest.models import Platform
from ingest.schemas import IncomingMessage, MediaContent
from ingest.validation import describe_validation_error
from wenming.db import utcnow
from wenming.settings import Settings

log = logging.getLogger(__name__)

PLATFORM = Platform.QQ.value


@dataclass
class Account:
    """What we know about one bot account's link: its sockets and its heartbeat."""

    self_id: int
    last_event_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    heartbeat_interval_ms: int | None = None
    online: bool | None = None
    enabled: bool = True  # HTTP POST lifecycle enable/disable


class OneBotAdapter(Adapter):
    """Speaks OneBot v11 as the server side of the reverse WebSocket and the HTTP POST target."""

    name = "onebot"
    platform = Platform.QQ

    def __init__(
        self,
        settings: Settings,
        sink: MessageSink,
        http: httpx.AsyncClient,
        recent: int = 20_000,
        *,
        insecure_local: bool = False,
        resolver: Resolver | None = None,
    ):
        self.settings = settings
        self.sink = sink
        self.http = http
        self.insecure_local = insecure_local  # `wenming run --insecure-local`: no token, loopback clients only
        self.journal = Journal(settings.data_dir / "onebot" / "ws-journal.jsonl")
        self.fetch_policy = FetchPolicy(
            settings.media_allowed_hosts, settings.media_max_redirects, resolver or onebot_media.resolve_host
        )
        self.accounts: dict[int, Account] = {}
        self.connections: list[Connection] = []
        self.group_names: dict[str, str] = {}
        self._recent: OrderedDict[tuple[str, str], str | None] = OrderedDict()  # -> the sender's QQ number
        self._roles: dict[tuple[str, str], str] = {}  # (group, QQ number) -> owner / admin / member, as last seen
        self._recent_size = recent
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle --

    def routers(self) -> list[APIRouter]:
        """The reverse WebSocket and HTTP POST endpoints OneBot implementations connect to."""
        from bot.onebot.router import create_router  # the router module imports this one

        return [create_router(self)]

    async def start(self) -> None:
        """Nothing to dial (OneBot implementations connect to us); events a crash left journaled are stored."""
        await self.replay_journal()

    async def stop(self) -> None:
        for conn in list(self.connections):
            conn.close()
            with contextlib.suppress(asyncio.QueueFull):
                conn.events.put_nowait(None)
        for task in list(self._tasks):
            task.cancel()

    def status(self) -> AdapterStatus:
        now = utcnow()
        live = [a for a in self.accounts.values() if self._account_alive(a, now)]
        last = max((a.last_event_at for a in self.accounts.values() if a.last_event_at), default=None)
        if live:
            detail = "已连接：" + "、".join(str(a.self_id) for a in live)
        elif self.accounts:
            detail = "连接已断开或心跳超时"
        else:
            detail = "尚无 OneBot 实现连接"
        return AdapterStatus(
            name=self.name,
            platform=PLATFORM,
            connected=bool(live),
            detail=detail,
            accounts=[str(a.self_id) for a in live],
            last_event_at=last,
            send_failures=self.send_failures,
            last_send_error=self.last_send_error,
        )

    def _account_alive(self, account: Account, now: datetime) -> bool:
        """A socket is open, or heartbeats keep arriving within three intervals (HTTP POST mode)."""
        if account.online is False or not account.enabled:
            return False
        if account.heartbeat_interval_ms and account.last_heartbeat_at:
            window = timedelta(milliseconds=3 * account.heartbeat_interval_ms)
            return now - account.last_heartbeat_at <= window
        return any(c.self_id == account.self_id and not c.closed for c in self.connections)

    # -- connections --

    def open_connection(self, self_id: int, role: str, send: Any) -> Connection:
        """Register a freshly accepted reverse WebSocket and start its event worker."""
        conn = Connection(
            self_id=self_id,
            role=role,
            send=send,
            timeout=self.settings.onebot_action_timeout_seconds,
            events=asyncio.Queue(self.settings.onebot_queue_size),
        )
        self.connections.append(conn)
        self.accounts.setdefault(self_id, Account(self_id)).online = True
        log.info("OneBot 账号 %s 已连接（%s）", self_id, role)
        if conn.can_call:
            self._spawn(self._refresh_groups())
        return conn

    async def close_connection(self, conn: Connection) -> None:
        conn.close()
        await conn.events.put(None)  # after the queued events: the worker stores them all, then stops
        if conn in self.connections:
            self.connections.remove(conn)
        account = self.accounts.get(conn.self_id)
        if account and not any(c.self_id == conn.self_id for c in self.connections):
            account.online = False  # its heartbeats travelled on this socket
        log.info("OneBot 账号 %s 的连接已断开", conn.self_id)

    async def feed(self, conn: Connection, data: str | bytes) -> None:
        """One frame from the socket: an action response, or an event journaled (fsync) then queued in order.

        The queue is bounded: when ingest falls behind, ``put`` waits and the socket is not read (back-pressure).
        """
        if isinstance(data, bytes):
            frame, error = {"raw_body": raw_text(data)}, "收到二进制帧：OneBot 事件应为 JSON 文本"
        else:
            frame, error = decode_event(data)
        if error is None and isinstance(frame, dict) and conn.resolve(frame):
            return
        seq = await asyncio.to_thread(self.journal.append, data if isinstance(data, str) else raw_text(data))
        await conn.events.put((seq, frame, error))

    async def run_worker(self, conn: Connection) -> None:
        """Process this connection's events in arrival order until it closes."""
        while True:
            item = await conn.events.get()
            if item is None:
                return
            seq, frame, error = item
            await self._handle_frame(frame, error, conn.self_id)
            self.journal.done(seq)

    async def _handle_frame(self, frame: Any, error: str | None, self_id: int | None) -> None:
        try:
            if error is not None:
                await self.sink.reject(frame, error, PLATFORM)
            else:
                await self.handle_event(frame, self_id_hint=self_id)
        except Exception:  # one bad event must not stop capture
            log.exception("处理 OneBot 事件失败")

    async def replay_journal(self) -> int:
        """Store the events an earlier run journaled but never stored (killed mid-flood); returns how many."""
        frames = await asyncio.to_thread(self.journal.unfinished)
        for text in frames:
            frame, error = decode_event(text)
            await self._handle_frame(frame, error, None)
        if frames:
            log.warning("已补存上次运行中断时未入库的 %d 条 OneBot 事件", len(frames))
        await asyncio.to_thread(self.journal.reset)
        return len(frames)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def caller(self, self_id: int | None = None) -> Connection:
        """A connection that can run actions (preferring the given account)."""
        usable = [c for c in self.connections if c.can_call]
        preferred = [c for c in usable if c.self_id == self_id]
        if preferred or usable:
            return (preferred or usable)[-1]
        raise SendError("没有可用的 OneBot 连接（QQ 机器人未连接）")

    # -- events --

    async def handle_event(self, event: Any, *, self_id_hint: int | None = None) -> None:
        """Turn one event into messages for ingest; malformed ones are kept raw with the reason."""
        if not isinstance(event, dict):
            await self.sink.reject({"event": event}, "OneBot 事件不是 JSON 对象", PLATFORM)
            return
        post_type = event.get("post_type")
        self_id = event.get("self_id", self_id_hint)
        account = self.accounts.setdefault(int(self_id), Account(int(self_id))) if is_id(self_id) else None
        if account is not None:
            account.last_event_at = utcnow()
        try:
            if post_type == "meta_event":
                self._on_meta(event, account)
                return
            if post_type in ("message", "message_sent"):
                if event.get("message_type") != "group":
                    return  # private chats are not reports
                drafts = group_message_drafts(event)
                self._remember_role(event)
            elif post_type == "notice":
                draft = group_notice_draft(event)
                drafts = [draft] if draft else []
            elif post_type == "request":
                return
            else:
                raise EventError(f"未知的上报类型 post_type={post_type!r}")
        except EventError as exc:
            await self.sink.reject(event, str(exc), PLATFORM)
            return
        for draft in drafts:
            refusal = await self._recall_refusal(event, draft) if draft.recalls_message_id else None
            if refusal is not None:  # kept raw, visible to staff, but it withdraws nothing
                await self.sink.reject(event, refusal, PLATFORM)
                continue
            await self._deliver(draft)

    # -- recalls: honoured only from the original sender or a group admin/owner --

    def _remember_role(self, event: dict[str, Any]) -> None:
        sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
        if sender.get("role") in ("owner", "admin", "member") and event.get("user_id") is not None:
            self._roles[(str(event.get("group_id")), str(event.get("user_id")))] = str(sender["role"])

    async def _recall_refusal(self, event: dict[str, Any], draft: Draft) -> str | None:
        """Why this ``group_recall`` must not withdraw anything, or None when it may (OneBot ``operator_id``)."""
        assert draft.recalls_message_id is not None
        user = str(event.get("user_id") or "") or None
        operator = str(event.get("operator_id") or "") or user
        sender = await self._original_sender(draft.group_id, draft.recalls_message_id)
        if sender is not None and user is not None and sender != user:
            return f"撤回通知与原消息不符：原消息发送者是 {sender}，通知中是 {user}，未采纳"
        if operator is not None and operator == (sender or user):
            return None
        if await self._role(draft.group_id, operator) in ("owner", "admin"):
            return None
        return f"撤回未采纳：撤回者 {operator or '未知'} 既不是原发送者也不是群主或管理员"

    async def _original_sender(self, group_id: str, message_id: str) -> str | None:
        if (group_id, message_id) in self._recent:
            return self._recent[(group_id, message_id)]
        lookup = getattr(self.sink, "sender_of", None)
        return await lookup(PLATFORM, group_id, message_id) if lookup is not None else None

    async def _role(self, group_id: str, user_id: str | None) -> str | None:
        """The member's group role: as seen on their messages, else asked with ``get_group_member_info``."""
        if not is_id(user_id):
            return None
        if (group_id, user_id) not in self._roles:
            try:
                info = await self.member_info(group_id, user_id)
            except (SendError, ActionError, ValueError):
                return None
            if isinstance(info.get("role"), str):
                self._roles[(group_id, user_id)] = info["role"]
        return self._roles.get((group_id, user_id))

    def _on_meta(self, event: dict[str, Any], account: Account | None) -> None:
        if account is None:
            return
        kind = event.get("meta_event_type")
        if kind == "heartbeat":
            account.last_heartbeat_at = utcnow()
            interval = event.get("interval")
            account.heartbeat_interval_ms = interval if isinstance(interval, int) and interval > 0 else None
            status = event.get("status") if isinstance(event.get("status"), dict) else {}
            account.online = status.get("online", True) is not False
        elif kind == "lifecycle":
            sub = event.get("sub_type")
            account.enabled = sub != "disable"
            if sub in ("enable", "connect"):
                account.online = True

    async def _deliver(self, draft: Draft) -> None:
        key = (draft.group_id, draft.message_id) if draft.message_id else None
        if key is not None and key in self._recent:
            log.debug("重复推送的消息已忽略：%s", key)
            return
        try:
            message = await self._materialize(draft)
        except ValidationError as exc:  # e.g. a group id longer than any real one
            await self.sink.reject(draft.payload, describe_validation_error(exc), PLATFORM)
            return
        await self.sink.deliver(message)
        if key is not None:
            self._recent[key] = draft.sender_id
            while len(self._recent) > self._recent_size:
                self._recent.popitem(last=False)

    async def _materialize(self, draft: Draft) -> IncomingMessage:
        payload = dict(draft.payload)
        media, media_error = None, None
        if draft.image is not None:
            try:
                media = MediaContent(data=await self._image_bytes(draft), original_name=draft.image.file)
            except MediaError as exc:  # delivered anyway: ingest keeps it rejected with this reason
                media_error = str(exc)
                log.warning("QQ 图片获取失败（群 %s，消息 %s）：%s", draft.group_id, draft.message_id, exc)
        return IncomingMessage(
            platform=draft.platform,
            group_id=draft.group_id,
            group_name=self.group_names.get(draft.group_id),
            sender_id=draft.sender_id,
            sender_name=draft.sender_name,
            other_names=draft.other_names,
            message_id=draft.message_id,
            sent_at=draft.sent_at,
            kind=draft.kind,
            text=draft.text,
            media=media,
            media_error=media_error,
            from_self=draft.from_self,
            recalls_message_id=draft.recalls_message_id,
            payload=payload,
        )

    async def _image_bytes(self, draft: Draft) -> bytes:
        """The segment's ``url`` first; then the ``get_image`` action (base64 or a fresh url)."""
        assert draft.image is not None
        s = self.settings
        limits = {
            "max_bytes": s.max_image_bytes,
            "timeout": s.media_download_timeout_seconds,
            "retries": s.media_download_retries,
            "backoff": s.media_download_backoff_seconds,
            "policy": self.fetch_policy,
        }
        errors: list[str] = []
        if draft.image.url:
            try:
                return await download(self.http, draft.image.url, **limits)
            except MediaError as exc:
                errors.append(str(exc))
        if draft.image.file:
            self_id = draft.payload.get("self_id")
            try:
                data = await self.caller(int(self_id) if is_id(self_id) else None).call(
                    "get_image", {"file": draft.image.file}
                )
                return await self._bytes_from_get_image(data, limits)
            except (SendError, ActionError, MediaError) as exc:
                errors.append(f"get_image：{exc}")
        raise MediaError("；".join(errors) or "图片消息既没有 url 也没有 file")

    async def _bytes_from_get_image(self, data: Any, limits: dict[str, Any]) -> bytes:
        if not isinstance(data, dict):
            raise MediaError("get_image 返回内容无效")
        if data.get("base64"):
            try:
                raw = base64.b64decode(data["base64"], validate=True)
            except (binascii.Error, ValueError):
                raise MediaError("get_image 返回的 base64 无效") from None
            if len(raw) > limits["max_bytes"]:
                raise MediaError(f"图片过大（上限 {limits['max_bytes']} 字节）")
            return raw
        if str(data.get("url", "")).startswith(("http://", "https://")):
            return await download(self.http, data["url"], **limits)
        raise MediaError("get_image 只返回了实现所在机器上的本地路径，无法读取")

    # -- actions --

    async def _refresh_groups(self) -> None:
        try:
            await self.list_groups()
        except (SendError, ActionError) as exc:
            log.warning("获取 QQ 群列表失败：%s", exc)

    async def list_groups(self) -> list[GroupInfo]:
        data = await self.caller().call("get_group_list", {})
        groups = [
            GroupInfo(str(g["group_id"]), g.get("group_name"), g.get("member_count"))
            for g in data or []
            if isinstance(g, dict) and "group_id" in g
        ]
        self.group_names.update({g.group_id: g.name for g in groups if g.name})
        return groups

    async def member_info(self, group_id: str, user_id: str) -> dict[str, Any]:
        """``get_group_member_info`` for staff tools (card, nickname, role)."""
        data = await self.caller().call(
            "get_group_member_info", {"group_id": int(group_id), "user_id": int(user_id), "no_cache": False}
        )
        return data if isinstance(data, dict) else {}

    async def _send(self, group_id: str, message: list[dict[str, Any]]) -> str | None:
        try:
            data = await self.caller().call("send_group_msg", {"group_id": int(group_id), "message": message})
        except ActionError as exc:  # connected, yet the account cannot send: counted, it may be frozen
            self.record_send(f"QQ 群 {group_id} 发送失败：{exc}")
            raise SendError(self.last_send_error) from exc
        self.record_send(None)
        return str(data["message_id"]) if isinstance(data, dict) and "message_id" in data else None

    async def send_private(self, user_id: str, text: str) -> str | None:
        """A private note (reminders to one unit's contact); NapCat/Lagrange allow it to group members."""
        try:
            data = await self.caller().call(
                "send_private_msg", {"user_id": int(user_id), "message": [text_segment(text)]}
            )
        except ActionError as exc:
            raise SendError(f"QQ 私信 {user_id} 发送失败：{exc}") from exc
        return str(data["message_id"]) if isinstance(data, dict) and "message_id" in data else None

    async def send_text(self, group_id: str, text: str) -> str | None:
        return await self._send(group_id, [text_segment(text)])

    async def send_image(self, group_id: str, png: bytes, caption: str | None = None) -> str | None:
        message = ([text_segment(caption + "\n")] if caption else []) + [image_segment(png)]
        return await self._send(group_id, message)
