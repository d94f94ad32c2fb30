"""Tables for capture agents, their replay guard, adapter and per-group capture health, and capture alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wenming.db import Base, UTCDateTime, utcnow
from wenming.names import ZhEnum


class AdapterState(Base):
    """Last known state per chat adapter, written by `wenming run`; the health check and `bot status` read it."""

    __tablename__ = "bot_adapter_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
    accounts: Mapped[str] = mapped_column(String(500), default="")
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when ``connected`` last flipped
    problem: Mapped[str] = mapped_column(String(20), default="")  # e.g. web WeChat retcode 1102
    send_failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive; while connected: frozen
    last_send_error: Mapped[str] = mapped_column(Text, default="")


class CaptureAgent(Base):
    """A capture tool an office runs on its own PC; its signing secret is derived, only a digest is stored."""

    __tablename__ = "capture_agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_salt: Mapped[str] = mapped_column(String(64))  # with the server key, derives the secret
    secret_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the secret: detects a changed server key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_batch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    messages_stored: Mapped[int] = mapped_column(BigInteger, default=0)


class AgentRequest(Base):
    """Signatures already accepted within the skew window: the same signed request is never taken twice."""

    __tablename__ = "capture_agent_requests"
    __table_args__ = (
        UniqueConstraint("agent_id", "signature"),
        Index("ix_capture_agent_requests_seen_at", "seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("capture_agents.id", ondelete="CASCADE"))
    signature: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupWatch(Base):
    """Per chat group: when capture last saw a message, its usual longest silence, and the office's own setting."""

    __tablename__ = "capture_group_watch"

    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"), primary_key=True)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    usual_gap_seconds: Mapped[int | None] = mapped_column(Integer)  # learned; None: not regularly active
    learned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expected_gap_minutes: Mapped[int | None] = mapped_column(Integer)  # staff setting; wins over the learned gap
    watched: Mapped[bool] = mapped_column(Boolean, default=True)


class CaptureCursor(Base):
    """How far the health check has read raw messages (by id), so each run reads only what is new."""

    __tablename__ = "capture_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)


class AlertKind(ZhEnum):
    """What kind of capture problem an alert is about."""

    SILENT = "silent", "群内长时间无消息"  # a group normally active has been silent longer than usual
    DISCONNECTED = "disconnected", "连接断开"  # an adapter lost its link and is reconnecting
    LOGGED_OUT = "logged_out", "账号掉线"  # an adapter's account was logged out (needs a person)
    FROZEN = "frozen", "账号疑似冻结"  # an adapter says it is online but its sends fail


class CaptureAlert(Base):
    """One capture problem from when it was noticed to when capture resumed; the window is the gap to back-fill."""

    __tablename__ = "capture_alerts"
    __table_args__ = (
        Index("ix_capture_alerts_subject_closed", "subject", "closed_at"),
        Index("ix_capture_alerts_opened_at", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(120))  # "group:<id>" or "adapter:<name>"
    platform: Mapped[str] = mapped_column(String(20))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("chat_groups.id", ondelete="SET NULL"))
    adapter: Mapped[str | None] = mapped_column(String(40))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gap_start: Mapped[datetime] = mapped_column(UTCDateTime)  # the last message (or contact) before the problem
    gap_end: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the first message after it
    detail: Mapped[str] = mapped_column(Text)
    backfill: Mapped[str | None] = mapped_column(Text)  # the command that fills the window, once it is known
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notify_error: Mapped[str | None] = mapped_column(Text)
