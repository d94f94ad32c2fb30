"""WeCom (企业微信) group robot: markdown text, then the chart as an image message (base64 + md5).

Documented limits (群机器人配置说明): markdown ``content`` at most 4096 UTF-8 bytes; an image at most 2 MB
before base64, JPG or PNG; at most 20 messages a minute per robot; ``errcode`` 0 means sent.
"""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

from PIL import Image

from bot.base import SendError
from bot.webhooks.base import Robot, RobotError, split_by_bytes

MARKDOWN_MAX_BYTES = 4096
IMAGE_MAX_BYTES = 2 * 1024 * 1024
RATE_LIMITED = 45009
RATE_LIMIT_WAIT_SECONDS = 60.0


def markdown_chunks(text: str) -> list[str]:
    """The post as WeCom markdown: the 【title】 line in bold, the rest line by line, split to fit 4096 bytes."""
    lines = text.splitlines() or [""]
    lines[0] = f"**{lines[0]}**" if lines[0] else lines[0]
    return split_by_bytes(lines, MARKDOWN_MAX_BYTES, "\n")


def fit_image(png: bytes, limit: int = IMAGE_MAX_BYTES) -> bytes:
    """The chart as sent: the PNG itself, or a JPEG re-encoding when the PNG is over the 2 MB limit."""
    if len(png) <= limit:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    for quality in (85, 70, 55):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() <= limit:
            return buffer.getvalue()
    raise SendError(f"图表图片过大（{len(png)} 字节），企业微信机器人只接收 2 MB 以内的图片")


def image_body(data: bytes) -> dict[str, Any]:
    """``{"msgtype": "image", "image": {"base64", "md5"}}``: md5 of the bytes before base64."""
    return {
        "msgtype": "image",
        "image": {"base64": base64.b64encode(data).decode("ascii"), "md5": hashlib.md5(data).hexdigest()},
    }


class WeComRobot(Robot):
    kind = "wecom"
    label = "企业微信"

    def hints(self) -> dict[Any, str]:
        return {
            RATE_LIMITED: "超过每个机器人每分钟 20 条的限制",
            93000: "Webhook 地址无效：机器人可能已被移出群，或 key 有误",
            40009: "图片大小不符合要求（需 2 MB 以内的 JPG/PNG）",
        }

    async def _send(self, body: dict[str, Any]) -> None:
        """One message; a rate-limit answer waits a minute and tries once more."""
        try:
            await self.post(body)
        except RobotError as exc:
            if exc.errcode != RATE_LIMITED:
                raise
            await self.sleep(RATE_LIMIT_WAIT_SECONDS)
            await self.post(body)

    async def send_text(self, text: str) -> None:
        for chunk in markdown_chunks(text):
            await self._send({"msgtype": "markdown", "markdown": {"content": chunk}})

    async def send_image(self, png: bytes, caption: str | None) -> None:
        if caption:
            await self.send_text(caption)
        await self._send(image_body(fit_image(png)))
