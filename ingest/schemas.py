"""The normalized message every adapter and importer produces, and what ingest answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ingest.models import MessageKind, Platform

# Conventions every producer shares.
ANONYMOUS_PREFIX = "anonymous:"  # sender_id of an anonymous group message: "anonymous:<anonymous name>"
IMAGE_PLACEHOLDER = "[图片]"  # an exported photo whose bytes the export did not provide (kind ``other``)
MAX_OTHER_NAMES = 5

SenderName = Annotated[str, Field(min_length=1, max_length=200)]


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
    sender_name: str | None = Field(None, max_length=200)  # group card first, else remark, else nickname
    # The sender's other names (remark, account nickname…), in that order; unit resolution tries them all.
    other_names: list[SenderName] = Field(default_factory=list, max_length=MAX_OTHER_NAMES)
    message_id: str | None = Field(None, max_length=200)  # None where the platform has no stable id
    # A recall (撤回) names the platform message id it withdraws: the ``message_id`` that message was stored under.
    recalls_message_id: str | None = Field(None, min_length=1, max_length=200)
    sent_at: datetime
    kind: MessageKind
    text: str | None = None
    media: MediaContent | None = None
    from_self: bool = False  # posted by the bot's own account
    payload: dict[str, Any] = Field(default_factory=dict)  # the original event, for inspection


class IngestOutcome(BaseModel):
    """What happened to one delivered message."""

    raw_message_id: int
    duplicate: bool = False
    status: str
    error: str | None = None
