"""Queries for capture agents, group watch rows, alerts and the gap report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from capture.models import AdapterState, AlertKind, CaptureAgent, CaptureAlert, CaptureCursor, GroupWatch
from capture.schemas import AdapterHealth, AlertView, MediaFailure
from ingest.models import ChatGroup, MessageKind, RawMessage, RawStatus
from wenming.db import utcnow

ADAPTER_ZH = {"onebot": "QQ（OneBot）", "wechat": "微信（itchat-uos）"}
STALE_AFTER = timedelta(seconds=60)  # `wenming run` writes every WENMING_BOT_STATUS_INTERVAL_SECONDS


def adapter_states(session: Session, now: datetime | None = None) -> list[AdapterHealth]:
    """Every adapter's last stored state; rows not refreshed for a minute are marked stale."""
    now = now or utcnow()
    return [
        AdapterHealth(
            name=row.name,
            platform=row.platform,
            connected=row.connected,
            detail=row.detail,
            accounts=row.accounts,
            last_event_at=row.last_event_at,
            updated_at=row.updated_at,
            changed_at=row.changed_at,
            problem=row.problem,
            send_failures=row.send_failures,
            last_send_error=row.last_send_error,
            stale=now - row.updated_at > STALE_AFTER,
        )
        for row in session.scalars(select(AdapterState).order_by(AdapterState.name))
    ]


def agent_by_name(session: Session, name: str) -> CaptureAgent | None:
    return session.scalar(select(CaptureAgent).where(CaptureAgent.name == name))


def agents(session: Session) -> list[CaptureAgent]:
    return list(session.scalars(select(CaptureAgent).order_by(CaptureAgent.name)))


def media_by_sha(session: Session, sha256: str) -> str | None:
    """The stored relative path of an image already uploaded, by its content hash."""
    from ingest.models import Media

    return session.scalar(select(Media.path).where(Media.sha256 == sha256))


def cursor(session: Session, name: str) -> CaptureCursor:
    row = session.get(CaptureCursor, name)
    if row is None:
        row = CaptureCursor(name=name, position=0)
        session.add(row)
    return row


class NewRaw(NamedTuple):
    id: int
    group_id: int
    sent_at: datetime | None
    received_at: datetime | None


def raws_after(session: Session, position: int) -> list[NewRaw]:
    stmt = (
        select(RawMessage.id, RawMessage.group_id, RawMessage.sent_at, RawMessage.received_at)
        .where(RawMessage.id > position, RawMessage.group_id.is_not(None))
        .order_by(RawMessage.id)
    )
    return [NewRaw(*row) for row in session.execute(stmt)]


def max_raw_id(session: Session) -> int:
    return session.scalar(select(func.max(RawMessage.id))) or 0


def group_times(session: Session, group_id: int, since: datetime) -> list[tuple[datetime, datetime]]:
    """(sent_at, received_at) of a group's messages since ``since``, for learning its usual gap."""
    stmt = select(RawMessage.sent_at, RawMessage.received_at).where(
        RawMessage.group_id == group_id, RawMessage.sent_at >= since
    )
    return [(s, r) for s, r in session.execute(stmt) if s is not None]


def first_message_after(session: Session, group_id: int, after: datetime) -> datetime | None:
    return session.scalar(
        select(func.min(RawMessage.sent_at)).where(RawMessage.group_id == group_id, RawMessage.sent_at > after)
    )


def watches(session: Session) -> list[tuple[GroupWatch, ChatGroup]]:
    stmt = select(GroupWatch, ChatGroup).join(ChatGroup, ChatGroup.id == GroupWatch.group_id).order_by(ChatGroup.id)
    return [(w, g) for w, g in session.execute(stmt).tuples()]


def group_by_key(session: Session, platform: str, key: str) -> ChatGroup | None:
    """A group by its platform id, or by its name (WeChat groups are keyed by name anyway)."""
    found = session.scalar(select(ChatGroup).where(ChatGroup.platform == platform, ChatGroup.platform_id == key))
    return (
        found
        or session.scalars(
            select(ChatGroup).where(ChatGroup.platform == platform, ChatGroup.name == key).order_by(ChatGroup.id)
        ).first()
    )


def open_alert(session: Session, subject: str) -> CaptureAlert | None:
    return session.scalars(
        select(CaptureAlert).where(CaptureAlert.subject == subject, CaptureAlert.closed_at.is_(None))
    ).first()


def outages(session: Session, group_id: int, platform: str, since: datetime) -> list[tuple[datetime, datetime]]:
    """Known capture gaps touching a group (its own, or its platform's adapter being down)."""
    stmt = select(CaptureAlert.gap_start, CaptureAlert.gap_end).where(
        CaptureAlert.gap_start >= since,
        (CaptureAlert.group_id == group_id) | ((CaptureAlert.group_id.is_(None)) & (CaptureAlert.platform == platform)),
    )
    return [(s, e or s) for s, e in session.execute(stmt)]


def _where(alert: CaptureAlert, names: dict[int, str]) -> str:
    if alert.group_id is not None:
        return names.get(alert.group_id, f"群 {alert.group_id}")
    return ADAPTER_ZH.get(alert.adapter or "", alert.adapter or alert.platform)


def views(session: Session, alerts: list[CaptureAlert]) -> list[AlertView]:
    ids = {a.group_id for a in alerts if a.group_id is not None}
    names = {g.id: g.name or g.platform_id for g in session.scalars(select(ChatGroup).where(ChatGroup.id.in_(ids)))}
    return [
        AlertView(
            id=a.id,
            kind=a.kind,
            kind_zh=AlertKind(a.kind).zh,
            platform=a.platform,
            where=_where(a, names),
            detail=a.detail,
            gap_start=a.gap_start,
            gap_end=a.gap_end,
            opened_at=a.opened_at,
            closed_at=a.closed_at,
            backfill=a.backfill,
            notified=a.notified_at is not None,
        )
        for a in alerts
    ]


def current_alerts(session: Session) -> list[AlertView]:
    """Alerts still open, newest first."""
    rows = session.scalars(
        select(CaptureAlert).where(CaptureAlert.closed_at.is_(None)).order_by(CaptureAlert.opened_at.desc())
    )
    return views(session, list(rows))


def recent_gaps(session: Session, since: datetime, limit: int = 20) -> list[AlertView]:
    """Closed alerts (capture resumed) since ``since``: the windows to back-fill, newest first."""
    rows = session.scalars(
        select(CaptureAlert)
        .where(CaptureAlert.closed_at.is_not(None), CaptureAlert.closed_at >= since)
        .order_by(CaptureAlert.closed_at.desc())
        .limit(limit)
    )
    return views(session, list(rows))


def media_failures(session: Session, since: datetime) -> list[MediaFailure]:
    """Photos kept as rejected raw messages (download failed, expired link) per group since ``since``."""
    stmt = (
        select(RawMessage.group_id, RawMessage.platform, func.count(), func.max(RawMessage.received_at))
        .where(
            RawMessage.kind == MessageKind.IMAGE.value,
            RawMessage.status == RawStatus.REJECTED.value,
            RawMessage.received_at >= since,
        )
        .group_by(RawMessage.group_id, RawMessage.platform)
    )
    out = []
    for group_id, platform, count, last_at in session.execute(stmt):
        group = session.get(ChatGroup, group_id) if group_id is not None else None
        reason = session.scalar(
            select(RawMessage.error)
            .where(
                RawMessage.group_id == group_id,
                RawMessage.kind == MessageKind.IMAGE.value,
                RawMessage.status == RawStatus.REJECTED.value,
            )
            .order_by(RawMessage.received_at.desc(), RawMessage.id.desc())
            .limit(1)
        )
        name = (group.name or group.platform_id) if group else "未知群"
        out.append(MediaFailure(group_id, platform, name, int(count), last_at, reason or ""))
    return sorted(out, key=lambda m: -m.count)


def pending_notifications(session: Session) -> tuple[list[AlertView], list[AlertView]]:
    """Alerts staff have not been told about yet: (newly open, newly resolved)."""
    base = select(CaptureAlert).where(CaptureAlert.notify_error.is_(None)).order_by(CaptureAlert.id)
    opened = session.scalars(base.where(CaptureAlert.closed_at.is_(None), CaptureAlert.notified_at.is_(None)))
    resolved = session.scalars(
        base.where(CaptureAlert.closed_at.is_not(None), CaptureAlert.resolved_notified_at.is_(None))
    )
    return views(session, list(opened)), views(session, list(resolved))
