"""The normalized message every adapter and importer produces, what ingest answers, and the unit inputs."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.models import HonourLevel, MessageKind, Platform

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

    @cached_property
    def sha256(self) -> str:
        """The bytes' hex digest, computed once: storing, deduplicating and keying a message all need it."""
        return hashlib.sha256(self.data).hexdigest()


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


# --- units: what staff may set, checked the same for the API and the console ---------------------


def _parse_level(value: object) -> object:
    """Accept 全国/省/市/县 (and 省级…) beside the codes, as staff write them."""
    if isinstance(value, str):
        try:
            return HonourLevel.parse(value)
        except ValueError:
            return value  # left for the enum check, which answers 422
    return value


def plain_text(value: str, what: str) -> str:
    """Names are shown, exported and matched against chat: no control characters."""
    value = value.strip()
    if not value:
        raise ValueError(f"{what}不能为空")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{what}不能包含控制字符")
    return value


def _clean_aliases(values: list[str]) -> list[str]:
    seen: list[str] = []
    for raw in values:
        alias = plain_text(raw, "别名")
        if alias not in seen:
            seen.append(alias)
    return seen


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    aliases: list[str] = Field(default_factory=list, max_length=50)
    honour_level: HonourLevel = HonourLevel.COUNTY
    category: str | None = Field(None, max_length=50)
    headcount: int | None = Field(None, ge=0, le=1_000_000)
    active: bool = True

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        return plain_text(value, "单位名称")

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        return _clean_aliases(value)

    @field_validator("honour_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return _parse_level(value)


class UnitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    aliases: list[str] | None = Field(None, max_length=50)
    honour_level: HonourLevel | None = None
    category: str | None = Field(None, max_length=50)
    headcount: int | None = Field(None, ge=0, le=1_000_000)
    active: bool | None = None

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str | None) -> str | None:
        return None if value is None else plain_text(value, "单位名称")

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_aliases(value)

    @field_validator("honour_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return _parse_level(value)
