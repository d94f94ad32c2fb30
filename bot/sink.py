"""Hand messages to ingest and commit at this edge; spool them when the database is unreachable."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.spool import Spool, decode_message, encode_message
from classifier import pipeline
from ingest.schemas import IncomingMessage, IngestOutcome
from wenming.db import transaction
from wenming.settings import Settings

log = logging.getLogger(__name__)


def _unreachable(exc: BaseException) -> bool:
    """True when the failure is the database being away, not bad data."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@dataclass(frozen=True)
class Delivery:
    """The result of handing one message over: stored (with ingest's outcome) or spooled."""

    outcome: IngestOutcome | None
    spooled: bool = False


class IngestSink:
    """The adapters' single way into ingest; thread-safe, one short transaction per message."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, spool: Spool | None = None) -> None:
        self.factory = factory
        self.settings = settings
        self.spool = spool or Spool(settings.data_dir / "spool")
        self.dead_letters = Spool(self.spool.path.parent, "failed.jsonl")
        self._drain_lock = threading.Lock()

    # -- synchronous core (adapters on threads, importers and CLI call these directly) --

    def deliver_sync(self, message: IncomingMessage) -> Delivery:
        """Store one message; on a database outage append it to the spool instead of losing it."""
        from ingest import service as ingest_service

        if self.spool.pending() and self._drain_until_outage()[1]:
            return self._spool_message(message, "暂存区仍无法写入数据库")
        try:
            with transaction(self.factory) as session:
                outcome = ingest_service.receive(session, self.settings, message)
        except Exception as exc:
            if not _unreachable(exc):
                raise
            return self._spool_message(message, str(exc))
        return Delivery(outcome=outcome)

    def _spool_message(self, message: IncomingMessage, why: str) -> Delivery:
        log.warning("数据库不可用，消息已暂存到 %s：%s", self.spool.path, why)
        self.spool.append({"kind": "message", "message": encode_message(message)})
        return Delivery(outcome=None, spooled=True)

    def reject_sync(self, payload: dict[str, Any], error: str, platform: str) -> Delivery:
        """Keep a malformed event raw with its Chinese error (spooled if the database is away)."""
        from ingest import service as ingest_service

        log.warning("无法解析的事件（%s）：%s", platform, error)
        try:
            with transaction(self.factory) as session:
                outcome = ingest_service.record_rejected(session, payload=payload, error=error, platform=platform)
        except Exception as exc:
            if not _unreachable(exc):
                raise
            self.spool.append({"kind": "rejected", "payload": payload, "error": error, "platform": platform})
            return Delivery(outcome=None, spooled=True)
        return Delivery(outcome=outcome)

    def drain(self) -> int:
        """Deliver spooled entries oldest first; stops at the first outage. Returns how many went in."""
        return self._drain_until_outage()[0]

    def _drain_until_outage(self) -> tuple[int, bool]:
        if not self._drain_lock.acquire(blocking=False):
            return 0, False  # another thread is draining
        try:
            return self._drain()
        finally:
            self._drain_lock.release()

    def _drain(self) -> tuple[int, bool]:
        entries = self.spool.take()
        done, outage = 0, False
        for entry in entries:
            try:
                self._store_entry(entry)
            except Exception as exc:
                if _unreachable(exc):
                    outage = True
                    break
                # never let one bad entry block the spool: set it aside with the reason
                log.exception("暂存消息无法入库，已移到 %s", self.dead_letters.path)
                self.dead_letters.append(entry | {"failure": repr(exc)})
            done += 1
        if done:
            self.spool.keep_only(entries[done:], done)
            log.info("已从暂存区处理 %d 条消息", done)
        return done, outage

    def _store_entry(self, entry: dict[str, Any]) -> None:
        from ingest import service as ingest_service

        with transaction(self.factory) as session:
            if entry.get("kind") == "message":
                ingest_service.receive(session, self.settings, decode_message(entry["message"]))
            elif entry.get("kind") == "rejected":
                ingest_service.record_rejected(
                    session, payload=entry["payload"], error=entry["error"], platform=entry["platform"]
                )
            else:
                raise ValueError(f"暂存区中无法识别的记录：{str(entry)[:200]}")

    def sender_of_sync(self, platform: str, group_id: str, message_id: str) -> str | None:
        """The platform user id that sent a stored message (a recall is checked against it)."""
        from ingest import repository as ingest_repository

        with self.factory() as session:
            return ingest_repository.sender_of(session, platform, group_id, message_id)

    def assemble_sync(self) -> Any:
        """Turn received messages into reports (and classify them when the classifier is present)."""
        from ingest import service as ingest_service

        with transaction(self.factory) as session:
            return ingest_service.assemble_pending(
                session, self.settings, on_report=pipeline.report_hook(self.settings)
            )

    # -- asyncio faces for the adapters --

    async def deliver(self, message: IncomingMessage) -> Delivery:
        return await asyncio.to_thread(self.deliver_sync, message)

    async def reject(self, payload: dict[str, Any], error: str, platform: str) -> Delivery:
        return await asyncio.to_thread(self.reject_sync, payload, error, platform)

    async def sender_of(self, platform: str, group_id: str, message_id: str) -> str | None:
        return await asyncio.to_thread(self.sender_of_sync, platform, group_id, message_id)

    async def assemble(self) -> Any:
        return await asyncio.to_thread(self.assemble_sync)
