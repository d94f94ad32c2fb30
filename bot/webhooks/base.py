"""What the official robots share: a JSON POST through an injected client, errcode checks, a per-robot rate limit."""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.base import SendError
from wenming.settings import PostWebhook

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """At most ``limit`` sends in any ``window`` seconds; a full window waits, it never drops a message."""

    def __init__(
        self,
        limit: int = 20,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limit, self.window = limit, window
        self.clock, self.sleep = clock, sleep
        self.sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                while self.sent and now - self.sent[0] >= self.window:
                    self.sent.popleft()
                if len(self.sent) < self.limit:
                    self.sent.append(now)
                    return
                await self.sleep(self.window - (now - self.sent[0]))


class RobotError(SendError):
    """The robot answered with a non-zero ``errcode`` (HTTP 200 does not mean it was sent)."""

    def __init__(self, message: str, errcode: Any = None) -> None:
        super().__init__(message)
        self.errcode = errcode


class Robot(abc.ABC):
    """One group robot webhook; the URL carries its key, so it never appears in errors or logs."""

    kind: str
    label: str  # 企业微信 / 钉钉
    max_per_minute = 20

    def __init__(
        self,
        name: str,
        config: PostWebhook,
        http: httpx.AsyncClient,
        *,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 15.0,
    ) -> None:
        self.name = name
        self.config = config
        self.http = http
        self.sleep = sleep
        self.timeout = timeout
        self.limiter = limiter or RateLimiter(self.max_per_minute, 60.0, sleep=sleep)
        self.last_error: str | None = None

    def where(self) -> str:
        return f"{self.label}机器人「{self.name}」"

    def url(self) -> str:
        """The address to POST to (DingTalk appends its signature here)."""
        return self.config.url.get_secret_value()

    async def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send one message; raises ``SendError`` with a Chinese reason unless ``errcode`` is 0."""
        await self.limiter.acquire()
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            response = await self.http.post(
                self.url(),
                content=content,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:  # the message of some errors repeats the URL: name the kind only
            raise self._failed(f"无法连接（{type(exc).__name__}）") from None
        if response.status_code != 200:
            raise self._failed(f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise self._failed("返回内容不是 JSON") from None
        if not isinstance(data, dict) or "errcode" not in data:
            raise self._failed("返回内容缺少 errcode")
        if data["errcode"] != 0:
            raise RobotError(self._explain(data["errcode"], str(data.get("errmsg", ""))[:200]), data["errcode"])
        self.last_error = None
        return data

    def _failed(self, why: str) -> SendError:
        self.last_error = f"{self.where()}发送失败：{why}"
        return SendError(self.last_error)

    def _explain(self, errcode: Any, errmsg: str) -> str:
        hint = self.hints().get(errcode, "")
        self.last_error = f"{self.where()}发送失败：errcode={errcode} {errmsg}" + (f"（{hint}）" if hint else "")
        return self.last_error

    @abc.abstractmethod
    def hints(self) -> dict[Any, str]:
        """Chinese explanations of the documented error codes."""

    @abc.abstractmethod
    async def send_text(self, text: str) -> None:
        """Post the text (as markdown) to the robot's group."""

    @abc.abstractmethod
    async def send_image(self, png: bytes, caption: str | None) -> None:
        """Post the caption and the chart the way this robot can."""


class RobotChannel:
    """The post target for one kind of robot: ``group_id`` is the robot's configured name."""

    def __init__(self, kind: str, robots: dict[str, Robot]) -> None:
        self.kind = kind
        self.robots = robots

    def _robot(self, name: str) -> Robot:
        robot = self.robots.get(name)
        if robot is None:
            label = {"wecom": "企业微信", "dingtalk": "钉钉"}[self.kind]
            raise SendError(f"未配置名为「{name}」的{label}机器人（WENMING_POST_WEBHOOKS）")
        return robot

    async def send_text(self, group_id: str, text: str) -> str | None:
        await self._robot(group_id).send_text(text)
        return None  # robots return no message id

    async def send_image(self, group_id: str, png: bytes, caption: str | None = None) -> str | None:
        await self._robot(group_id).send_image(png, caption)
        return None


def split_by_bytes(lines: list[str], limit: int, sep: str) -> list[str]:
    """Join lines into chunks of at most ``limit`` UTF-8 bytes, cutting only between lines where possible."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        for piece in _cut(line, limit):
            candidate = f"{current}{sep}{piece}" if current else piece
            if len(candidate.encode("utf-8")) <= limit:
                current = candidate
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def _cut(line: str, limit: int) -> list[str]:
    """A single line longer than the limit, cut at character boundaries."""
    if len(line.encode("utf-8")) <= limit:
        return [line]
    pieces, current = [], ""
    for char in line:
        if len((current + char).encode("utf-8")) > limit:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current]
