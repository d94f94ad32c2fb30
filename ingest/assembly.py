"""Assemble raw messages into reports: an activity candidate opens a report, the sender's nearby photos join it.

A member's text opens a report only when triage (``ingest.triage``) says it may be an activity; chatter
("收到", "👍", a question, a sticker) stays a message. A chatter line inside a photo window changes nothing: it
neither opens a report nor collects photos, so photos around it join the sender's nearest activity text within the
window, or gather into a photo-only report (a photo group) of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from ingest import repository
from ingest.models import (
    Member,
    MessageKind,
    MessageReason,
    RawMessage,
    RawStatus,
    Report,
    ReportPhoto,
    ReportStatus,
)
from ingest.repository import PendingRaw, RecallRef
from ingest.resolution import UnitMatcher, is_office_staff
from ingest.schemas import ANONYMOUS_PREFIX, IMAGE_PLACEHOLDER
from ingest.triage import triage_text
from wenming import audit
from wenming.audit import AuditKind
from wenming.settings import Settings

RECALL_ACTOR = "群内撤回"  # the audit log's "who" for withdrawals: the group member, not a staff account


@dataclass
class AssemblyStats:
    processed: int = 0
    reports_created: int = 0
    reports_updated: int = 0
    ignored: int = 0
    unassigned: int = 0
    reposts: int = 0
    withdrawn: int = 0  # reports withdrawn because their sender recalled them
    photos_withdrawn: int = 0  # recalled photos taken out of their report
    chatter: int = 0  # members' messages kept as messages: acknowledgements, stickers, questions…
    name_conflicts: int = 0  # messages whose sender's names point at different units (left unassigned)

    def add(self, other: AssemblyStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _PhashIndex:
    ids: np.ndarray
    hashes: np.ndarray
    by_id: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = dict(zip(self.ids.tolist(), self.hashes.tolist(), strict=True))

    def near(self, phash: int, max_distance: int) -> list[int]:
        if self.ids.size == 0:
            return []
        distance = np.bitwise_count(self.hashes ^ np.uint64(phash))
        return self.ids[distance <= max_distance].tolist()


SenderKey = tuple[int, int]  # (group id, sender id): near-report look-ups never cross them


@dataclass
class _NearbyReports:
    """The reports near-report look-ups can find, per (group, sender), read once per batch and kept current.

    ``covered`` says for which moments a sender's reports were read: a look-up inside it needs no query, because
    every report it could find was read then or created (or changed) in this run since. Answers equal
    ``repository.nearest_text_report`` and ``repository.photo_only_reports_near`` (tests/ingest/test_assembly_batch.py).
    """

    window: timedelta
    reports: dict[SenderKey, dict[int, Report]] = field(default_factory=dict)
    covered: dict[SenderKey, list[tuple[datetime, datetime]]] = field(default_factory=dict)

    def covers(self, key: SenderKey, moment: datetime) -> bool:
        return any(start <= moment <= end for start, end in self.covered.get(key, ()))

    def cover(self, key: SenderKey, start: datetime, end: datetime) -> None:
        self.covered.setdefault(key, []).append((start, end))

    def add(self, report: Report) -> None:
        self.reports.setdefault((report.group_id, report.sender_id), {})[report.id] = report

    def remove(self, report: Report) -> None:
        self.reports.get((report.group_id, report.sender_id), {}).pop(report.id, None)

    def nearest_text(self, key: SenderKey, moment: datetime) -> Report | None:
        """The text report closest in time, preferring one posted before ``moment``; ties go to the lower id."""
        low, high = moment - self.window, moment + self.window
        candidates = [
            r
            for r in self.reports.get(key, {}).values()
            if r.text_message_at is not None and low <= r.text_message_at <= high
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda r: (r.text_message_at > moment, abs(r.text_message_at - moment), r.id))

    def photo_only(self, key: SenderKey, moment: datetime) -> list[Report]:
        """Photo-only reports with a photo within the window, oldest first."""
        low, high = moment - self.window, moment + self.window
        found = [
            r
            for r in self.reports.get(key, {}).values()
            if r.text_message_at is None and r.last_message_at >= low and r.first_message_at <= high
        ]
        return sorted(found, key=lambda r: (r.first_message_at, r.id))


@dataclass
class Assembler:
    """Processes raw messages in time order; decisions are time-window lookups, so arrival order matters little."""

    session: Session
    settings: Settings
    stats: AssemblyStats = field(default_factory=AssemblyStats)
    _changed: dict[int, Report] = field(default_factory=dict)
    _members: dict[int, Member | None] = field(default_factory=dict)
    _outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    _matcher: UnitMatcher | None = None
    _phashes: _PhashIndex | None = None
    _recalls: dict[tuple[int, str], RecallRef] | None = None
    # media id → every posting as (posted_at, photo id, report id, raw message id), read once per run and kept current:
    # the repost check asked the database for each photo and sorted all postings of a popular picture every time.
    _postings: dict[int, list[tuple[datetime, int, int, int]]] = field(default_factory=dict)
    # report id → its distinct media ids, so a photo's count needs no query (reports opened in this run start empty)
    _pictures: dict[int, set[int]] = field(default_factory=dict)
    _unflushed_photos: int = 0
    _nearby: _NearbyReports | None = None
    _report_ids: list[int] = field(default_factory=list)  # ids reserved for new reports, not handed out yet
    # photos attached since the reports were last written, inserted together by one executemany after the reports
    # they point at (the unit of work neither orders the two tables nor batches inserts that return ids on SQLite)
    _waiting_photos: list[dict[str, Any]] = field(default_factory=list)

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.settings.assembly_window_seconds)

    def changed_reports(self) -> list[Report]:
        return list(self._changed.values())

    def prepare(self, raws: Sequence[PendingRaw]) -> None:
        """Read what a batch's look-ups need with a few set-based queries instead of several per message.

        Senders, the reports near the batch's time span for its (group, sender) pairs with their pictures, and the
        postings of its pictures and their near-duplicates. Look-ups outside what was read still query.
        """
        senders = {raw.sender_id for raw in raws if raw.sender_id is not None}
        missing = [member_id for member_id in senders if member_id not in self._members]
        if missing:
            found = repository.members_by_id(self.session, missing)
            self._members.update((member_id, found.get(member_id)) for member_id in missing)
        pairs: set[SenderKey] = set()
        moments: list[datetime] = []
        for raw in raws:
            if raw.sent_at is not None and raw.group_id is not None and raw.sender_id is not None:
                pairs.add((raw.group_id, raw.sender_id))
                moments.append(raw.sent_at)
        if pairs:
            self._read_nearby(pairs, min(moments), max(moments))
        media = {raw.media_id for raw in raws if raw.media_id is not None and raw.kind == MessageKind.IMAGE.value}
        near = {near_id for media_id in media for near_id in self._near_media(media_id)} - self._postings.keys()
        if near:
            for near_id in near:
                self._postings[near_id] = []
            for media_id, posted_at, photo_id, owner, raw_id in repository.postings_of_many(self.session, list(near)):
                self._postings[media_id].append((posted_at, photo_id, owner, raw_id))

    def _read_nearby(self, pairs: set[SenderKey], first: datetime, last: datetime) -> None:
        """Read the reports look-ups at moments in ``[first, last]`` can find for these senders, with their pictures."""
        nearby = self._nearby_reports()
        groups, senders = {group for group, _ in pairs}, {sender for _, sender in pairs}
        start, end = first - self.window, last + self.window
        read = [
            r
            for r in repository.reports_in_span(self.session, list(groups), list(senders), start, end)
            if (r.group_id, r.sender_id) in pairs
        ]
        unknown = [r.id for r in read if r.id not in self._pictures]
        if unknown:
            self._pictures.update(repository.photo_media_ids_of(self.session, unknown))
        for report in read:
            nearby.add(report)
        for pair in pairs:
            nearby.cover(pair, first, last)

    def _nearby_reports(self) -> _NearbyReports:
        if self._nearby is None:
            self._nearby = _NearbyReports(self.window)
        return self._nearby

    def _nearest_text(self, group_id: int, sender_id: int, moment: datetime) -> Report | None:
        if not self._nearby_reports().covers((group_id, sender_id), moment):
            self._read_nearby({(group_id, sender_id)}, moment, moment)
        return self._nearby_reports().nearest_text((group_id, sender_id), moment)

    def _photo_only_near(self, group_id: int, sender_id: int, moment: datetime) -> list[Report]:
        if not self._nearby_reports().covers((group_id, sender_id), moment):
            self._read_nearby({(group_id, sender_id)}, moment, moment)
        return self._nearby_reports().photo_only((group_id, sender_id), moment)

    def _write_photos(self) -> None:
        """Insert the reports created so far, then the photos waiting for them (before any query that reads photos,
        and at the end)."""
        if self._waiting_photos:
            self.session.flush()
            self.session.execute(insert(ReportPhoto.__table__), self._waiting_photos)  # Core: one executemany
            self._waiting_photos.clear()

    def _pictures_of(self, report: Report) -> set[int]:
        """A report's distinct pictures: read with the batch, or once now (after a withdrawal changed them)."""
        pictures = self._pictures.get(report.id)
        if pictures is None:
            self._write_photos()
            pictures = self._pictures[report.id] = repository.photo_media_ids(self.session, report.id)
        return pictures

    def _next_report_id(self) -> int:
        if not self._report_ids:
            self._report_ids = sorted(repository.reserve_report_ids(self.session), reverse=True)
        return self._report_ids.pop()

    def process(self, raw: PendingRaw) -> None:
        self.stats.processed += 1
        if raw.kind == MessageKind.RECALL.value:
            self._on_recall(raw)
        member = self._member(raw.sender_id)
        kept = self._not_a_report(raw, member)
        if kept is not None:
            if member is not None and kept[0] is RawStatus.CHATTER and kept[1] is not MessageReason.ANONYMOUS:
                self._resolve_unit(member, raw)  # a member who only says "收到" still belongs to a unit
            self._keep_as_message(raw, *kept)
            return
        assert member is not None
        self._assemble(raw, member)

    def promote(self, raw: PendingRaw) -> Report:
        """Staff say a kept message is an activity: assemble it as if triage had let it through."""
        member = self._member(raw.sender_id)
        if member is None or raw.sent_at is None:
            raise ValueError("没有发送者或时间的消息不能作为报送")
        self.stats.processed += 1
        return self._assemble(raw, member)

    def _assemble(self, raw: PendingRaw, member: Member) -> Report:
        unit_id = self._resolve_unit(member, raw)
        is_text = raw.kind == MessageKind.TEXT.value
        report = self._on_text(raw, unit_id) if is_text else self._on_photo(raw, unit_id)
        self._outcomes[raw.id] = {
            "id": raw.id,
            "status": RawStatus.ASSEMBLED.value,
            "report_id": report.id,
            "reason": None,
        }
        recall = self._recall_of(raw)
        if recall is not None:  # the recall came first (import order, redelivery): same end state as live
            self._withdraw_part(raw.id, raw.kind, report, recall)
        return report

    def _keep_as_message(self, raw: PendingRaw, status: RawStatus, reason: MessageReason) -> None:
        self._outcomes[raw.id] = {"id": raw.id, "status": status.value, "report_id": None, "reason": reason.value}
        if status is RawStatus.CHATTER:
            self.stats.chatter += 1
        else:
            self.stats.ignored += 1

    def finish(self) -> None:
        """Write the batch: new reports in one flush, photos in one executemany, raw outcomes in one UPDATE."""
        self._write_photos()
        self.session.flush()  # the reports raw messages will point at
        if self._outcomes:
            repository.set_raw_outcomes(self.session, list(self._outcomes.values()))
            self._outcomes.clear()

    def _member(self, member_id: int | None) -> Member | None:
        """Members held strongly for the whole batch, so each is loaded once."""
        if member_id is None:
            return None
        if member_id not in self._members:
            self._members[member_id] = self.session.get(Member, member_id)
        return self._members[member_id]

    def _not_a_report(self, raw: PendingRaw, member: Member | None) -> tuple[RawStatus, MessageReason] | None:
        """Why a message stays a message, or None when it may be an activity (a candidate).

        System lines, recalls, office staff and empty texts are ``ignored``; a member's acknowledgements, thanks,
        questions, greetings, emoji, stickers, anonymous and non-text messages are ``chatter`` staff can promote.
        """
        if raw.kind == MessageKind.RECALL.value:
            return RawStatus.IGNORED, MessageReason.RECALL
        if member is None or raw.sent_at is None or raw.kind == MessageKind.SYSTEM.value:
            return RawStatus.IGNORED, MessageReason.SYSTEM
        if member.is_staff or is_office_staff(raw.sender_name, self.settings.office_markers):
            return RawStatus.IGNORED, MessageReason.STAFF
        if raw.kind == MessageKind.TEXT.value and not (raw.text or "").strip():
            return RawStatus.IGNORED, MessageReason.EMPTY
        if member.platform_user_id.startswith(ANONYMOUS_PREFIX):
            return RawStatus.CHATTER, MessageReason.ANONYMOUS  # no unit can be told from an anonymous name
        if raw.kind == MessageKind.STICKER.value:
            return RawStatus.CHATTER, MessageReason.STICKER
        if raw.kind == MessageKind.IMAGE.value:
            return None if raw.media_id is not None else (RawStatus.IGNORED, MessageReason.EMPTY)
        if raw.kind != MessageKind.TEXT.value:
            missing_photo = raw.text == IMAGE_PLACEHOLDER
            return RawStatus.CHATTER, MessageReason.NO_PHOTO if missing_photo else MessageReason.NOT_TEXT
        verdict = triage_text(raw.text, self._unit_matcher().strip)
        return None if verdict.candidate else (RawStatus.CHATTER, verdict.reason or MessageReason.EMPTY)

    def _unit_matcher(self) -> UnitMatcher:
        if self._matcher is None:
            self._matcher = UnitMatcher(repository.unit_keys(self.session))
        return self._matcher

    def _resolve_unit(self, member: Member, raw: PendingRaw) -> int | None:
        """Staff mapping first; else every name the sender has; a name that says nothing keeps the earlier unit.

        Names that point at different units leave the report unassigned (never the wrong unit), and the
        member's learnt unit is left as it was.
        """
        if member.unit_source == "staff":
            return member.unit_id
        match = self._unit_matcher().resolve([raw.sender_name, *(raw.other_names or [])])
        if match.conflict:
            self.stats.name_conflicts += 1
            return None
        if match.unit_id is not None and match.unit_id != member.unit_id:
            member.unit_id, member.unit_source = match.unit_id, "nickname"
        return member.unit_id

    def _new_report(self, raw: PendingRaw, unit_id: int | None, text: str | None) -> Report:
        assert raw.sent_at is not None and raw.group_id is not None and raw.sender_id is not None
        report = Report(
            id=self._next_report_id(),  # no flush per new report: the batch's reports are inserted together
            unit_id=unit_id,
            group_id=raw.group_id,
            sender_id=raw.sender_id,
            first_message_at=raw.sent_at,
            last_message_at=raw.sent_at,
            text_message_at=raw.sent_at if text is not None else None,
            post_date=self._local_date(raw.sent_at),
            text=text,
            photo_count=0,
            status=ReportStatus.UNCLASSIFIED.value,
            possible_repost=False,
        )
        self.session.add(report)
        self._pictures[report.id] = set()
        self._nearby_reports().add(report)
        self.stats.reports_created += 1
        if unit_id is None:
            self.stats.unassigned += 1
        return report

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.settings.tz).date()

    def _touch(self, report: Report, moment: datetime, unit_id: int | None) -> None:
        if moment < report.first_message_at:
            report.first_message_at = moment
            report.post_date = self._local_date(moment)
        report.last_message_at = max(report.last_message_at, moment)
        if report.unit_id is None and unit_id is not None:
            report.unit_id = unit_id
        if report.id not in self._changed:
            self.stats.reports_updated += 1
        self._changed[report.id] = report

    def _on_text(self, raw: PendingRaw, unit_id: int | None) -> Report:
        assert raw.sent_at is not None and raw.group_id is not None and raw.sender_id is not None
        text = (raw.text or "").strip()
        waiting = [
            r
            for r in self._photo_only_near(raw.group_id, raw.sender_id, raw.sent_at)
            if r.status not in (ReportStatus.CORRECTED.value, ReportStatus.WITHDRAWN.value)
        ]
        if not waiting:
            report = self._new_report(raw, unit_id, text)
            self._changed[report.id] = report
            return report
        report, *others = waiting
        report.text, report.text_message_at = text, raw.sent_at
        self._touch(report, raw.sent_at, unit_id)
        for other in others:
            self._merge(other, into=report)
        report.photo_count = len(self._pictures_of(report))
        return report

    def _merge(self, source: Report, *, into: Report) -> None:
        """Fold a photo-only report into the text report its photos belong to."""
        pictures = self._pictures_of(into) | self._pictures_of(source)
        self._write_photos()
        self.session.execute(update(ReportPhoto).where(ReportPhoto.report_id == source.id).values(report_id=into.id))
        self._repoint_postings(source.id, into.id)
        self._pictures.pop(source.id, None)
        self._pictures[into.id] = pictures
        self._nearby_reports().remove(source)
        self.session.execute(update(RawMessage).where(RawMessage.report_id == source.id).values(report_id=into.id))
        for outcome in self._outcomes.values():
            if outcome["report_id"] == source.id:
                outcome["report_id"] = into.id
        self._touch(into, source.first_message_at, source.unit_id)
        self._touch(into, source.last_message_at, source.unit_id)
        into.possible_repost = into.possible_repost or source.possible_repost
        self._changed.pop(source.id, None)
        self.session.execute(delete(Report).where(Report.id == source.id))
        self.session.expunge(source)
        self.stats.reports_created -= 1

    def _on_photo(self, raw: PendingRaw, unit_id: int | None) -> Report:
        assert raw.sent_at is not None and raw.group_id is not None and raw.sender_id is not None
        report = self._nearest_text(raw.group_id, raw.sender_id, raw.sent_at)
        if report is None:
            waiting = [
                r
                for r in self._photo_only_near(raw.group_id, raw.sender_id, raw.sent_at)
                if r.status != ReportStatus.WITHDRAWN.value  # every photo of it was recalled
            ]
            report = waiting[0] if waiting else None
        if report is None:
            report = self._new_report(raw, unit_id, None)
            self._changed[report.id] = report
        else:
            self._touch(report, raw.sent_at, unit_id)
        self._attach_photo(report, raw)
        return report

    def _attach_photo(self, report: Report, raw: PendingRaw) -> None:
        assert raw.media_id is not None and raw.sent_at is not None
        earlier = self._earliest_other_posting(self._near_media(raw.media_id), report.id, raw.sent_at)
        if earlier is not None:
            report.possible_repost = True
            self.stats.reposts += 1
        photo = {"report_id": report.id, "media_id": raw.media_id, "raw_message_id": raw.id, "posted_at": raw.sent_at}
        self._waiting_photos.append(photo | {"repost_of_media_id": earlier})  # until written, after every stored photo
        self._unflushed_photos += 1
        if raw.media_id in self._postings:
            self._postings[raw.media_id].append((raw.sent_at, 2**62 + self._unflushed_photos, report.id, raw.id))
        pictures = self._pictures_of(report)
        pictures.add(raw.media_id)
        report.photo_count = len(pictures)

    def _earliest_other_posting(self, media_ids: list[int], report_id: int, before: datetime) -> int | None:
        """The media id of the first time one of ``media_ids`` was attached to another report, no later than
        ``before`` (ties by photo id), from postings read once per media id per run."""
        missing = [m for m in media_ids if m not in self._postings]
        if missing:
            self._write_photos()
            for media_id in missing:
                self._postings[media_id] = []
            for media_id, posted_at, photo_id, owner, raw_id in repository.postings_of(self.session, missing):
                self._postings[media_id].append((posted_at, photo_id, owner, raw_id))
        candidates = [
            (posted_at, photo_id, media_id)
            for media_id in media_ids
            for posted_at, photo_id, owner, _raw in self._postings[media_id]
            if owner != report_id and posted_at <= before
        ]
        return min(candidates)[2] if candidates else None

    def _repoint_postings(self, source: int, into: int) -> None:
        for postings in self._postings.values():
            postings[:] = [(at, photo, into if owner == source else owner, raw) for at, photo, owner, raw in postings]

    def _forget_posting(self, media_id: int, raw_id: int) -> None:
        if media_id in self._postings:
            self._postings[media_id] = [p for p in self._postings[media_id] if p[3] != raw_id]

    def _near_media(self, media_id: int) -> list[int]:
        """This image and every stored image whose perceptual hash is within the re-post distance."""
        if self._phashes is None:  # every stored media is in it: assembly runs after the batch's media are stored
            self._phashes = _PhashIndex(*repository.phash_table(self.session))
        phash = self._phashes.by_id.get(media_id)
        if phash is None:
            return [media_id]
        near = set(self._phashes.near(phash, self.settings.repost_hamming_distance))
        near.add(media_id)
        return sorted(near)

    # -- recalls (撤回): a recalled text withdraws its report, a recalled photo leaves it --

    def _recall_of(self, raw: PendingRaw) -> RecallRef | None:
        """The stored recall naming this message, or the platform message it is a part of (``<id>#img1``)."""
        if raw.group_id is None or raw.platform_message_id is None:
            return None
        if self._recalls is None:
            self._recalls = repository.recalls_by_target(self.session)
        if not self._recalls:
            return None
        key = raw.platform_message_id
        return self._recalls.get((raw.group_id, key)) or self._recalls.get((raw.group_id, key.split("#", 1)[0]))

    def _on_recall(self, raw: PendingRaw) -> None:
        """Withdraw what the recalled message contributed to reports assembled in earlier runs.

        Messages assembled in this run are not ASSEMBLED in the database yet; they met the recall in ``process``.
        """
        if raw.recalls_message_id is None or raw.group_id is None:
            return
        recall = RecallRef(raw.id, raw.sender_name)
        self._write_photos()
        for part in repository.assembled_parts(self.session, raw.group_id, raw.recalls_message_id):
            report = self.session.get(Report, part.report_id)
            if report is not None:
                self._withdraw_part(part.id, part.kind, report, recall)

    def _withdraw_part(self, raw_id: int, kind: str, report: Report, recall: RecallRef) -> None:
        """Idempotent: a redelivered recall, or a recall met twice, changes nothing more."""
        if kind == MessageKind.TEXT.value:
            if report.status != ReportStatus.WITHDRAWN.value:
                before = {"status": report.status}
                report.status = ReportStatus.WITHDRAWN.value
                self.stats.withdrawn += 1
                self._audit(report, recall, raw_id, "report_withdrawn", before, {"status": report.status})
            return
        self._write_photos()
        photo = repository.photo_of_raw(self.session, raw_id)
        if photo is None:
            return
        report = self.session.get(Report, photo.report_id) or report  # merged into a text report since
        before = {"status": report.status, "photo_count": report.photo_count, "possible_repost": report.possible_repost}
        media_id = photo.media_id
        self._forget_posting(media_id, photo.raw_message_id)
        self._pictures.pop(photo.report_id, None)
        self._pictures.pop(report.id, None)
        self.session.delete(photo)
        self.session.flush()
        report.photo_count = repository.distinct_photo_count(self.session, report.id)
        report.possible_repost = repository.has_repost_photo(self.session, report.id)
        self.stats.photos_withdrawn += 1
        if report.text_message_at is None and report.photo_count == 0 and report.status != ReportStatus.WITHDRAWN.value:
            report.status = ReportStatus.WITHDRAWN.value  # nothing of a photo-only report is left
            self.stats.withdrawn += 1
        after = {
            "status": report.status,
            "photo_count": report.photo_count,
            "possible_repost": report.possible_repost,
            "removed_media_id": media_id,
        }
        self._audit(report, recall, raw_id, "report_photo_withdrawn", before, after)

    def _audit(
        self, report: Report, recall: RecallRef, raw_id: int, kind: str, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        """Withdrawals go to the audit log like staff changes, so a staff-corrected report keeps its trail."""
        what = "文字" if kind == "report_withdrawn" else "一张图片"
        audit.record(
            self.session,
            RECALL_ACTOR,
            AuditKind(kind),
            subject=("report", report.id),
            before=before,
            after=after | {"recall_raw_message_id": recall.raw_id, "recalled_raw_message_id": raw_id},
            reason=f"{recall.sender_name or '发送者'}在群里撤回了报送的{what}",
        )
        self._changed[report.id] = report
