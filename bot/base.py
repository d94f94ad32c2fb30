"""The one small interface every chat adapter implements, and what it reports about itself."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ingest.models import Platform
from ingest.schemas import IncomingMessage

if TYPE_CHECKING:
    from fastapi import APIRouter


@dataclass(frozen=True)
class GroupInfo:
    """A chat group as the platform lists it."""

    group_id: str
    name: str | None
    member_count: int | None = None


@dataclass
class AdapterStatus:
    """What `wenming bot status` shows for one adapter."""

    name: str
    platform: str
    connected: bool
    detail: str = ""
    accounts: list[str] = field(default_factory=list)
    last_event_at: datetime | None = None


class SendError(RuntimeError):
    """Sending to a group failed; the message says why, in Chinese."""


class MessageSink(Protocol):
    """Where adapters hand normalized messages (ingest, behind a spool)."""

    async def deliver(self, message: IncomingMessage) -> Any: ...

    async def reject(self, payload: dict[str, Any], error: str, platform: str) -> Any: ...


class Adapter(abc.ABC):
    """Receive platform events, send text and images to a group, list groups. Nothing else."""

    name: str
    platform: Platform

    @abc.abstractmethod
    async def start(self) -> None:
        """Begin receiving (connect, log in, or just wait for the platform to connect to us)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop receiving and release connections."""

    @abc.abstractmethod
    def status(self) -> AdapterStatus:
        """Connection state right now."""

    @abc.abstractmethod
    async def send_text(self, group_id: str, text: str) -> str | None:
        """Post text to a group; returns the platform message id when the platform gives one."""

    @abc.abstractmethod
    async def send_image(self, group_id: str, png: bytes, caption: str | None = None) -> str | None:
        """Post an image (with optional caption text) to a group; returns the platform message id."""

    @abc.abstractmethod
    async def list_groups(self) -> list[GroupInfo]:
        """Groups the bot account is in."""

    def routers(self) -> list[APIRouter]:
        """HTTP endpoints the platform calls (webhooks, a reverse WebSocket), mounted by ``wenming run`` as they
        are; an adapter that dials out itself (itchat) has none."""
        return []
