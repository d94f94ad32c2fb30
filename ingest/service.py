"""Ingest entry points: store every message first, then assemble reports and attribute them to units."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy.orm import Session

from ingest import media as media_store
from ingest import repository
from ingest.assembly import Assembler, AssemblyStats
from ingest.models import ChatGroup, Member, MessageKind, MessageReason, RawMessage, RawStatus, Report, Unit
from ingest.resolution import UnitMatcher
from ingest.schemas import ANONYMOUS_PREFIX, IncomingMessage, IngestOutcome
from ingest.triage import triage_text
from ingest.validation import describe_validation_error, jsonable_payload
from wenming import audit, versions
from wenming.audit import AuditKind
from wenming.db import utcnow
from wenming.errors import Conflict, DomainError, NotFound
from wenming.settings import Settings

ReportHook = Callable[[Session, Report], object]


class IngestError(DomainError):
    """A staff action on ingest data that cannot be done; the message is Chinese."""


@dataclass(frozen=True)
class Rejected:
    """Input already known to be unusable (a line that did not parse): kept as a rejected row with its reason."""

    payload: Any
    error: str
    platform: str = "unknown"


Receivable = IncomingMessage | Mapping[str, Any] | Rejected

_RAW_COLUMNS = (
    "platform", "group_id", "sender_id", "sender_name", "other_names", "platform_message_id", "recalls_message_id",
    "sent_at", "kind", "text", "media_id", "media_ref", "payload", "received_at", "status", "reason", "error",
)  # fmt: skip


def record_rejected(
    session: Session, *, payload: Mapping[str, Any], error: str, platform: str = "unknown"
) -> IngestOutcome:
    """Keep input we cannot use, with the reason, so nothing is lost and staff can inspect it."""
    return _insert_raws(session, [_rejected_row(payload, error, platform)])[0]


def receive(session: Session, settings: Settings, message: IncomingMessage | Mapping[str, Any]) -> IngestOutcome:
    """Store one delivered message (idempotently) and its image; never raises for bad input."""
    return receive_many(session, settings, [message])[0]


def receive_many(session: Session, settings: Settings, messages: Sequence[Receivable]) -> list[IngestOutcome]:
    """Store a batch of delivered messages with a handful of statements whatever its size; never raises for bad input.

    The rows, their order (ids) and the outcomes are those of storing the messages one by one: groups, members and
    names are inserted-or-read in bulk, each distinct new image is decoded once, and the raw messages go in with
    one multi-row insert that skips those stored before (a duplicate within the batch answers like its first copy).

    Autoflush is off: the members' last-seen updates of the batch are flushed together at its end, instead of one
    UPDATE before every query.
    """
    items = [_prepare(item, settings) for item in messages]
    with session.no_autoflush:
        incoming = [item for item in items if isinstance(item, IncomingMessage)]
        groups = _touch_groups(session, incoming)
        members = _touch_members(session, incoming, groups)
        media = _store_media(session, settings, incoming)
        rows = [_raw_row(item, settings, groups, members, media) if isinstance(item, IncomingMessage) else item
                for item in items]  # fmt: skip
        outcomes = _insert_raws(session, rows)
    session.flush()  # the batch's member, name and group updates, together
    return outcomes


def _prepare(item: Receivable, settings: Settings) -> IncomingMessage | dict[str, Any]:
    """A validated message with an aware time, or the rejected row of input that cannot be one."""
    if isinstance(item, Rejected):
        return _rejected_row(item.payload, item.error, item.platform)
    if not isinstance(item, IncomingMessage):
        try:
            item = IncomingMessage.model_validate(item)
        except ValidationError as exc:
            platform = item.get("platform", "unknown") if isinstance(item, Mapping) else "unknown"
            return _rejected_row(item, describe_validation_error(exc), str(platform))
    if item.sent_at.tzinfo is None:
        item = item.model_copy(update={"sent_at": item.sent_at.replace(tzinfo=settings.tz)})
    return item


def _rejected_row(payload: Any, error: str, platform: str) -> dict[str, Any]:
    values = {"platform": str(platform)[:40], "kind": MessageKind.OTHER.value, "payload": jsonable_payload(payload)}
    values |= {"received_at": utcnow(), "status": RawStatus.REJECTED.value, "error": error}
    return {name: values.get(name) for name in _RAW_COLUMNS}


def _raw_row(
    message: IncomingMessage,
    settings: Settings,
    groups: Mapping[tuple[str, str], ChatGroup],
    members: Mapping[tuple[str, str], Member],
    media: Mapping[str, int | media_store.MediaError],
) -> dict[str, Any]:
    """The raw_messages row of one message: received, ignored (the bot's own) or rejected with the reason."""
    sender = members.get((message.platform.value, message.sender_id)) if message.sender_id is not None else None
    raw: dict[str, Any] = {
        "platform": message.platform.value,
        "group_id": groups[(message.platform.value, message.group_id)].id,
        "sender_id": sender.id if sender else None,
        "sender_name": message.sender_name,
        "other_names": _other_names(message) or None,
        "platform_message_id": message_key(message),
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
        stored = media[message.media.sha256]
        if isinstance(stored, media_store.MediaError):
            error = str(stored)
        else:
            raw["media_id"] = stored
    if error is None and message.kind == MessageKind.IMAGE and message.media is None:
        error = f"图片未能保存：{message.media_error}" if message.media_error else "图片消息没有图片内容（下载失败？）"
    if message.from_self:
        raw["status"], raw["reason"] = RawStatus.IGNORED.value, MessageReason.BOT.value  # kept, never reports
    if error is not None:
        raw["status"], raw["error"] = RawStatus.REJECTED.value, error
        if raw["text"] and len(raw["text"]) > settings.max_text_length:
            raw["text"] = raw["text"][: settings.max_text_length]
    return {name: raw[name] for name in _RAW_COLUMNS}  # one column order for the batch's multi-row insert


def _raw_key(row: Mapping[str, Any]) -> tuple[str, int, str] | None:
    """(platform, group id, platform message id): a message's identity; None for rejected input without a group."""
    if row["group_id"] is None or row["platform_message_id"] is None:
        return None
    return (row["platform"], row["group_id"], row["platform_message_id"])


def _insert_raws(session: Session, rows: list[dict[str, Any]]) -> list[IngestOutcome]:
    """Insert the rows not stored before (one multi-row statement); a duplicate answers with the stored row.

    A row whose key is stored already (a redelivery, a replay, a concurrent delivery just now) or appears earlier
    in the same batch is kept once, exactly as when the messages arrive one by one.
    """
    first: dict[tuple[str, int, str], int] = {}
    fresh: list[int] = []  # indexes of the rows to insert, in order
    for index, row in enumerate(rows):
        key = _raw_key(row)
        if key is None or key not in first:
            fresh.append(index)
            if key is not None:
                first[key] = index
    inserted = repository.insert_raws(session, [rows[index] for index in fresh])
    by_key = {(platform, group_id, message_id): raw_id for raw_id, platform, group_id, message_id in inserted}
    keyless = iter(sorted(raw_id for raw_id, _, group_id, message_id in inserted if group_id is None))  # id order
    outcomes: dict[int, IngestOutcome] = {}
    for index in fresh:
        key = _raw_key(rows[index])
        raw_id = next(keyless) if key is None else by_key.get(key)
        if raw_id is not None:
            outcomes[index] = IngestOutcome(
                raw_message_id=raw_id, status=rows[index]["status"], error=rows[index]["error"]
            )
    stored = repository.stored_raws(session, [key for key, index in first.items() if index not in outcomes])
    results = []
    for index, row in enumerate(rows):
        key = _raw_key(row)
        if index in outcomes and (key is None or first[key] == index):
            results.append(outcomes[index])
        elif key is not None and first[key] in outcomes:  # a second copy within the batch
            results.append(outcomes[first[key]].model_copy(update={"duplicate": True}))
        else:  # stored before (a redelivery, a replay) or by a concurrent delivery just now: kept once
            assert key is not None
            found = stored[key]
            results.append(
                IngestOutcome(raw_message_id=found.id, duplicate=True, status=found.status, error=found.error)
            )
    return results


def _check_limits(message: IncomingMessage, settings: Settings) -> str | None:
    if message.text and len(message.text) > settings.max_text_length:
        return f"文本过长：{len(message.text)} 字，上限 {settings.max_text_length} 字（已截断保存原文开头）"
    return None


def message_key(message: IncomingMessage) -> str:
    """The platform message id a message is stored under: its own, else a content key."""
    return message.message_id or _content_key(message)


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
        digest.update(bytes.fromhex(message.media.sha256))
    if message.recalls_message_id is not None:  # two id-less recalls in one second are two recalls
        digest.update(message.recalls_message_id.encode("utf-8"))
    return "h:" + digest.hexdigest()[:40]


def stored_raw_ids(session: Session, group_id: int, messages: Sequence[IncomingMessage]) -> dict[str, int]:
    """Which of these messages the group holds already: stored platform message id → raw message id."""
    keys = [(message.platform.value, group_id, message_key(message)) for message in messages]
    return {key[2]: found.id for key, found in repository.stored_raws(session, keys).items()}


def _other_names(message: IncomingMessage) -> list[str]:
    """The sender's other names, without blanks and repeats of the display name."""
    names: list[str] = []
    for name in message.other_names:
        name = name.strip()
        if name and name != message.sender_name and name not in names:
            names.append(name)
    return names


def _touch_groups(session: Session, messages: Sequence[IncomingMessage]) -> dict[tuple[str, str], ChatGroup]:
    """The batch's groups, created if new; the last name a message gives wins, as one message at a time."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for message in messages:
        key = (message.platform.value, message.group_id)
        rows.setdefault(key, {"platform": key[0], "platform_id": key[1], "name": message.group_name})
    groups = repository.get_or_create_groups(session, list(rows.values()))
    for message in messages:
        group = groups[(message.platform.value, message.group_id)]
        if message.group_name and group.name != message.group_name:
            group.name = message.group_name
    return groups


class _Seen(NamedTuple):
    first: datetime
    last: datetime
    display_name: str | None


def _seen(state: _Seen, message: IncomingMessage) -> _Seen:
    """A member after one more message: the latest message (ties: the later one) names them."""
    first, last, name = min(state.first, message.sent_at), state.last, state.display_name
    if message.sent_at >= last:
        last = message.sent_at
        name = message.sender_name or name
    return _Seen(first, last, name)


def _touch_members(
    session: Session, messages: Sequence[IncomingMessage], groups: Mapping[tuple[str, str], ChatGroup]
) -> dict[tuple[str, str], Member]:
    """The batch's senders, created if new, with first/last seen and display name as message by message."""
    senders = [message for message in messages if message.sender_id is not None]
    new: dict[tuple[str, str], _Seen] = {}
    for message in senders:  # what a new member will look like after the batch: inserted like that at once
        key = (message.platform.value, str(message.sender_id))
        new[key] = _seen(new.get(key) or _Seen(message.sent_at, message.sent_at, None), message)
    rows = [{"platform": key[0], "platform_user_id": key[1], "display_name": seen.display_name,
             "first_seen_at": seen.first, "last_seen_at": seen.last} for key, seen in new.items()]  # fmt: skip
    members = repository.get_or_create_members(session, rows)
    states = {key: _Seen(m.first_seen_at, m.last_seen_at, m.display_name) for key, m in members.items()}
    for message in senders:
        key = (message.platform.value, str(message.sender_id))
        states[key] = _seen(states[key], message)
    for key, state in states.items():
        _assign(members[key], first_seen_at=state.first, last_seen_at=state.last, display_name=state.display_name)
    _touch_names(session, senders, groups, members)
    return members


def _touch_names(
    session: Session,
    senders: Sequence[IncomingMessage],
    groups: Mapping[tuple[str, str], ChatGroup],
    members: Mapping[tuple[str, str], Member],
) -> None:
    """Keep every name a member has used in a group, with when it was first and last seen."""
    spans: dict[tuple[int, int, str], tuple[datetime, datetime]] = {}
    for message in senders:
        member = members[(message.platform.value, str(message.sender_id))]
        group = groups[(message.platform.value, message.group_id)]
        for name in (message.sender_name, *_other_names(message)):
            if name:
                key = (member.id, group.id, name)
                first, last = spans.get(key, (message.sent_at, message.sent_at))
                spans[key] = (min(first, message.sent_at), max(last, message.sent_at))
    rows = [{"member_id": key[0], "group_id": key[1], "name": key[2], "first_seen_at": first, "last_seen_at": last}
            for key, (first, last) in spans.items()]  # fmt: skip
    names = repository.get_or_create_member_names(session, rows)
    for key, (first, last) in spans.items():
        row = names[key]
        _assign(row, first_seen_at=min(row.first_seen_at, first), last_seen_at=max(row.last_seen_at, last))


def _assign(obj: object, **values: Any) -> None:
    """Set only what changed, so an unchanged row is not written again."""
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)


def _store_media(
    session: Session, settings: Settings, messages: Sequence[IncomingMessage]
) -> dict[str, int | media_store.MediaError]:
    """Media ids (or why the bytes were refused) by sha256: one look-up, each new image decoded once.

    Bytes stored before are never decoded again (a lost file is written again from this copy).
    """
    images: dict[str, bytes] = {}
    for message in messages:
        if message.media is not None and _check_limits(message, settings) is None:
            images.setdefault(message.media.sha256, message.media.data)
    known = repository.media_by_shas(session, list(images))
    found: dict[str, int | media_store.MediaError] = {}
    to_write: dict[str, bytes] = {}
    for sha, data in images.items():
        media = known.get(sha)
        if (
            media is not None
            and len(data) <= settings.max_image_bytes
            and media_store.file_present(media.path, settings)
        ):
            found[sha] = media.id
        else:
            to_write[sha] = data
    rows = []
    for sha, stored in zip(to_write, media_store.store_images(to_write.values(), settings), strict=True):
        if isinstance(stored, media_store.MediaError):
            found[sha] = stored
        elif (media := known.get(sha)) is not None:
            found[sha] = media.id
        else:
            rows.append(_media_row(stored))
    for sha, media in repository.get_or_create_media(session, rows).items():
        found[sha] = media.id
    return found


def _media_row(stored: media_store.StoredImage) -> dict[str, Any]:
    return {"sha256": stored.sha256, "phash": stored.phash, "path": stored.relative_path, "mime": stored.mime,
            "bytes": stored.size, "width": stored.width, "height": stored.height}  # fmt: skip


BULK_ASSEMBLY = 500  # messages a replay or history import assembles per transaction (seconds of write lock at most)


def has_pending(session: Session) -> bool:
    """Whether stored messages wait to be assembled."""
    return bool(repository.pending_raw(session, 1))


def assemble_pending(
    session: Session, settings: Settings, *, on_report: ReportHook | None = None, limit: int | None = None
) -> AssemblyStats:
    """Turn stored raw messages into reports; safe to re-run after a crash (only ``received`` rows move)."""
    repository.lock_assembly(session)
    assembler = Assembler(session, settings)
    pending = repository.pending_raw(session, limit)
    assembler.prepare(pending)  # the batch's look-ups in a few set-based queries
    for raw in pending:
        assembler.process(raw)
        versions.touch(session, versions.RANKINGS)  # new, grown or withdrawn reports move the rankings
    assembler.finish()
    if on_report is not None:
        hand_over(on_report, session, list(assembler.changed_reports()))
        session.flush()
    return assembler.stats


def hand_over(on_report: ReportHook, session: Session, reports: list[Report]) -> None:
    """Give changed reports to the hook: all at once when it takes a batch (``many``), else one by one."""
    many = getattr(on_report, "many", None)
    if many is not None:
        many(session, reports)
        return
    for report in reports:
        on_report(session, report)


def assign_member_unit(
    session: Session, member_id: int, unit_id: int | None, *, actor: str, reason: str | None = None
) -> Member:
    """Staff say which unit a sender belongs to; it wins over any nickname from now on."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"找不到成员 {member_id}")
    if unit_id is not None:
        _unit(session, unit_id)
    before = {"unit_id": member.unit_id, "unit_source": member.unit_source}
    member.unit_id = unit_id
    member.unit_source = "staff" if unit_id is not None else None
    after = {"unit_id": unit_id, "unit_source": member.unit_source}
    audit.record(
        session, actor, AuditKind.MEMBER_UNIT, subject=("member", member.id), before=before, after=after, reason=reason
    )
    return member


def assign_report_unit(
    session: Session,
    report_id: int,
    unit_id: int,
    *,
    actor: str,
    reason: str | None = None,
    remember_sender: bool = False,
) -> Report:
    """Attribute a report to a unit; optionally remember the sender, which also files their other unassigned reports."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"找不到报送 {report_id}")
    unit = _unit(session, unit_id)
    if not unit.active:
        raise Conflict(f"单位「{unit.name}」已停用，不能再归入报送")
    before = {"unit_id": report.unit_id}
    report.unit_id = unit_id
    after: dict[str, Any] = {"unit_id": unit_id}
    if remember_sender:
        member = session.get(Member, report.sender_id)
        after["sender_id"], after["sender_unit_before"] = report.sender_id, member.unit_id if member else None
        assign_member_unit(session, report.sender_id, unit_id, actor=actor, reason=reason)
        others = repository.unassigned_reports_of(session, report.sender_id)
        for other in others:
            other.unit_id = unit_id
        after["also_assigned_report_ids"] = [other.id for other in others]
    audit.record(
        session, actor, AuditKind.REPORT_UNIT, subject=("report", report.id), before=before, after=after, reason=reason
    )
    return report


def assignment_preview(session: Session, report_id: int) -> int:
    """How many other reports "remember the sender" would file with this one (shown before staff apply it)."""
    report = session.get(Report, report_id)
    if report is None:
        return 0
    return sum(1 for other in repository.unassigned_reports_of(session, report.sender_id) if other.id != report_id)


def undo_report_assignment(session: Session, audit_id: int, *, actor: str) -> Report:
    """Take back one assignment (the report, the remembered sender and the reports filed with it), as recorded."""
    entry = session.get(audit.AuditEntry, audit_id)
    if entry is None or entry.kind != AuditKind.REPORT_UNIT.value or entry.report_id is None:
        raise NotFound("找不到这次归属操作")
    report = session.get(Report, entry.report_id)
    if report is None:
        raise NotFound(f"找不到报送 {entry.report_id}")
    done, was = entry.after or {}, (entry.before or {}).get("unit_id")
    if report.unit_id != done.get("unit_id"):
        raise Conflict("报送的归属此后已被修改，不能撤销这次操作")
    before = {"unit_id": report.unit_id}
    report.unit_id = was
    undone = []
    for other_id in done.get("also_assigned_report_ids") or []:
        other = session.get(Report, other_id)
        if other is not None and other.unit_id == done.get("unit_id"):
            other.unit_id = None
            undone.append(other.id)
    if "sender_id" in done:
        assign_member_unit(session, done["sender_id"], done.get("sender_unit_before"), actor=actor, reason="撤销归属")
    after = {"unit_id": was, "also_unassigned_report_ids": undone, "undo_of": audit_id}
    audit.record(
        session,
        actor,
        AuditKind.REPORT_UNIT,
        subject=("report", report.id),
        before=before,
        after=after,
        reason="撤销归属",
    )
    return report


def _unit(session: Session, unit_id: int) -> Unit:
    """The unit a staff action names; a missing one is a mistake in the request (field ``unit_id``)."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise IngestError(f"找不到单位 {unit_id}", details=[{"loc": ["body", "unit_id"], "message": "单位不存在"}])
    return unit


def rename_group(session: Session, actor: str, group_id: int, name: str) -> ChatGroup:
    """Staff give a group the name they know it by (WeChat groups are often renamed)."""
    group = session.get(ChatGroup, group_id)
    if group is None:
        raise NotFound("群不存在")
    name = name.strip()
    if not name:
        raise IngestError("群名不能为空")
    before = {"group_id": group.id, "name": group.name}
    group.name = name
    session.flush()
    after = {"group_id": group.id, "name": group.name}
    audit.record(session, actor, AuditKind.GROUP, subject=("group", group.id), before=before, after=after)
    return group


PROMOTABLE_KINDS = (MessageKind.TEXT.value, MessageKind.IMAGE.value)


def promotable(raw: RawMessage) -> bool:
    """A member's kept text or photo can become a report; stickers, voice, system lines and notices cannot."""
    if raw.status != RawStatus.CHATTER.value or raw.kind not in PROMOTABLE_KINDS:
        return False
    return raw.kind != MessageKind.IMAGE.value or raw.media_id is not None


def promote_message(
    session: Session,
    settings: Settings,
    raw_message_id: int,
    *,
    actor: str,
    reason: str | None = None,
    on_report: ReportHook | None = None,
) -> Report:
    """Staff say a kept message is an activity report after all: it opens (or joins) a report; audited."""
    raw = session.get(RawMessage, raw_message_id)
    if raw is None:
        raise NotFound(f"找不到消息 {raw_message_id}")
    if raw.status != RawStatus.CHATTER.value:
        raise Conflict("只有留作消息的群成员消息可以转为报送（系统消息、工作人员通知、撤回和有误的消息不行）")
    if not promotable(raw):
        raise Conflict("只有文字或图片消息可以转为报送（表情包、语音、文件等不行）")
    pending = repository.pending_one(session, raw.id)
    assert pending is not None
    before = {"raw_message_id": raw.id, "status": raw.status, "reason": raw.reason}
    assembler = Assembler(session, settings)
    try:
        report = assembler.promote(pending)
    except ValueError as exc:
        raise IngestError(str(exc)) from None
    assembler.finish()
    after = {"raw_message_id": raw.id, "status": RawStatus.ASSEMBLED.value, "report_id": report.id}
    audit.record(
        session,
        actor,
        AuditKind.MESSAGE_PROMOTED,
        subject=("report", report.id),
        before=before,
        after=after,
        reason=reason,
    )
    if on_report is not None:
        hand_over(on_report, session, list(assembler.changed_reports()))
    session.flush()
    return report


def demote_report(session: Session, report_id: int, *, actor: str, reason: str | None = None) -> list[int]:
    """Staff say a report is chatter: its messages are kept as messages again and the report row goes; audited.

    The audit row (subject ``("report", id)``, which outlives the row) keeps what the report was — unit, label,
    status, text, photos — since the row itself is removed so that no count, ranking or export can ever include it.
    Returns the raw message ids put back.
    """
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"找不到报送 {report_id}")
    raws = repository.report_raw_messages(session, report.id)
    before = {
        "report_id": report.id,
        "unit_id": report.unit_id,
        "status": report.status,
        "label": report.label,
        "text": report.text,
        "photo_count": report.photo_count,
        "post_date": report.post_date.isoformat(),
        "raw_message_ids": [raw.id for raw in raws],
    }
    for raw in raws:
        raw.status, raw.reason, raw.report_id = RawStatus.CHATTER.value, MessageReason.DEMOTED.value, None
    after = {"status": RawStatus.CHATTER.value, "reason": MessageReason.DEMOTED.value, "sender_id": report.sender_id}
    audit.record(
        session,
        actor,
        AuditKind.REPORT_DEMOTED,
        subject=("report", report.id),
        before=before,
        after=after,
        reason=reason,
    )
    session.delete(report)
    session.flush()
    return before["raw_message_ids"]


def retriage_reports(session: Session, settings: Settings, *, actor: str, dry_run: bool = False) -> list[int]:
    """Reports stored before triage existed that it calls chatter ("收到", 👍, anonymous lines): demote them.

    Only text reports without photos that staff never touched (not corrected, not withdrawn) are considered, so no
    activity evidence and no staff decision is undone. Returns the ids of the reports demoted (or, with
    ``dry_run``, that would be).
    """
    matcher = UnitMatcher(repository.unit_keys(session))
    demoted: list[int] = []
    for report, sender in repository.retriage_candidates(session):
        if sender.startswith(ANONYMOUS_PREFIX):
            why = MessageReason.ANONYMOUS
        else:
            verdict = triage_text(report.text, matcher.strip)
            if verdict.candidate or verdict.reason is None:
                continue
            why = verdict.reason
        demoted.append(report.id)
        if not dry_run:
            demote_report(session, report.id, actor=actor, reason=f"按分诊规则不是报送：{why.zh}")
    return demoted
