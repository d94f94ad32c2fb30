"""A OneBot v11 implementation stand-in: dials our reverse WebSocket, replays traffic, answers actions.

It lets a newcomer watch live capture without a QQ account, and lets tests run the real endpoint end to end.
Traffic is JSONL: raw OneBot events (lines with ``post_type``) or demo records
(``platform, group_id, group_name, sender_id, sender_name, message_id, sent_at, kind, text|image``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import websockets
from PIL import Image, ImageDraw

log = logging.getLogger(__name__)

DEFAULT_SELF_ID = 2854196310
BUILTIN_GROUP = (650433512, "长兴县文明单位管理群")
BUILTIN_POSTS: list[tuple[int, str, str, int]] = [  # user id, group card, text, photos
    (3046085319, "长兴移动 萧秀", "今天上午，我公司志愿者在太湖社区开展反诈宣传志愿服务，发放宣传资料200余份。", 2),
    (869088082, "长兴中学 徐娜芬", "我校组织师生到敬老院开展“敬老爱老”志愿服务活动，参与师生30人。", 1),
    (1500012345, "县医院 王医生", "县人民医院医务人员走进雉城街道开展义诊活动，服务群众150人次。", 2),
    (1500012399, "县文明办-小郑", "请各单位及时上报本月文明实践活动。", 0),
    (2200012345, "县税务局 陈", "县税务局青年志愿者到结对村开展“文明乡风”宣讲活动。", 1),
]


def demo_photo(seed: str, size: tuple[int, int] = (320, 240)) -> bytes:
    """A distinct JPEG per seed (shapes, not flat colour, so near-duplicate detection does not fire)."""
    digest = hashlib.sha256(seed.encode()).digest()
    image = Image.new("RGB", size, (digest[0], digest[1], digest[2]))
    draw = ImageDraw.Draw(image)
    for i in range(8):
        b = digest[(i * 4) % 32 : (i * 4) % 32 + 4]
        x, y = b[0] * size[0] // 256, b[1] * size[1] // 256
        w, h = 20 + b[2] % 120, 20 + b[3] % 90
        draw.rectangle((x, y, x + w, y + h), fill=(b[3], b[0], b[1]))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


@dataclass
class Traffic:
    """Events to replay plus the image bytes ``get_image`` must answer with."""

    events: list[dict[str, Any]]
    images: dict[str, bytes] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)


def builtin_traffic(self_id: int, now: float | None = None) -> Traffic:
    """A few reports posted 'now' in the demo QQ group."""
    now = now or time.time()
    traffic = Traffic(events=[], groups={BUILTIN_GROUP[0]: BUILTIN_GROUP[1]})
    ids = itertools.count(int(now) % 1_000_000 * 10)
    for n, (user_id, card, text, photos) in enumerate(BUILTIN_POSTS):
        sent = int(now) - (len(BUILTIN_POSTS) - n) * 60
        segments: list[dict[str, Any]] = [{"type": "text", "data": {"text": text}}]
        traffic.events.append(_event(self_id, BUILTIN_GROUP[0], user_id, card, next(ids), sent, segments))
        for p in range(photos):
            name = f"{user_id}-{sent}-{p}.image"
            traffic.images[name] = demo_photo(name)
            image = [{"type": "image", "data": {"file": name, "subType": 0}}]
            traffic.events.append(_event(self_id, BUILTIN_GROUP[0], user_id, card, next(ids), sent + 5 + p, image))
    return traffic


def _event(
    self_id: int, group_id: int, user_id: int, card: str, message_id: int, sent: int, segments: list[dict[str, Any]]
) -> dict[str, Any]:
    raw = "".join(
        s["data"]["text"] if s["type"] == "text" else f"[CQ:{s['type']},file={s['data'].get('file', '')}]"
        for s in segments
    )
    return {
        "time": sent,
        "self_id": self_id,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": message_id,
        "group_id": group_id,
        "user_id": user_id,
        "anonymous": None,
        "message": segments,
        "raw_message": raw,
        "font": 0,
        "sender": {"user_id": user_id, "nickname": (card.split() or [""])[-1], "card": card, "role": "member"},
    }


def load_traffic(path: Path, self_id: int, limit: int | None = None) -> Traffic:
    """Read a JSONL traffic file: OneBot events as they are, QQ demo records converted to events."""
    traffic = Traffic(events=[])
    for line in _lines(path):
        if limit is not None and len(traffic.events) >= limit:
            break
        record = json.loads(line)
        if "post_type" in record:
            traffic.events.append(record | {"self_id": self_id})
            continue
        if record.get("platform") != "qq":
            continue  # the simulator stands in for a QQ bot only
        group_id = int(record["group_id"])
        traffic.groups[group_id] = record.get("group_name") or str(group_id)
        sent = int(datetime.fromisoformat(record["sent_at"]).timestamp())
        traffic.events.append(_record_event(record, path, traffic, self_id, group_id, sent))
    return traffic


def _record_event(
    record: dict[str, Any], path: Path, traffic: Traffic, self_id: int, group_id: int, sent: int
) -> dict[str, Any]:
    """A demo record as the OneBot message event an implementation would push for it."""
    kind, message_id = record.get("kind"), int(record["message_id"])
    if kind == "recall":
        recalled = str(record.get("recalls_message_id") or message_id)
        return {
            "time": sent,
            "self_id": self_id,
            "post_type": "notice",
            "notice_type": "group_recall",
            "group_id": group_id,
            "user_id": int(record.get("sender_id") or 0),
            "operator_id": int(record.get("sender_id") or 0),
            "message_id": int(recalled) if recalled.isdigit() else 0,
        }
    if kind == "system" or not record.get("sender_id"):
        event = _event(self_id, group_id, 10000, "", message_id, sent, [_text(record.get("text") or "")])
        return event | {"sub_type": "notice"}
    if kind == "image" and record.get("image"):
        name = str(record.get("image_name") or Path(record["image"]).name)
        traffic.images[name] = (path.parent / record["image"]).read_bytes()
        segments = [{"type": "image", "data": {"file": name, "subType": 0}}]
    elif kind == "sticker":  # as NapCat sends a QQ market sticker
        segments = [
            {"type": "mface", "data": {"emoji_id": "3a4b5c", "emoji_package_id": "230", "summary": "[动画表情]"}}
        ]
    elif kind == "other":
        segments = [{"type": "face", "data": {"id": "178"}}]  # a QQ face alone
    else:
        segments = [_text(record.get("text") or "")]
    card = record.get("sender_name") or str(record["sender_id"])
    event = _event(self_id, group_id, int(record["sender_id"]), card, message_id, sent, segments)
    return event | ({"raw_message": record.get("text") or "[表情]"} if kind in ("other", "sticker") else {})


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "data": {"text": text}}


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        yield from (line for line in handle if line.strip())


class OneBotSimulator:
    """Connects like NapCat's reverse WebSocket client (Universal role) and plays ``traffic``."""

    def __init__(
        self,
        url: str,
        traffic: Traffic,
        *,
        self_id: int = DEFAULT_SELF_ID,
        access_token: str | None = None,
        interval: float = 0.5,
        heartbeat_ms: int = 5000,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        on_sent: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.url = url
        self.traffic = traffic
        self.self_id = self_id
        self.access_token = access_token
        self.interval = interval
        self.heartbeat_ms = heartbeat_ms
        self.on_event = on_event or (lambda e: None)
        self.on_sent = on_sent or (lambda m: None)
        self.sent: list[dict[str, Any]] = []
        self._message_ids = itertools.count(900_000)

    async def run(self, *, linger: float = 1.0, stop: asyncio.Event | None = None) -> None:
        """Replay every event, keep answering actions for ``linger`` seconds (or until ``stop``), then leave."""
        headers = {"X-Self-ID": str(self.self_id), "X-Client-Role": "Universal", "User-Agent": "WenmingSimulator"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        async with websockets.connect(self.url, additional_headers=headers, max_size=32 * 2**20) as ws:
            reader = asyncio.create_task(self._answer_actions(ws))
            beats = asyncio.create_task(self._heartbeats(ws))
            try:
                await ws.send(json.dumps(self._meta("lifecycle", sub_type="connect")))
                for event in self.traffic.events:
                    await ws.send(json.dumps(event, ensure_ascii=False))
                    self.on_event(event)
                    await asyncio.sleep(self.interval)
                waiter = asyncio.ensure_future(stop.wait() if stop is not None else asyncio.sleep(linger))
                await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)  # or the server left
                waiter.cancel()
            finally:
                beats.cancel()
                reader.cancel()

    def _meta(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "time": int(time.time()),
            "self_id": self.self_id,
            "post_type": "meta_event",
            "meta_event_type": kind,
        } | fields

    async def _heartbeats(self, ws: Any) -> None:
        while True:
            status = {"online": True, "good": True}
            await ws.send(json.dumps(self._meta("heartbeat", status=status, interval=self.heartbeat_ms)))
            await asyncio.sleep(self.heartbeat_ms / 1000)

    async def _answer_actions(self, ws: Any) -> None:
        async for text in ws:
            request = json.loads(text)
            data, ok = self.answer(request.get("action", ""), request.get("params") or {})
            reply = {"status": "ok" if ok else "failed", "retcode": 0 if ok else 100, "data": data}
            await ws.send(json.dumps(reply | {"echo": request.get("echo")}, ensure_ascii=False))

    def answer(self, action: str, params: dict[str, Any]) -> tuple[Any, bool]:
        """What a OneBot implementation would return for the actions Wenming uses."""
        if action == "get_group_list":
            groups = self.traffic.groups or {BUILTIN_GROUP[0]: BUILTIN_GROUP[1]}
            return [
                {"group_id": g, "group_name": n, "member_count": 0, "max_member_count": 500} for g, n in groups.items()
            ], True
        if action == "get_image":
            data = self.traffic.images.get(str(params.get("file")))
            if data is None:
                return None, False
            return {"file": f"/onebot/cache/{params.get('file')}", "base64": base64.b64encode(data).decode()}, True
        if action == "get_group_member_info":
            return {
                "group_id": params.get("group_id"),
                "user_id": params.get("user_id"),
                "card": "",
                "role": "member",
            }, True
        if action == "get_login_info":
            return {"user_id": self.self_id, "nickname": "文明办机器人"}, True
        if action == "send_group_msg":
            message_id = next(self._message_ids)
            sent = {"group_id": params.get("group_id"), "message": params.get("message"), "message_id": message_id}
            self.sent.append(sent)
            self.on_sent(sent)
            return {"message_id": message_id}, True
        return None, False
