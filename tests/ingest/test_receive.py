"""Storing raw messages: idempotent, and bad input is refused clearly but kept."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import service
from ingest.models import Media, RawMessage, RawStatus
from tests.ingest.builders import T0, message, photo
from wenming.settings import Settings


def _raw_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(RawMessage)) or 0


def test_same_message_delivered_three_times_is_one_row(session: Session, settings: Settings) -> None:
    msg = message(text="今天开展文明实践活动", message_id="wx-1001")
    outcomes = [service.receive(session, settings, msg) for _ in range(3)]
    assert [o.duplicate for o in outcomes] == [False, True, True]
    assert {o.raw_message_id for o in outcomes} == {outcomes[0].raw_message_id}
    assert _raw_count(session) == 1


def test_messages_without_ids_are_deduplicated_by_content_and_time(session: Session, settings: Settings) -> None:
    first = service.receive(session, settings, message(text="收到", message_id=False))
    again = service.receive(session, settings, message(text="收到", message_id=False))
    later = service.receive(session, settings, message(text="收到", message_id=False, at=T0.replace(minute=1)))
    assert again.duplicate and again.raw_message_id == first.raw_message_id
    assert not later.duplicate
    assert _raw_count(session) == 2


def test_same_message_id_in_two_groups_is_two_messages(session: Session, settings: Settings) -> None:
    service.receive(session, settings, message(text="a", message_id="1", group="g1"))
    service.receive(session, settings, message(text="b", message_id="1", group="g2"))
    assert _raw_count(session) == 2


def test_image_is_stored_content_addressed_under_media_dir(session: Session, settings: Settings) -> None:
    data = photo(1)
    outcome = service.receive(session, settings, message(image=data))
    raw = session.get(RawMessage, outcome.raw_message_id)
    assert raw is not None and raw.media_id is not None
    media = session.get(Media, raw.media_id)
    assert media is not None and media.mime == "image/jpeg" and (media.width, media.height) == (320, 240)
    stored = settings.media_dir / media.path
    assert stored.read_bytes() == data
    assert stored.resolve().is_relative_to(settings.media_dir.resolve())
    assert len(media.phash or "") == 16


def test_missing_fields_are_rejected_with_a_clear_error_and_kept(session: Session, settings: Settings) -> None:
    outcome = service.receive(session, settings, {"platform": "qq", "text": "今天的活动"})
    assert outcome.status == RawStatus.REJECTED
    assert "缺少字段 group_id" in (outcome.error or "") and "sent_at" in (outcome.error or "")
    raw = session.get(RawMessage, outcome.raw_message_id)
    assert raw is not None and raw.payload["text"] == "今天的活动"


def test_unknown_platform_is_rejected_and_kept(session: Session, settings: Settings) -> None:
    payload = message(text="hi").model_dump(mode="json") | {"platform": "line"}
    outcome = service.receive(session, settings, payload)
    assert outcome.status == RawStatus.REJECTED
    assert "未知平台 'line'" in (outcome.error or "")
    raw = session.get(RawMessage, outcome.raw_message_id)
    assert raw is not None and raw.platform == "line"


def test_ten_megabyte_text_is_rejected_and_a_prefix_kept(session: Session, settings: Settings) -> None:
    huge = "志" * (10 * 1024 * 1024)
    outcome = service.receive(session, settings, message(text=huge))
    assert outcome.status == RawStatus.REJECTED
    assert "文本过长" in (outcome.error or "")
    raw = session.get(RawMessage, outcome.raw_message_id)
    assert raw is not None and raw.text is not None and len(raw.text) == settings.max_text_length


def test_non_image_bytes_named_jpg_are_rejected_and_nothing_written(session: Session, settings: Settings) -> None:
    outcome = service.receive(session, settings, message(image=b"MZ\x90\x00 this is an exe"))
    assert outcome.status == RawStatus.REJECTED
    assert "不是可识别的图片" in (outcome.error or "")
    assert not settings.media_dir.exists() or not any(p.is_file() for p in settings.media_dir.rglob("*"))


def test_truncated_jpeg_is_rejected(session: Session, settings: Settings) -> None:
    outcome = service.receive(session, settings, message(image=photo(2)[:300]))
    assert outcome.status == RawStatus.REJECTED and "无法解码" in (outcome.error or "")


def test_empty_download_is_recorded_as_a_failure(session: Session, settings: Settings) -> None:
    outcome = service.receive(session, settings, message(image=b""))
    assert outcome.status == RawStatus.REJECTED and "为空" in (outcome.error or "")


def test_sender_file_name_is_never_used_as_a_path(session: Session, settings: Settings, tmp_path: Path) -> None:
    msg = message(image=photo(3))
    msg = msg.model_copy(update={"media": msg.media.model_copy(update={"original_name": "../../etc/passwd"})})
    outcome = service.receive(session, settings, msg)
    assert outcome.status == RawStatus.RECEIVED
    raw = session.get(RawMessage, outcome.raw_message_id)
    assert raw is not None and raw.media_ref == "../../etc/passwd"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all(p.resolve().is_relative_to(settings.media_dir.resolve()) for p in written)
    assert not any(p.name == "passwd" for p in written)


def test_record_rejected_keeps_unparseable_input(session: Session) -> None:
    outcome = service.record_rejected(session, payload={"line": "{not json"}, error="第 3 行不是有效的 JSON")
    raw = session.get(RawMessage, outcome.raw_message_id)
    assert raw is not None and raw.status == RawStatus.REJECTED and raw.payload == {"line": "{not json"}


def test_naive_times_are_read_in_office_time_zone(session: Session, settings: Settings) -> None:
    naive = message(text="x", at=T0.replace(tzinfo=None))
    raw = session.get(RawMessage, service.receive(session, settings, naive).raw_message_id)
    assert raw is not None and raw.sent_at == T0
