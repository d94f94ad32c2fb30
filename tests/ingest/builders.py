"""Builders for ingest tests: messages as adapters deliver them, and real JPEG photos."""

from __future__ import annotations

import io
import random
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw

from ingest import service as ingest_service
from ingest.schemas import IncomingMessage, MediaContent

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)


def photo(seed: int, size: tuple[int, int] = (320, 240), quality: int = 85) -> bytes:
    """A distinct, real JPEG: random rectangles and ellipses on a random background."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        box = (x0, y0, x0 + rng.randrange(20, 160), y0 + rng.randrange(20, 120))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(box, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def reencoded(data: bytes, scale: float = 0.9, quality: int = 70) -> bytes:
    """The same picture saved again smaller: what a re-post through a phone gallery looks like."""
    image = Image.open(io.BytesIO(data))
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


_counter = iter(range(1, 10**9))


def message(
    *,
    sender: str | None = "u1",
    name: str | None = "长兴县市场监管局-张三",
    at: datetime = T0,
    text: str | None = None,
    image: bytes | None = None,
    kind: str | None = None,
    message_id: str | bool | None = True,
    group: str = "g1",
    platform: str = "wechat",
    **extra: Any,
) -> IncomingMessage:
    """An IncomingMessage like an adapter would hand over."""
    if message_id is True:
        message_id = f"m{next(_counter)}"
    return IncomingMessage(
        platform=platform,
        group_id=group,
        group_name="长兴县各级文明单位工作群",
        sender_id=sender,
        sender_name=name,
        message_id=message_id or None,
        sent_at=at,
        kind=kind or ("image" if image is not None else "text"),
        text=text,
        media=MediaContent(data=image, original_name="IMG_0001.jpg") if image is not None else None,
        **extra,
    )


def assembly_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The messages each ``assemble_pending`` call (one transaction) processes, recorded from now on."""
    batches: list[int] = []
    real = ingest_service.assemble_pending

    def counted(*args: Any, **kwargs: Any) -> Any:
        stats = real(*args, **kwargs)
        batches.append(stats.processed)
        return stats

    monkeypatch.setattr(ingest_service, "assemble_pending", counted)
    return batches
