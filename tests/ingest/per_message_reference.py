"""The per-message store as it was before ``receive_many`` (commit 0c4964c), kept verbatim as the reference.

``tests/ingest/test_receive_many.py`` stores the same deliveries with this and with the set-based batch store and
compares every row: the batch store must end exactly where storing one message at a time used to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import media as media_store
from ingest.models import ChatGroup, Media, Member, MemberName, MessageKind, MessageReason, RawMessage, RawStatus
from ingest.schemas import IncomingMessage, IngestOutcome
from ingest.validation import describe_validation_error, jsonable_payload
from wenming.db import insert_many_ignoring_conflicts, utcnow
from wenming.settings import Settings

CACHE_KEY = "reference.cache"


def _cache(session: Session) -> dict[tuple[Any, ...], Any]:
    """Per-session object cache for groups, members and names: a replay touches the same few rows thousands of
    times, and the identity map alone holds them only weakly."""
    return session.info.setdefault(CACHE_KEY, {})


def insert_ignoring_conflicts(session: Session, model: type[Any], rows: list[dict[str, Any]], key: list[str]) -> Any:
    """The former one-row ``INSERT … ON CONFLICT DO NOTHING RETURNING id``, through the shared primitive."""
    inserted = insert_many_ignoring_conflicts(session, model, rows, key)
    return inserted[0].id if inserted else None


def get_or_create_group(session: Session, platform: str, platform_id: str, name: str | None) -> ChatGroup:
    """The group with this platform id, created if new; safe against a concurrent creator (ON CONFLICT)."""
    cache = _cache(session)
    key = ("group", platform, platform_id)
    group = cache.get(key)
    if group is None:
        where = (ChatGroup.platform == platform, ChatGroup.platform_id == platform_id)
        group = session.scalar(select(ChatGroup).where(*where))
        if group is None:
            row = {"platform": platform, "platform_id": platform_id, "name": name}
            insert_ignoring_conflicts(session, ChatGroup, [row], ["platform", "platform_id"])
            group = session.scalars(select(ChatGroup).where(*where)).one()
    if name and group.name != name:
        group.name = name
    cache[key] = group
    return group


def get_or_create_member(session: Session, platform: str, user_id: str, seen_at: datetime) -> Member:
    """The sender with this platform user id, created if new; safe against a concurrent creator (ON CONFLICT)."""
    cache = _cache(session)
    key = ("member", platform, user_id)
    member = cache.get(key)
    if member is None:
        where = (Member.platform == platform, Member.platform_user_id == user_id)
        member = session.scalar(select(Member).where(*where))
        if member is None:
            row = {"platform": platform, "platform_user_id": user_id, "first_seen_at": seen_at, "last_seen_at": seen_at}
            insert_ignoring_conflicts(session, Member, [row], ["platform", "platform_user_id"])
            member = session.scalars(select(Member).where(*where)).one()
    cache[key] = member
    return member


def record_member_name(session: Session, member: Member, group_id: int, name: str, seen_at: datetime) -> None:
    """Keep every name a member has used, with when it was first and last seen."""
    cache = _cache(session)
    key = ("name", member.id, group_id, name)
    row = cache.get(key)
    if row is None:
        where = (MemberName.member_id == member.id, MemberName.group_id == group_id, MemberName.name == name)
        row = session.scalar(select(MemberName).where(*where))
        if row is None:
            values = {"member_id": member.id, "group_id": group_id, "name": name}
            values |= {"first_seen_at": seen_at, "last_seen_at": seen_at}
            insert_ignoring_conflicts(session, MemberName, [values], ["member_id", "group_id", "name"])
            row = session.scalars(select(MemberName).where(*where)).one()
    row.first_seen_at = min(row.first_seen_at, seen_at)
    row.last_seen_at = max(row.last_seen_at, seen_at)
    cache[key] = row


def find_raw(session: Session, platform: str, group_id: int, message_id: str) -> RawMessage | None:
    return session.scalar(
        select(RawMessage).where(
            RawMessage.platform == platform,
            RawMessage.group_id == group_id,
            RawMessage.platform_message_id == message_id,
        )
    )


def media_by_sha(session: Session, sha256: str) -> Media | None:
    """The media row for these bytes; remembered for the session (a replay posts the same pictures again and again)."""
    cache = _cache(session)
    media = cache.get(("media", sha256))
    if media is None:
        media = session.scalar(select(Media).where(Media.sha256 == sha256))
        if media is not None:
            cache[("media", sha256)] = media
    return media


def insert_raw(session: Session, values: dict[str, Any]) -> int | None:
    """Insert one raw message unless its (platform, group, message id) is stored already; the new id or None.

    ``ON CONFLICT DO NOTHING``: a platform that delivers the same event twice at once (two posters, a retry racing
    the original) gets the stored row back instead of an IntegrityError.
    """
    key = ["platform", "group_id", "platform_message_id"]
    return insert_ignoring_conflicts(session, RawMessage, [values], key)


def get_or_create_media(session: Session, values: dict[str, Any]) -> Media:
    """The media row with this sha256, inserted unless a concurrent writer stored the same bytes first."""
    insert_ignoring_conflicts(session, Media, [values], ["sha256"])
    return session.scalars(select(Media).where(Media.sha256 == values["sha256"])).one()


def record_rejected(
    session: Session, *, payload: Mapping[str, Any], error: str, platform: str = "unknown"
) -> IngestOutcome:
    """Keep input we cannot use, with the reason, so nothing is lost and staff can inspect it."""
    raw = RawMessage(
        platform=str(platform)[:40],
        kind=MessageKind.OTHER.value,
        payload=jsonable_payload(payload),
        status=RawStatus.REJECTED.value,
        error=error,
    )
    session.add(raw)
    session.flush()
    return IngestOutcome(raw_message_id=raw.id, status=raw.status, error=error)


def receive(session: Session, settings: Settings, message: IncomingMessage | Mapping[str, Any]) -> IngestOutcome:
    """Store one delivered message (idempotently) and its image; never raises for bad input."""
    if not isinstance(message, IncomingMessage):
        try:
            message = IncomingMessage.model_validate(message)
        except ValidationError as exc:
            platform = message.get("platform", "unknown") if isinstance(message, Mapping) else "unknown"
            return record_rejected(
                session, payload=message, error=describe_validation_error(exc), platform=str(platform)
            )
    if message.sent_at.tzinfo is None:
        message = message.model_copy(update={"sent_at": message.sent_at.replace(tzinfo=settings.tz)})
    return _store(session, settings, message)


def _store(session: Session, settings: Settings, message: IncomingMessage) -> IngestOutcome:
    """One message in: the raw row is inserted unless already stored (a duplicate reads the stored one).

    Autoflush is off: the members' last-seen updates of a whole batch are written together at its end, instead of
    one UPDATE before every query of every message.
    """
    with session.no_autoflush:
        return _store_unflushed(session, settings, message)


def _store_unflushed(session: Session, settings: Settings, message: IncomingMessage) -> IngestOutcome:
    group = get_or_create_group(session, message.platform.value, message.group_id, message.group_name)
    message_key = message.message_id or _content_key(message)
    sender = _touch_member(session, message, group.id)
    raw: dict[str, Any] = {
        "platform": message.platform.value,
        "group_id": group.id,
        "sender_id": sender.id if sender else None,
        "sender_name": message.sender_name,
        "other_names": _other_names(message) or None,
        "platform_message_id": message_key,
        "recalls_message_id": message.recalls_message_id if message.kind == MessageKind.RECALL else None,
        "sent_at": message.sent_at,
        "kind": message.kind.value,
        "text": message.text,
        "media_id": None,
        "media_ref": (message.media.original_name if message.media else None),
        "payload": jsonable_payload(message.payload),
        "received_at": utcnow(),
        "status": RawStatus.RECEIVED.value,
        "reason": None,
        "error": None,
    }
    error = _check_limits(message, settings)
    if error is None and message.media is not None:
        try:
            raw["media_id"] = _store_media(session, settings, message.media.data).id
        except media_store.MediaError as exc:
            error = str(exc)
    if error is None and message.kind == MessageKind.IMAGE and message.media is None:
        error = f"图片未能保存：{message.media_error}" if message.media_error else "图片消息没有图片内容（下载失败？）"
    if message.from_self:
        raw["status"], raw["reason"] = RawStatus.IGNORED.value, MessageReason.BOT.value  # kept, never reports
    if error is not None:
        raw["status"], raw["error"] = RawStatus.REJECTED.value, error
        if raw["text"] and len(raw["text"]) > settings.max_text_length:
            raw["text"] = raw["text"][: settings.max_text_length]
    raw_id = insert_raw(session, raw)
    if raw_id is None:  # stored before (a redelivery, a replay) or by a concurrent delivery just now: kept once
        existing = find_raw(session, message.platform.value, group.id, message_key)
        assert existing is not None
        return IngestOutcome(raw_message_id=existing.id, duplicate=True, status=existing.status, error=existing.error)
    return IngestOutcome(raw_message_id=raw_id, status=raw["status"], error=raw["error"])


def _check_limits(message: IncomingMessage, settings: Settings) -> str | None:
    if message.text and len(message.text) > settings.max_text_length:
        return f"文本过长：{len(message.text)} 字，上限 {settings.max_text_length} 字（已截断保存原文开头）"
    return None


def _content_key(message: IncomingMessage) -> str:
    """A stable id for platforms without message ids: who, where, when and what."""
    digest = hashlib.sha256()
    for part in (
        message.group_id,
        message.sender_id or "",
        message.sent_at.isoformat(),
        message.kind.value,
        message.text or "",
    ):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    if message.media is not None:
        digest.update(hashlib.sha256(message.media.data).digest())
    if message.recalls_message_id is not None:  # two id-less recalls in one second are two recalls
        digest.update(message.recalls_message_id.encode("utf-8"))
    return "h:" + digest.hexdigest()[:40]


def _other_names(message: IncomingMessage) -> list[str]:
    """The sender's other names, without blanks and repeats of the display name."""
    names: list[str] = []
    for name in message.other_names:
        name = name.strip()
        if name and name != message.sender_name and name not in names:
            names.append(name)
    return names


def _touch_member(session: Session, message: IncomingMessage, group_id: int) -> Member | None:
    if message.sender_id is None:
        return None
    member = get_or_create_member(session, message.platform.value, message.sender_id, message.sent_at)
    if message.sent_at >= member.last_seen_at:
        member.last_seen_at = message.sent_at
        if message.sender_name:
            member.display_name = message.sender_name
    member.first_seen_at = min(member.first_seen_at, message.sent_at)
    for name in (message.sender_name, *_other_names(message)):
        if name:
            record_member_name(session, member, group_id, name, message.sent_at)
    return member


def _store_media(session: Session, settings: Settings, data: bytes) -> Media:
    """The media row for these bytes: looked up by sha256 first, so bytes stored before are never decoded again."""
    known = media_by_sha(session, hashlib.sha256(data).hexdigest())
    if known is not None and len(data) <= settings.max_image_bytes and media_store.file_present(known.path, settings):
        return known
    stored = media_store.store_image(data, settings)
    if known is not None:
        return known
    values = {
        "sha256": stored.sha256,
        "phash": stored.phash,
        "path": stored.relative_path,
        "mime": stored.mime,
        "bytes": stored.size,
        "width": stored.width,
        "height": stored.height,
    }
    return get_or_create_media(session, values)
