"""The outage spool: nothing is lost, order is kept, and entries appended during a drain survive."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.spool import Spool, decode_message, encode_message
from ingest.models import MessageKind, Platform
from ingest.schemas import IncomingMessage, MediaContent


def _message(n: int, media: bytes | None = None) -> IncomingMessage:
    return IncomingMessage(
        platform=Platform.QQ,
        group_id="1",
        sender_id="2",
        sender_name="张三",
        message_id=f"1:{n}",
        sent_at=datetime(2026, 11, 1, 8, 0, n, tzinfo=UTC),
        kind=MessageKind.IMAGE if media else MessageKind.TEXT,
        text=None if media else f"第{n}条",
        media=MediaContent(data=media, original_name="a.png") if media else None,
        payload={"n": n},
    )


def test_binary_media_round_trips_exactly() -> None:
    blob = bytes(range(256)) * 3
    message = _message(1, media=blob)
    assert decode_message(encode_message(message)) == message


def test_keep_only_preserves_entries_appended_after_take(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for n in range(3):
        spool.append({"n": n})
    taken = spool.take()
    spool.append({"n": 3})  # arrives while the drain runs
    spool.keep_only(taken[2:], consumed=2)
    assert spool.take() == [{"n": 2}, {"n": 3}]
    spool.keep_only([], consumed=2)
    assert not spool.pending() and len(spool) == 0
