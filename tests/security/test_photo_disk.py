"""Finding 6: a photo that cannot be written (disk full, no permission) keeps its raw message with the reason."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sink import IngestSink
from ingest import media as media_store
from ingest.models import MessageKind, Platform, RawMessage
from ingest.schemas import IncomingMessage, MediaContent
from tests.bot.fakes import png_bytes
from wenming.settings import Settings

START = datetime(2026, 10, 9, 9, 0, tzinfo=UTC)
PHOTOS = 20


def _burst(count: int) -> list[IncomingMessage]:
    """One unit's post: a text, then ``count`` distinct photos."""
    base = {"platform": Platform.QQ, "group_id": "9001", "sender_id": "555", "sender_name": "县图书馆-赵"}
    text = IncomingMessage(**base, message_id="t", sent_at=START, kind=MessageKind.TEXT, text="县图书馆开展读书会活动")
    photos = [
        IncomingMessage(
            **base,
            message_id=f"p{i}",
            sent_at=START + timedelta(seconds=i + 1),
            kind=MessageKind.IMAGE,
            media=MediaContent(data=png_bytes(f"#{i:02x}30{i:02x}", (40 + i, 30)), original_name=f"{i}.png"),
        )
        for i in range(count)
    ]
    return [text, *photos]


def _deliver_all(sink: IngestSink) -> dict[str, RawMessage]:
    for message in _burst(PHOTOS):
        sink.deliver_sync(message)  # must not raise
    with sink.factory() as session:
        return {r.platform_message_id: r for r in session.scalars(select(RawMessage))}


def test_a_full_disk_keeps_every_photo_message_with_the_reason(
    sink: IngestSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(media_store.tempfile, "mkstemp", disk_full)
    stored = _deliver_all(sink)
    assert len(stored) == 1 + PHOTOS  # sent 21, stored 21, lost 0
    assert stored["t"].status != "rejected"
    photos = [stored[f"p{i}"] for i in range(PHOTOS)]
    assert all(p.status == "rejected" and "磁盘已满" in (p.error or "") for p in photos)
    assert all(p.media_id is None for p in photos)


def test_an_unwritable_media_dir_keeps_the_photo_message(
    committed_factory: object, live_settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the media directory should be")
    broken = live_settings.model_copy(update={"media_dir": blocker / "media"})
    sink = IngestSink(committed_factory, broken)  # type: ignore[arg-type]
    stored = _deliver_all(sink)
    assert len(stored) == 1 + PHOTOS
    assert all(
        stored[f"p{i}"].status == "rejected" and "图片未能保存" in (stored[f"p{i}"].error or "") for i in range(PHOTOS)
    )


def test_no_permission_is_named_as_such(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    def denied(*args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(media_store.tempfile, "mkstemp", denied)
    with pytest.raises(media_store.MediaError, match="写入权限"):
        media_store.store_image(png_bytes(), settings)
