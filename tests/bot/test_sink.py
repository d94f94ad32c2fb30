"""Adapters → real ingest: stored once, kept raw when malformed, spooled (never dropped) during an outage."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.onebot.adapter import OneBotAdapter
from bot.sink import IngestSink
from ingest.models import RawMessage, RawStatus
from tests.bot import onebot_events as ev
from tests.bot.fakes import png_bytes
from wenming.settings import Settings


def _adapter(sink: IngestSink, settings: Settings) -> OneBotAdapter:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=png_bytes())))
    return OneBotAdapter(settings, sink, http)


def _raws(factory: sessionmaker[Session]) -> list[RawMessage]:
    with factory() as session:
        return list(session.scalars(select(RawMessage).order_by(RawMessage.id)))


def test_redelivery_after_restart_is_stored_once(sink: IngestSink, live_settings: Settings) -> None:
    asyncio.run(_adapter(sink, live_settings).handle_event(ev.group_message_string()))
    asyncio.run(_adapter(sink, live_settings).handle_event(ev.group_message_string()))  # a new process
    raws = _raws(sink.factory)
    assert [r.platform_message_id for r in raws] == [f"{ev.SELF_ID}:102", f"{ev.SELF_ID}:102#img0"]
    assert raws[1].media_id is not None and raws[0].sender_name == "李老师"


def test_malformed_event_is_kept_raw_with_its_reason(sink: IngestSink, live_settings: Settings) -> None:
    asyncio.run(_adapter(sink, live_settings).handle_event(ev.group_message_array(time=None)))
    [raw] = _raws(sink.factory)
    assert raw.status == RawStatus.REJECTED.value and "time" in (raw.error or "")
    assert raw.payload["message_id"] == 101


def test_outage_spools_and_drain_delivers_in_order(
    sink: IngestSink, live_settings: Settings, unreachable_factory: sessionmaker[Session]
) -> None:
    working = sink.factory
    sink.factory = unreachable_factory
    adapter = _adapter(sink, live_settings)
    for n in (1, 2, 3):
        asyncio.run(adapter.handle_event(ev.group_message_array(message_id=n, time=1700000000 + n)))
    asyncio.run(adapter.handle_event("garbage"))
    assert len(sink.spool) == 4
    lines = sink.spool.path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["message"]["text"].startswith("县人民医院")

    sink.factory = working
    assert sink.drain() == 4
    assert not sink.spool.pending()
    raws = _raws(working)
    assert [r.platform_message_id for r in raws[:3]] == [f"{ev.SELF_ID}:{n}" for n in (1, 2, 3)]
    assert raws[3].status == RawStatus.REJECTED.value
    assert sink.drain() == 0
    with working() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 4


def test_next_delivery_drains_the_spool_first(
    sink: IngestSink, live_settings: Settings, unreachable_factory: sessionmaker[Session]
) -> None:
    working = sink.factory
    sink.factory = unreachable_factory
    adapter = _adapter(sink, live_settings)
    asyncio.run(adapter.handle_event(ev.group_message_array(message_id=7)))
    sink.factory = working
    asyncio.run(_adapter(sink, live_settings).handle_event(ev.group_message_array(message_id=8)))
    assert [r.platform_message_id for r in _raws(working)] == [f"{ev.SELF_ID}:7", f"{ev.SELF_ID}:8"]
    assert not sink.spool.pending()


def test_a_bad_spool_entry_is_set_aside_and_never_blocks_the_rest(sink: IngestSink, live_settings: Settings) -> None:
    from bot.spool import encode_message
    from ingest.models import MessageKind, Platform
    from ingest.schemas import IncomingMessage

    good = IncomingMessage(
        platform=Platform.QQ,
        group_id="1",
        sender_id="2",
        message_id="1:1",
        sent_at=datetime(2026, 11, 1, tzinfo=UTC),
        kind=MessageKind.TEXT,
        text="好的",
    )
    sink.spool.append({"kind": "mystery"})
    sink.spool.append({"kind": "message", "message": encode_message(good)})
    with sink.spool.path.open("a", encoding="utf-8") as handle:
        handle.write('{"kind": "message", "mess')  # cut short by a crash
    assert sink.drain() == 3
    assert not sink.spool.pending()
    assert [r.platform_message_id for r in _raws(sink.factory)] == ["1:1"]
    failed = sink.dead_letters.take()
    assert [f["kind"] for f in failed] == ["mystery", "corrupt"] and all("failure" in f for f in failed)
