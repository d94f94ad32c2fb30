"""The one small interface every chat adapter implements, and what it reports about itself."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from capture.schemas import AdapterStatus
from ingest.models import Platform
from ingest.schemas import IncomingMessage

__all__ = ["Adapter", "AdapterStatus", "GroupInfo", "MessageSink", "PostTarget", "SendError"]

if TYPE_CHECKING:
    from fastapi import APIRouter


@dataclass(frozen=True)
class GroupInfo:
    """A chat group as the platform lists it."""

    group_id: str
    name: str | None
    member_count: int | None = None


class SendError(RuntimeError):
    """Sending to a group failed; the message says why, in Chinese."""


class MessageSink(Protocol):
    """Where adapters hand normalized messages (ingest, behind a spool)."""

    async def deliver(self, message: IncomingMessage) -> Any: ...

    async def reject(self, payload: dict[str, Any], error: str, platform: str) -> Any: ...


class PostTarget(Protocol):
    """Anything scheduled posts can go through: a chat adapter, or a channel of official group robots."""

    async def send_text(self, group_id: str, text: str) -> str | None: ...

    async def send_image(self, group_id: str, png: bytes, caption: str | None = None) -> str | None: ...


class Adapter(abc.ABC):
    """Receive platform events, send text and images to a group, list groups. Nothing else."""

    name: str
    platform: Platform
    send_failures: int = 0  # consecutive failed sends, reset by a successful one
    last_send_error: str = ""

    def record_send(self, error: str | None) -> None:
        """Count failed sends: an account that cannot send while it says it is online is frozen."""
        if error is None:
            self.send_failures, self.last_send_error = 0, ""
        else:
            self.send_failures, self.last_send_error = self.send_failures + 1, error[:500]

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
