"""Finding 7: malformed events are kept as rejected raw messages with a Chinese reason, never a 500 or a loss."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.sink import IngestSink
from ingest.models import RawMessage
from tests.bot import onebot_events as ev
from tests.security.conftest import SECRET, TOKEN, onebot_app, signed
from tests.support import wait_until
from wenming.settings import Settings

GOOD = json.dumps(ev.group_message_array(700), ensure_ascii=False)

BAD_BODIES = {
    "nested 900 deep": "[" * 900 + "]" * 900,
    "nested object 900 deep": '{"a":' * 900 + "1" + "}" * 900,
    "lone surrogate": GOOD.replace("义诊", "\\ud800"),
    "5,000-digit integer": GOOD.replace('"font": 0', '"font": ' + "9" * 5000),
    "5,000-digit self_id": GOOD.replace(f'"self_id": {ev.SELF_ID}', '"self_id": ' + "7" * 5000),
    "5,000-digit group id string": GOOD.replace(f'"group_id": {ev.GROUP_ID}', '"group_id": "' + "7" * 5000 + '"'),
    "NUL in the text": GOOD.replace("义诊", "\\u0000"),
    "time 1e300": GOOD.replace('"time": 1700000000', '"time": 1e300'),
    "NaN": GOOD.replace('"font": 0', '"font": NaN'),
    "not UTF-8": None,
}


def _settings(live_settings: Settings) -> Settings:
    return live_settings.model_copy(update={"onebot_access_token": TOKEN, "onebot_secret": SECRET})


def _rejected(sink: IngestSink) -> list[RawMessage]:
    with sink.factory() as session:
        return list(session.scalars(select(RawMessage).where(RawMessage.status == "rejected")))


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_a_malformed_http_event_is_kept_rejected_never_a_500(
    name: str, sink: IngestSink, live_settings: Settings
) -> None:
    app, _ = onebot_app(_settings(live_settings), sink)
    text = BAD_BODIES[name]
    body = text.encode("utf-8") if text is not None else GOOD.encode("utf-8").replace("义".encode(), b"\xff\xfe")

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w") as c:
            return await c.post("/onebot/v11/http", content=body, headers=signed(body))

    response = asyncio.run(post())
    assert response.status_code in (204, 400), response.text
    [kept] = _rejected(sink)
    assert kept.error and any("\u4e00" <= ch <= "\u9fff" for ch in kept.error)  # a Chinese reason
    with sink.factory() as session:
        assert session.scalars(select(RawMessage).where(RawMessage.status != "rejected")).all() == []


def test_bad_websocket_frames_are_kept_and_the_connection_stays_up(sink: IngestSink, live_settings: Settings) -> None:
    app, _ = onebot_app(_settings(live_settings), sink)
    headers = {"X-Self-ID": str(ev.SELF_ID), "X-Client-Role": "Event", "Authorization": f"Bearer {TOKEN}"}
    with TestClient(app) as client, client.websocket_connect("/onebot/v11/ws", headers=headers) as ws:
        ws.send_text(BAD_BODIES["nested 900 deep"])
        ws.send_bytes(b"\x00\x01binary frame")
        ws.send_text(BAD_BODIES["lone surrogate"])
        ws.send_text(BAD_BODIES["time 1e300"])
        ws.send_text(GOOD)  # the next real event after all that
        wait_until(lambda: len(_rejected(sink)) == 4, 10, "the bad frames to be kept")

        def stored() -> int:
            with sink.factory() as session:
                return len(session.scalars(select(RawMessage).where(RawMessage.status != "rejected")).all())

        wait_until(lambda: stored() == 1, 10, "the good event after the bad frames")
    errors = sorted(r.error or "" for r in _rejected(sink))
    assert any("二进制" in e for e in errors) and any("嵌套" in e for e in errors)
