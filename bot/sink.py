"""Hand messages to ingest and commit at this edge; spool them when the database is unreachable."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.spool import Spool, decode_message, encode_message
from classifier import pipeline
from ingest.schemas import IncomingMessage, IngestOutcome
from wenming.db import read_transaction, transaction
from wenming.settings import Settings

log = logging.getLogger(__name__)

ASSEMBLY_BATCH = 50  # messages assembled (and classified) per transaction: well under a second of write lock
# Between two batches on SQLite: longer than the longest sleep of SQLite's busy handler (100 ms), so a delivery
# waiting for the write lock takes it instead of finding the next batch holding it again.
SQLITE_ASSEMBLY_PAUSE_SECONDS = 0.12


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
        self._sqlite = settings.database_url.startswith("sqlite")
        self._classifier_loaded = False

    # -- synchronous core (adapters on threads, importers and CLI call these directly) --

    def deliver_sync(self, message: IncomingMessage) -> Delivery:
        """Store one message; on a database outage append it to the spool instead of losing it."""
        from ingest import service as ingest_service

        if self.spool.pending() and self._drain_until_outage()[1]:
            return self._spool_message(message, "暂存区仍无法写入数据库")
        for attempt in range(2):
            try:
                with transaction(self.factory) as session:
                    outcome = ingest_service.receive(session, self.settings, message)
            except IntegrityError:
                # A concurrent writer created the same row first; a fresh transaction finds it. Never the sender's
                # problem: a second clash keeps the message in the spool instead of answering with an error.
                if attempt == 1:
                    log.exception("并发写入冲突，消息已暂存")
                    return self._spool_message(message, "并发写入冲突")
                continue
            except Exception as exc:
                if not _unreachable(exc):
                    raise
                return self._spool_message(message, str(exc))
            return Delivery(outcome=outcome)
        raise AssertionError("unreachable")

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
        """Turn received messages into reports (and classify them when the classifier is present).

        In bounded batches, one short transaction each: after a burst of 20,000 events one transaction over all of
        them held SQLite's write lock for minutes and every delivery meanwhile failed with "database is locked".
        """
        from ingest.assembly import AssemblyStats

        total = AssemblyStats()
        self._load_classifier_if_work()
        hook = pipeline.report_hook(self.settings)
        for stats in pipeline.assemble_in_batches(
            partial(transaction, self.factory), self.settings, hook, ASSEMBLY_BATCH
        ):
            total.add(stats)
            if self._sqlite and stats.processed == ASSEMBLY_BATCH:  # another batch follows
                time.sleep(SQLITE_ASSEMBLY_PAUSE_SECONDS)  # let waiting deliveries take the write lock
        return total

    def _load_classifier_if_work(self) -> None:
        """Load the model before the first assembly that needs it, outside its transaction: loading it (seconds)
        inside held SQLite's write lock while deliveries waited. Nothing pending: nothing loaded (idle memory)."""
        from classifier import service as classifier_service
        from ingest import service as ingest_service

        if self._classifier_loaded:
            return
        with read_transaction(self.factory) as session:
            if not ingest_service.has_pending(session):
                return
        classifier_service.active_predictor(self.settings)
        self._classifier_loaded = True

    # -- asyncio faces for the adapters --

    async def deliver(self, message: IncomingMessage) -> Delivery:
        return await asyncio.to_thread(self.deliver_sync, message)

    async def reject(self, payload: dict[str, Any], error: str, platform: str) -> Delivery:
        return await asyncio.to_thread(self.reject_sync, payload, error, platform)

    async def sender_of(self, platform: str, group_id: str, message_id: str) -> str | None:
        return await asyncio.to_thread(self.sender_of_sync, platform, group_id, message_id)

    async def assemble(self) -> Any:
        return await asyncio.to_thread(self.assemble_sync)
