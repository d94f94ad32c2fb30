"""Ingest entry points: store every message first, then assemble reports and attribute them to units."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from ingest import media as media_store
from ingest import repository
from ingest.assembly import Assembler, AssemblyStats
from ingest.models import ChatGroup, Media, Member, MessageKind, MessageReason, RawMessage, RawStatus, Report, Unit
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
    group = repository.get_or_create_group(session, message.platform.value, message.group_id, message.group_name)
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
    raw_id = repository.insert_raw(session, raw)
    if raw_id is None:  # stored before (a redelivery, a replay) or by a concurrent delivery just now: kept once
        existing = repository.find_raw(session, message.platform.value, group.id, message_key)
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
    member = repository.get_or_create_member(session, message.platform.value, message.sender_id, message.sent_at)
    if message.sent_at >= member.last_seen_at:
        member.last_seen_at = message.sent_at
        if message.sender_name:
            member.display_name = message.sender_name
    member.first_seen_at = min(member.first_seen_at, message.sent_at)
    for name in (message.sender_name, *_other_names(message)):
        if name:
            repository.record_member_name(session, member, group_id, name, message.sent_at)
    return member


def _store_media(session: Session, settings: Settings, data: bytes) -> Media:
    """The media row for these bytes: looked up by sha256 first, so bytes stored before are never decoded again."""
    known = repository.media_by_sha(session, hashlib.sha256(data).hexdigest())
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
    return repository.get_or_create_media(session, values)


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
        for report in assembler.changed_reports():
            on_report(session, report)
        session.flush()
    return assembler.stats


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
        for changed in assembler.changed_reports():
            on_report(session, changed)
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
