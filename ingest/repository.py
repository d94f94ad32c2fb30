"""Queries for ingest: lookups by stable ids, pending work, and reports near a moment in time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import String, cast, event, func, or_, select, text, tuple_
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ingest.models import (
    ChatGroup,
    Media,
    Member,
    MemberName,
    MessageKind,
    RawMessage,
    RawStatus,
    Report,
    ReportPhoto,
    ReportStatus,
    Unit,
)
from wenming.audit import AuditEntry
from wenming.db import id_chunks, insert_many_ignoring_conflicts, update_many

_CACHE_KEY = "ingest.cache"


def _cache(session: Session) -> dict[tuple[Any, ...], Any]:
    """Per-session object cache for groups, members and names: a replay touches the same few rows thousands of
    times, and the identity map alone holds them only weakly."""
    return session.info.setdefault(_CACHE_KEY, {})


@event.listens_for(Session, "after_soft_rollback")
def _forget_cache(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rolled-back transaction or savepoint may have taken cached rows with it (a group created inside it)."""
    session.info.pop(_CACHE_KEY, None)


IN_CHUNK = 500  # keys per ``IN (…)`` look-up: far below SQLite's and PostgreSQL's bound-parameter limits

GROUP_KEY = ("platform", "platform_id")
MEMBER_KEY = ("platform", "platform_user_id")
NAME_KEY = ("member_id", "group_id", "name")
RAW_KEY = ("platform", "group_id", "platform_message_id")


def _get_or_create_many(
    session: Session,
    model: type[Any],
    key: tuple[str, ...],
    rows: list[dict[str, Any]],
    tag: str,
    *,
    look_first: bool = True,
) -> dict[tuple[Any, ...], Any]:
    """Insert-or-get many rows by natural key: cached ones free, then one SELECT, one INSERT of the missing, one SELECT.

    ``rows`` are distinct by key, in first-appearance order (new rows get their ids in that order, as one message
    at a time would give them). ``ON CONFLICT DO NOTHING`` makes a concurrent creator of the same key harmless: the
    loser inserts nothing and reads the winner's row. ``look_first=False`` skips the first SELECT for rows the
    caller has just looked for.
    """
    cache = _cache(session)
    found: dict[tuple[Any, ...], Any] = {}
    for row in rows:
        wanted = tuple(row[name] for name in key)
        if (cached := cache.get((tag, *wanted))) is not None:
            found[wanted] = cached
    missing = [row for row in rows if tuple(row[name] for name in key) not in found]
    if look_first:
        found |= _select_by_keys(session, model, key, [tuple(row[name] for name in key) for row in missing])
    new = [row for row in missing if tuple(row[name] for name in key) not in found]
    if new:
        insert_many_ignoring_conflicts(session, model, new, list(key))
        found |= _select_by_keys(session, model, key, [tuple(row[name] for name in key) for row in new])
    for wanted, obj in found.items():
        cache[(tag, *wanted)] = obj
    return found


def _select_by_keys(
    session: Session, model: type[Any], key: tuple[str, ...], keys: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], Any]:
    """The stored rows with these natural keys, as ORM objects by key (one query per ``IN_CHUNK`` keys)."""
    found: dict[tuple[Any, ...], Any] = {}
    columns = [getattr(model, name) for name in key]
    for start in range(0, len(keys), IN_CHUNK):
        chunk = keys[start : start + IN_CHUNK]
        for obj in session.scalars(select(model).where(tuple_(*columns).in_(chunk))):
            found[tuple(getattr(obj, name) for name in key)] = obj
    return found


def get_or_create_groups(session: Session, rows: list[dict[str, Any]]) -> dict[tuple[str, str], ChatGroup]:
    """The groups with these (platform, platform id), created if new with the row's name."""
    return _get_or_create_many(session, ChatGroup, GROUP_KEY, rows, "group")


def get_or_create_members(session: Session, rows: list[dict[str, Any]]) -> dict[tuple[str, str], Member]:
    """The senders with these (platform, platform user id), created if new with the row's values."""
    return _get_or_create_many(session, Member, MEMBER_KEY, rows, "member")


def get_or_create_member_names(session: Session, rows: list[dict[str, Any]]) -> dict[tuple[int, int, str], MemberName]:
    """The (member, group, name) rows, created if new with the row's first and last seen times."""
    return _get_or_create_many(session, MemberName, NAME_KEY, rows, "name")


def media_by_shas(session: Session, shas: list[str]) -> dict[str, Media]:
    """The stored media rows for these sha256s (one query for those not remembered in this session)."""
    cache = _cache(session)
    found = {sha: cache[("media", sha)] for sha in shas if ("media", sha) in cache}
    unknown = [(sha,) for sha in shas if sha not in found]
    found |= {sha: media for (sha,), media in _select_by_keys(session, Media, ("sha256",), unknown).items()}
    for sha, media in found.items():
        cache[("media", sha)] = media
    return found


def get_or_create_media(session: Session, rows: list[dict[str, Any]]) -> dict[str, Media]:
    """The media rows with these sha256s (just looked for and not found), inserted unless a concurrent writer did."""
    found = _get_or_create_many(session, Media, ("sha256",), rows, "media", look_first=False)
    return {sha: media for (sha,), media in found.items()}


def insert_raws(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, str, int | None, str | None]]:
    """Insert raw messages unless their (platform, group, message id) is stored already: the inserted rows' ids.

    ``ON CONFLICT DO NOTHING``: a redelivery, a replay or a platform that delivers the same event twice at once
    gets the stored row back instead of an IntegrityError. Rows without a group (rejected input) never conflict.
    Returns (id, platform, group id, platform message id) of each row actually inserted.
    """
    returned = insert_many_ignoring_conflicts(session, RawMessage, rows, list(RAW_KEY), ("id", *RAW_KEY))
    return [(row[0], row[1], row[2], row[3]) for row in returned]


class RawStored(NamedTuple):
    """What a duplicate delivery answers: the stored row's id, status and error."""

    id: int
    status: str
    error: str | None


def stored_raws(session: Session, keys: list[tuple[str, int, str]]) -> dict[tuple[str, int, str], RawStored]:
    """The stored raw messages with these (platform, group id, platform message id): id, status and error."""
    found: dict[tuple[str, int, str], RawStored] = {}
    columns = (RawMessage.platform, RawMessage.group_id, RawMessage.platform_message_id)
    for start in range(0, len(keys), IN_CHUNK):
        chunk = keys[start : start + IN_CHUNK]
        query = select(*columns, RawMessage.id, RawMessage.status, RawMessage.error).where(tuple_(*columns).in_(chunk))
        for platform, group_id, message_id, raw_id, status, error in session.execute(query):
            found[(platform, group_id, message_id)] = RawStored(raw_id, status, error)
    return found


class PendingRaw(NamedTuple):
    """The columns assembly needs from a raw message; plain rows, so status updates can be done in bulk."""

    id: int
    group_id: int | None
    sender_id: int | None
    sender_name: str | None
    sent_at: datetime | None
    kind: str
    text: str | None
    media_id: int | None
    platform_message_id: str | None
    recalls_message_id: str | None
    other_names: list[str] | None


ASSEMBLY_LOCK_KEY = 0x57454E4D  # "WENM": one assembly at a time across processes (PostgreSQL advisory lock)


def lock_assembly(session: Session) -> None:
    """Serialize assembly runs: two at once would both read the same received messages and build reports twice.

    On PostgreSQL a transaction-scoped advisory lock (released at commit); SQLite writers are serialized already
    (every writing session begins IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ASSEMBLY_LOCK_KEY})


def pending_raw(session: Session, limit: int | None) -> list[PendingRaw]:
    stmt = (
        select(*(getattr(RawMessage, name) for name in PendingRaw._fields))
        .where(RawMessage.status == RawStatus.RECEIVED.value)
        .order_by(RawMessage.sent_at, RawMessage.id)
        .limit(limit)
    )
    return [PendingRaw(*row) for row in session.execute(stmt)]


def sender_of(session: Session, platform: str, group_id: str, message_id: str) -> str | None:
    """Who sent a stored message, by platform ids (a recall naming someone else is not believed)."""
    return session.scalar(
        select(Member.platform_user_id)
        .join(RawMessage, RawMessage.sender_id == Member.id)
        .join(ChatGroup, ChatGroup.id == RawMessage.group_id)
        .where(
            RawMessage.platform == platform,
            ChatGroup.platform_id == group_id,
            RawMessage.platform_message_id == message_id,
        )
        .limit(1)
    )


class RecallRef(NamedTuple):
    """The recall that withdraws a message: which raw message it is and who was named in it."""

    raw_id: int
    sender_name: str | None


def recalls_by_target(session: Session) -> dict[tuple[int, str], RecallRef]:
    """Every stored recall keyed by (group, recalled platform message id); the earliest recall wins.

    Recalls are rare, so one query per assembly run is cheaper than a lookup per assembled message.
    """
    rows = session.execute(
        select(RawMessage.group_id, RawMessage.recalls_message_id, RawMessage.id, RawMessage.sender_name)
        .where(
            RawMessage.recalls_message_id.is_not(None),
            RawMessage.kind == MessageKind.RECALL.value,
            RawMessage.status != RawStatus.REJECTED.value,
        )
        .order_by(RawMessage.id)
    )
    found: dict[tuple[int, str], RecallRef] = {}
    for group_id, target, raw_id, sender_name in rows:
        if group_id is not None:
            found.setdefault((group_id, target), RecallRef(raw_id, sender_name))
    return found


def assembled_parts(session: Session, group_id: int, message_id: str) -> Sequence[RawMessage]:
    """Assembled texts and photos stored under a platform message id or as its parts (``<id>#img1``)."""
    return session.scalars(
        select(RawMessage)
        .where(
            RawMessage.group_id == group_id,
            or_(
                RawMessage.platform_message_id == message_id,
                RawMessage.platform_message_id.startswith(message_id + "#", autoescape=True),
            ),
            RawMessage.kind.in_([MessageKind.TEXT.value, MessageKind.IMAGE.value]),
            RawMessage.status == RawStatus.ASSEMBLED.value,
            RawMessage.report_id.is_not(None),
        )
        .order_by(RawMessage.id)
    ).all()


def photo_of_raw(session: Session, raw_message_id: int) -> ReportPhoto | None:
    return session.scalar(select(ReportPhoto).where(ReportPhoto.raw_message_id == raw_message_id))


def has_repost_photo(session: Session, report_id: int) -> bool:
    query = select(ReportPhoto.id).where(
        ReportPhoto.report_id == report_id, ReportPhoto.repost_of_media_id.is_not(None)
    )
    return session.scalar(query.limit(1)) is not None


def unit_keys(session: Session) -> list[tuple[int, str, list[str]]]:
    rows = session.execute(select(Unit.id, Unit.name, Unit.aliases).where(Unit.active.is_(True)))
    return [(unit_id, name, list(aliases or [])) for unit_id, name, aliases in rows]


def _near(column: Any, moment: datetime, window: timedelta) -> Any:
    return column.between(moment - window, moment + window)


def nearest_text_report(
    session: Session, group_id: int, sender_id: int, moment: datetime, window: timedelta
) -> Report | None:
    """The sender's text report closest in time to ``moment``, preferring one posted before it."""
    candidates = session.scalars(
        select(Report).where(
            Report.group_id == group_id,
            Report.sender_id == sender_id,
            Report.text_message_at.is_not(None),
            _near(Report.text_message_at, moment, window),
        )
    ).all()
    if not candidates:
        return None
    return min(candidates, key=lambda r: (r.text_message_at > moment, abs(r.text_message_at - moment)))


def photo_only_reports_near(
    session: Session, group_id: int, sender_id: int, moment: datetime, window: timedelta
) -> Sequence[Report]:
    """The sender's photo-only reports with a photo within ``window`` of ``moment``."""
    return session.scalars(
        select(Report)
        .where(
            Report.group_id == group_id,
            Report.sender_id == sender_id,
            Report.text_message_at.is_(None),
            Report.last_message_at >= moment - window,
            Report.first_message_at <= moment + window,
        )
        .order_by(Report.first_message_at, Report.id)
    ).all()


def photo_media_ids(session: Session, report_id: int) -> set[int]:
    """The distinct pictures of a report (its photo count is their number)."""
    return set(session.scalars(select(ReportPhoto.media_id).where(ReportPhoto.report_id == report_id).distinct()))


def distinct_photo_count(session: Session, report_id: int) -> int:
    return (
        session.scalar(
            select(func.count(func.distinct(ReportPhoto.media_id))).where(ReportPhoto.report_id == report_id)
        )
        or 0
    )


def phash_table(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """All stored perceptual hashes as (media ids, uint64 hashes) for vectorised near-duplicate search."""
    rows = session.execute(select(Media.id, Media.phash).where(Media.phash.is_not(None))).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    hashes = np.fromiter((int(r[1], 16) for r in rows), dtype=np.uint64, count=len(rows))
    return ids, hashes


def postings_of(session: Session, media_ids: Sequence[int]) -> list[tuple[int, datetime, int, int, int]]:
    """Every attachment of these media as (media id, posted at, photo id, report id, raw message id)."""
    columns = (ReportPhoto.media_id, ReportPhoto.posted_at, ReportPhoto.id, ReportPhoto.report_id)
    rows = session.execute(select(*columns, ReportPhoto.raw_message_id).where(ReportPhoto.media_id.in_(media_ids)))
    return [(m, at, photo, report, raw) for m, at, photo, report, raw in rows]


def pending_one(session: Session, raw_id: int) -> PendingRaw | None:
    """One raw message in the shape assembly reads (to promote it by hand)."""
    stmt = select(*(getattr(RawMessage, name) for name in PendingRaw._fields)).where(RawMessage.id == raw_id)
    row = session.execute(stmt).first()
    return PendingRaw(*row) if row is not None else None


def report_raw_messages(session: Session, report_id: int) -> Sequence[RawMessage]:
    return session.scalars(select(RawMessage).where(RawMessage.report_id == report_id).order_by(RawMessage.id)).all()


def retriage_candidates(session: Session) -> list[tuple[Report, str]]:
    """Text reports without photos that staff never touched (no audit row at all), with the sender's platform id."""
    touched = (
        select(AuditEntry.id)
        .where(AuditEntry.subject_type == "report", AuditEntry.subject_id == cast(Report.id, String))
        .exists()
    )
    rows = session.execute(
        select(Report, Member.platform_user_id)
        .join(Member, Member.id == Report.sender_id)
        .where(
            Report.text.is_not(None),
            Report.photo_count == 0,
            Report.status.not_in([ReportStatus.CORRECTED.value, ReportStatus.WITHDRAWN.value]),
            ~touched,
        )
        .order_by(Report.id)
    )
    return [(report, user_id) for report, user_id in rows]


def unassigned_reports_of(session: Session, sender_id: int) -> Sequence[Report]:
    return session.scalars(select(Report).where(Report.sender_id == sender_id, Report.unit_id.is_(None))).all()


# --- assembly batch queries ---
# Assembly reads what a batch of pending messages needs with a few set-based queries (ingest.assembly.Assembler
# .prepare) instead of several per message; the per-message look-ups above remain the reference they must equal.


def members_by_id(session: Session, member_ids: Sequence[int]) -> dict[int, Member]:
    """The batch's senders in one query per chunk instead of one ``get`` per sender."""
    found: dict[int, Member] = {}
    for chunk in id_chunks(member_ids):
        found.update((m.id, m) for m in session.scalars(select(Member).where(Member.id.in_(chunk))))
    return found


def reports_in_span(
    session: Session, groups: Sequence[int], senders: Sequence[int], start: datetime, end: datetime
) -> list[Report]:
    """Every report ``nearest_text_report`` or ``photo_only_reports_near`` can return for a moment whose window
    lies inside ``[start, end]``, for these groups and senders (callers keep the (group, sender) pairs they want).

    Two range reads on the (group, sender, time) indexes, so their cost follows the span, not the history.
    """
    who = (Report.group_id.in_(sorted(set(groups))), Report.sender_id.in_(sorted(set(senders))))
    texts = select(Report).where(*who, Report.text_message_at.is_not(None), Report.text_message_at.between(start, end))
    photo_only = select(Report).where(
        *who, Report.text_message_at.is_(None), Report.last_message_at >= start, Report.first_message_at <= end
    )
    return [*session.scalars(texts), *session.scalars(photo_only)]


def photo_media_ids_of(session: Session, report_ids: Sequence[int]) -> dict[int, set[int]]:
    """The distinct pictures of each of these reports (reports without photos map to an empty set)."""
    found: dict[int, set[int]] = {report_id: set() for report_id in report_ids}
    for chunk in id_chunks(report_ids):
        query = select(ReportPhoto.report_id, ReportPhoto.media_id).where(ReportPhoto.report_id.in_(chunk))
        for report_id, media_id in session.execute(query):
            found[report_id].add(media_id)
    return found


def postings_of_many(session: Session, media_ids: Sequence[int]) -> list[tuple[int, datetime, int, int, int]]:
    """``postings_of`` for many media ids, a chunk of ids per query."""
    return [posting for chunk in id_chunks(media_ids) for posting in postings_of(session, chunk)]


def reserve_report_ids(session: Session) -> list[int]:
    """Ids for reports the assembler creates, so it can refer to them before one flush inserts them all.

    PostgreSQL takes 50 from the table's sequence (the unused rest of a batch's last 50 is a gap, as after any
    rollback). On SQLite the assembler is the only writer (its transaction began IMMEDIATE) and the ids are the
    next rowids SQLite itself would give; pending reports are flushed before the maximum is read.
    """
    if session.get_bind().dialect.name == "postgresql":
        query = text("SELECT nextval(pg_get_serial_sequence('reports', 'id')) FROM generate_series(1, 50)")
        return list(session.scalars(query))
    start = (session.scalar(select(func.max(Report.id))) or 0) + 1
    return list(range(start, start + 1000))


def set_raw_outcomes(session: Session, outcomes: list[dict[str, Any]]) -> None:
    """Give raw messages their assembly outcome (status, reason, report) in one statement.

    ``wenming.db.update_many``: one statement on PostgreSQL. Assembly reads raw messages as plain rows; one the session
    holds (a message staff promote) is given the same values.
    """
    columns = ("status", "reason", "report_id")
    for o in outcomes:
        held = session.identity_map.get(identity_key(RawMessage, o["id"]))
        if held is not None:
            for name in columns:
                set_committed_value(held, name, o[name])
    rows = [{"id": o["id"]} | {name: o[name] for name in columns} for o in outcomes]
    update_many(session, RawMessage.__table__, rows)
