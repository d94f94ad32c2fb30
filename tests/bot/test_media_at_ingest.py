"""Photos are fetched when the message arrives (QQ links expire within hours): transient failures are retried, an
expired link is not, and a photo that could not be fetched is kept as a rejected raw message with the reason, which
the capture gap report shows."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.onebot.adapter import OneBotAdapter
from bot.sink import IngestSink
from capture import repository as capture_repository
from ingest.models import RawMessage
from tests.bot import onebot_events as ev
from tests.bot.fakes import RecordingSink, png_bytes
from wenming.db import utcnow
from wenming.settings import Settings

PNG = png_bytes("orange")
URL = "https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=EhQx&rkey=CAQSKAB6"


def _adapter(settings: Settings, sink: object, answers: list[int | Exception]) -> tuple[OneBotAdapter, list[str]]:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        answer = answers.pop(0) if answers else 200
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, content=PNG if answer == 200 else b"expired")

    quick = settings.model_copy(update={"media_download_backoff_seconds": 0.0, "media_download_retries": 3})
    return OneBotAdapter(quick, sink, httpx.AsyncClient(transport=httpx.MockTransport(handler))), calls  # type: ignore[arg-type]


def test_a_transient_failure_is_retried_while_the_link_is_fresh(settings: Settings) -> None:
    sink = RecordingSink()
    adapter, calls = _adapter(settings, sink, [502, httpx.ConnectError("reset by peer")])
    asyncio.run(adapter.handle_event(ev.image_message(url=URL)))
    [message] = sink.messages
    assert message.media is not None and message.media.data == PNG and message.media_error is None
    assert len(calls) == 3


def test_an_expired_link_is_kept_rejected_with_the_reason_and_shows_in_the_gap_report(
    committed_factory: sessionmaker[Session], live_settings: Settings
) -> None:
    sink = IngestSink(committed_factory, live_settings)
    adapter, calls = _adapter(live_settings, sink, [404])
    asyncio.run(adapter.handle_event(ev.image_message(url=URL)))
    assert calls == [URL]  # a 4xx is not retried: the link is gone
    with committed_factory() as session:
        raw = session.scalars(select(RawMessage)).one()
        failures = capture_repository.media_failures(session, utcnow() - timedelta(days=7))
    assert raw.kind == "image" and raw.status == "rejected" and raw.media_id is None
    assert raw.error is not None and raw.error.startswith("图片未能保存：图片下载失败：HTTP 404（图片链接可能已过期")
    assert "get_image" in raw.error  # the fallback was tried too (no OneBot connection to ask)
    [failure] = failures
    assert (failure.platform, failure.count, failure.last_reason) == ("qq", 1, raw.error)


def test_every_attempt_timing_out_is_reported_as_a_timeout(settings: Settings) -> None:
    sink = RecordingSink()
    adapter, calls = _adapter(settings, sink, [httpx.ReadTimeout("slow")] * 3)
    asyncio.run(adapter.handle_event(ev.image_message(url=URL)))
    [message] = sink.messages
    assert message.media is None and len(calls) == 3
    assert (message.media_error or "").startswith("图片下载超时（每次 20 秒，共试 3 次）")
