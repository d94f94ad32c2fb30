"""DingTalk (钉钉) custom robot: markdown, signed with the robot's 加签 secret.

Signature (自定义机器人安全设置·加签): ``sign = urlencode(base64(HMAC-SHA256(key=secret,
msg=f"{timestamp}\\n{secret}")))`` with ``timestamp`` in milliseconds (within an hour of DingTalk's clock), both
appended to the webhook URL as ``&timestamp=…&sign=…``. A custom robot cannot upload an image: the chart is linked
in the markdown (``![](url)``) when the office serves charts at ``WENMING_POST_PUBLIC_BASE_URL``, else the post is
text only. At most 20 messages a minute per robot (more is throttled for 10 minutes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from bot.webhooks.base import Robot, split_by_bytes

# DingTalk documents no byte limit for markdown; posts are split well below what robots are known to accept.
MARKDOWN_MAX_BYTES = 4000
TITLE_MAX_CHARS = 64


def sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value, URL-encoded as DingTalk's own examples do (``quote_plus``)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def markdown_messages(text: str, chart_url: str | None = None) -> list[dict[str, Any]]:
    """The post as DingTalk markdown bodies; every line ends in two spaces so DingTalk keeps the line break."""
    lines = text.splitlines() or [""]
    first = lines[0].strip()
    bracketed = first.startswith("【") and "】" in first
    title = (first[1 : first.index("】")] if bracketed else first)[:TITLE_MAX_CHARS] or "文明办通知"
    body = [f"#### {lines[0]}", *lines[1:]]
    if chart_url:
        body.append(f"![{title}]({chart_url})")
    chunks = split_by_bytes(body, MARKDOWN_MAX_BYTES, "  \n")
    return [{"msgtype": "markdown", "markdown": {"title": title, "text": chunk}} for chunk in chunks]


class DingTalkRobot(Robot):
    kind = "dingtalk"
    label = "钉钉"

    def __init__(
        self,
        *args: Any,
        clock: Callable[[], float] = time.time,
        chart_link: Callable[[bytes], str | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.chart_link = chart_link

    def url(self) -> str:
        base = super().url()
        if self.config.secret is None:
            return base
        timestamp = int(self.clock() * 1000)
        return f"{base}&timestamp={timestamp}&sign={sign(self.config.secret.get_secret_value(), timestamp)}"

    def hints(self) -> dict[Any, str]:
        return {
            310000: "安全设置校验未通过：加签密钥、关键词或 IP 白名单与机器人设置不符",
            410100: "发送太频繁，钉钉已限流约 10 分钟",
            300001: "access_token 无效：机器人可能已被删除",
        }

    async def send_text(self, text: str) -> None:
        for body in markdown_messages(text):
            await self.post(body)

    async def send_image(self, png: bytes, caption: str | None) -> None:
        link = self.chart_link(png) if self.chart_link is not None else None
        for body in markdown_messages(caption or "", link):
            await self.post(body)
