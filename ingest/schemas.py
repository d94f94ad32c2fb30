"""The normalized message every adapter and importer produces, and what ingest answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ingest.models import MessageKind, Platform


class MediaContent(BaseModel):
    """Image bytes fetched by the adapter; ``original_name`` is sender data, never used as a path."""

    model_config = ConfigDict(frozen=True)

    data: bytes
    original_name: str | None = Field(None, max_length=500)


class IncomingMessage(BaseModel):
    """A platform-agnostic group message. Naive ``sent_at`` values are read in the office time zone."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    group_id: str = Field(min_length=1, max_length=200)
    group_name: str | None = Field(None, max_length=200)
    sender_id: str | None = Field(None, max_length=200)  # None for system messages
    sender_name: str | None = Field(None, max_length=200)  # group card first, else nickname
    message_id: str | None = Field(None, max_length=200)  # None where the platform has no stable id
    # A recall (撤回) names the platform message id it withdraws: the ``message_id`` that message was stored under.
    recalls_message_id: str | None = Field(None, min_length=1, max_length=200)
    sent_at: datetime
    kind: MessageKind
    text: str | None = None
    media: MediaContent | None = None
    # Why an image message has no bytes (download failed, link expired): kept as the rejected raw message's reason.
    media_error: str | None = Field(None, max_length=2000)
    from_self: bool = False  # posted by the bot's own account
    payload: dict[str, Any] = Field(default_factory=dict)  # the original event, for inspection


class IngestOutcome(BaseModel):
    """What happened to one delivered message."""

    raw_message_id: int
    duplicate: bool = False
    status: str
    error: str | None = None
