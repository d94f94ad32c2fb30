"""Test doubles at the adapter boundary, and small helpers shared by the bot tests."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from ingest.schemas import IncomingMessage


class RecordingSink:
    """Stands in for ingest where a test is about wire shapes: keeps what the adapter hands over."""

    def __init__(self) -> None:
        self.messages: list[IncomingMessage] = []
        self.rejected: list[tuple[dict[str, Any], str, str]] = []

    async def deliver(self, message: IncomingMessage) -> None:
        self.messages.append(message)

    async def reject(self, payload: dict[str, Any], error: str, platform: str) -> None:
        self.rejected.append((payload, error, platform))


def png_bytes(color: str = "red", size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()
