"""Finding 5: a reverse-WebSocket event is on disk before the next frame is read, and stored after a crash."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from sqlalchemy import func, select

from bot.onebot.adapter import OneBotAdapter
from bot.sink import IngestSink
from ingest.models import RawMessage
from tests.bot import onebot_events as ev
from tests.bot.fakes import RecordingSink
from wenming.settings import Settings


class StuckSink(RecordingSink):
    """Ingest that never finishes (the process is about to be killed)."""

    async def deliver(self, message: Any) -> None:
        await asyncio.Event().wait()


def _adapter(settings: Settings, sink: Any) -> OneBotAdapter:
    return OneBotAdapter(settings, sink, httpx.AsyncClient())


def _frames(count: int) -> list[str]:
    return [json.dumps(ev.group_message_array(1000 + i, time=1700000000 + i), ensure_ascii=False) for i in range(count)]


def test_events_read_but_not_stored_are_stored_after_a_restart(sink: IngestSink, live_settings: Settings) -> None:
    frames = _frames(5)

    async def crash_mid_flood() -> None:
        adapter = _adapter(live_settings, StuckSink())
        conn = adapter.open_connection(ev.SELF_ID, "Event", _no_send)
        worker = asyncio.create_task(adapter.run_worker(conn))
        for text in frames:
            await adapter.feed(conn, text)  # read from the socket: nothing is stored yet
        worker.cancel()  # the process dies here

    asyncio.run(crash_mid_flood())
    restarted = _adapter(live_settings, sink)
    asyncio.run(restarted.start())
    with sink.factory() as session:
        stored = session.scalar(select(func.count()).select_from(RawMessage))
    assert stored == len(frames)
    asyncio.run(restarted.start())  # a second start replays nothing twice
    with sink.factory() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == len(frames)


def test_a_full_queue_stops_reading_the_socket(settings: Settings) -> None:
    small = settings.model_copy(update={"onebot_queue_size": 3})

    async def flood() -> int:
        adapter = _adapter(small, StuckSink())
        conn = adapter.open_connection(ev.SELF_ID, "Event", _no_send)
        worker = asyncio.create_task(adapter.run_worker(conn))
        accepted = 0
        for text in _frames(10):
            try:
                await asyncio.wait_for(adapter.feed(conn, text), 0.5)
            except TimeoutError:
                break  # back-pressure: the reader waits instead of queueing without bound
            accepted += 1
        worker.cancel()
        return accepted

    accepted = asyncio.run(flood())
    assert accepted == 3 + 1  # the queue, plus the one the worker took and is stuck on


def test_the_journal_stays_small_when_everything_is_stored(settings: Settings) -> None:
    async def steady() -> OneBotAdapter:
        adapter = _adapter(settings, RecordingSink())
        conn = adapter.open_connection(ev.SELF_ID, "Event", _no_send)
        worker = asyncio.create_task(adapter.run_worker(conn))
        for text in _frames(50):
            await adapter.feed(conn, text)
        await adapter.close_connection(conn)
        await worker
        return adapter

    adapter = asyncio.run(steady())
    assert adapter.journal.path.stat().st_size == 0 and adapter.journal.unfinished() == []


async def _no_send(text: str) -> None:
    return None
