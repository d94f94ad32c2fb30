"""Finding 6: a photo that cannot be written (disk full, no permission) keeps its raw message with the reason."""

from __future__ import annotations

import errno
import os
import signal
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


def test_a_batch_keeps_each_photo_its_own_outcome_in_order(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    good, broken, unlucky, last = png_bytes("#102030"), b"\xff\xd8\xff" + b"\0" * 64, png_bytes("#405060"), png_bytes()
    unlucky_name = media_store.hashlib.sha256(unlucky).hexdigest()
    write = media_store._write_atomically

    def fails_for_one(target: Path, data: bytes) -> None:
        if target.name.startswith(unlucky_name):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write(target, data)

    monkeypatch.setattr(media_store, "_write_atomically", fails_for_one)
    results = media_store.store_images([good, broken, unlucky, last], settings)
    assert [type(r).__name__ for r in results] == ["StoredImage", "MediaError", "MediaError", "StoredImage"]
    assert "无法解码" in str(results[1]) and "磁盘已满" in str(results[2])
    for stored, data in ((results[0], good), (results[3], last)):
        assert isinstance(stored, media_store.StoredImage)
        assert (settings.media_dir / stored.relative_path).read_bytes() == data  # on disk when the call returns


def test_a_forked_child_writes_photos_with_threads_of_its_own(settings: Settings) -> None:
    media_store.store_images([png_bytes("#010203")], settings)  # the parent's writer threads exist now
    pid = os.fork()
    if pid == 0:  # the child: a pool inherited without its threads would wait for ever
        signal.alarm(20)
        ok = False
        try:
            [stored] = media_store.store_images([png_bytes("#0a0b0c")], settings)
            ok = isinstance(stored, media_store.StoredImage) and (settings.media_dir / stored.relative_path).is_file()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
