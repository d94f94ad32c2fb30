"""What capture's services take and give: batch acknowledgements, adapter health, alerts and gap reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from ingest.models import MessageKind

AckStatus = Literal["stored", "duplicate", "rejected"]


class Ack(BaseModel):
    """One message of a batch: stored, already there, or rejected with the reason.

    ``retry`` is true when nothing was stored and sending the message again can succeed (e.g. its photo was
    neither in the batch nor uploaded before); a rejected message without ``retry`` is kept raw with the reason.
    """

    index: int
    message_id: str | None = None
    status: AckStatus
    raw_message_id: int | None = None
    reason: str | None = None
    retry: bool = False


class BatchResult(BaseModel):
    """The answer to one pushed batch, in the order the messages were sent."""

    agent: str
    acks: list[Ack]
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass
class AdapterStatus:
    """What an adapter reports about itself right now (``Adapter.status()``); `wenming run` stores it."""

    name: str
    platform: str
    connected: bool
    detail: str = ""
    accounts: list[str] = field(default_factory=list)
    last_event_at: datetime | None = None
    problem: str = ""  # a platform code explaining a logout (web WeChat retcode 1101/1102/1203)
    send_failures: int = 0  # consecutive failed sends: failing while "connected" means frozen
    last_send_error: str = ""


@dataclass(frozen=True)
class AdapterHealth:
    """An adapter's stored state as the health check and `wenming bot status` read it."""

    name: str
    platform: str
    connected: bool
    detail: str = ""
    accounts: str = ""
    last_event_at: datetime | None = None
    updated_at: datetime | None = None
    changed_at: datetime | None = None  # when ``connected`` last flipped
    problem: str = ""
    send_failures: int = 0
    last_send_error: str = ""
    stale: bool = False  # not refreshed for a minute: `wenming run` is not running (or no longer has it)


@dataclass(frozen=True)
class AlertView:
    """An alert as staff see it: what, since when, and — once capture resumed — the command that fills the gap."""

    id: int
    kind: str
    kind_zh: str
    platform: str
    where: str  # the group's name or the adapter
    detail: str
    gap_start: datetime
    gap_end: datetime | None
    opened_at: datetime
    closed_at: datetime | None
    backfill: str | None
    notified: bool


@dataclass
class HealthReport:
    """What one health check changed."""

    opened: list[AlertView] = field(default_factory=list)
    closed: list[AlertView] = field(default_factory=list)


@dataclass(frozen=True)
class GroupHealth:
    """One watched group: last live message and the silence that would raise an alert."""

    group_id: int
    platform: str
    name: str
    last_message_at: datetime | None
    threshold_seconds: int | None  # None: not regularly active and no setting: never alerts
    learned: bool  # the threshold is learned (not the office's setting)
    watched: bool


@dataclass(frozen=True)
class MediaFailure:
    """Photos that could not be fetched in one group (kept as rejected raw messages)."""

    group_id: int | None
    platform: str
    name: str
    count: int
    last_at: datetime | None
    last_reason: str


class AgentMessage(BaseModel):
    """One message as an agent sends it: the normalized format of docs/formats.md, a photo by its SHA-256."""

    platform: Literal["wechat", "qq"]
    group_id: str
    group_name: str | None = None
    sender_id: str | None = None
    sender_name: str | None = None
    message_id: str | None = None
    sent_at: datetime
    kind: MessageKind
    recalls_message_id: str | None = None
    text: str | None = None
    image_sha256: str | None = None  # the photo's bytes are in ``photos`` of this batch, or were uploaded before
    image_name: str | None = None
    media_error: str | None = None  # why the agent has no bytes for this photo (kept as the rejection reason)
    from_self: bool = False
    payload: dict[str, object] = {}


class BatchIn(BaseModel):
    """``POST /api/v1/capture/batches``: messages, and the photos they name, base64 by SHA-256 (hex)."""

    messages: list[AgentMessage]
    photos: dict[str, str] = {}
