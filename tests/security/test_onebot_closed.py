"""Finding 1: the OneBot endpoints are closed by default, and a forged recall withdraws nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from bot.onebot.adapter import OneBotAdapter
from bot.sink import IngestSink
from ingest.models import RawMessage, Report
from tests.bot import onebot_events as ev
from tests.bot.fakes import RecordingSink
from tests.security.conftest import SECRET, TOKEN, body_of, onebot_app, signed
from wenming.settings import Settings
from wiring import runtime
from wiring.cli.main import app as cli

WS_HEADERS = {"X-Self-ID": str(ev.SELF_ID), "X-Client-Role": "Universal"}


async def _post(app: Any, body: bytes, headers: dict[str, str], client: tuple[str, int] = ("203.0.113.9", 5000)):
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://wenming") as c:
        return await c.post("/onebot/v11/http", content=body, headers=headers)


def test_with_no_token_and_no_secret_nobody_can_post_a_report(settings: Settings) -> None:
    sink = RecordingSink()
    app, _ = onebot_app(settings, sink)  # the defaults: no token, no secret
    response = asyncio.run(_post(app, body_of(ev.group_message_array()), {"Content-Type": "application/json"}))
    assert response.status_code == 403
    assert sink.messages == [] and sink.rejected == []


def test_with_only_the_secret_set_the_websocket_still_needs_the_token(settings: Settings) -> None:
    sink = RecordingSink()
    app, _ = onebot_app(settings.model_copy(update={"onebot_secret": SECRET}), sink)
    with TestClient(app) as client, pytest.raises(WebSocketDisconnect) as refused:  # noqa: SIM117
        with client.websocket_connect("/onebot/v11/ws", headers=WS_HEADERS) as ws:
            ws.send_json(ev.group_message_array())
            ws.receive_text()
    assert refused.value.code == 1008
    assert sink.messages == []


def test_http_post_needs_the_secret_even_with_a_token(settings: Settings) -> None:
    sink = RecordingSink()
    app, _ = onebot_app(settings.model_copy(update={"onebot_access_token": TOKEN}), sink)
    body = body_of(ev.group_message_array())
    response = asyncio.run(_post(app, body, {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}))
    assert response.status_code == 403 and "WENMING_ONEBOT_SECRET" in response.json()["detail"]
    both = settings.model_copy(update={"onebot_access_token": TOKEN, "onebot_secret": SECRET})
    app, _ = onebot_app(both, sink)
    assert asyncio.run(_post(app, body, signed(body))).status_code == 204
    assert len(sink.messages) == 1


def test_insecure_local_accepts_only_this_machine(settings: Settings) -> None:
    sink = RecordingSink()
    app, _ = onebot_app(settings, sink, insecure_local=True)
    body = body_of(ev.group_message_array())
    plain = {"Content-Type": "application/json"}
    assert asyncio.run(_post(app, body, plain)).status_code == 403  # from another address
    assert asyncio.run(_post(app, body, plain, client=("127.0.0.1", 5000))).status_code == 204
    assert len(sink.messages) == 1


def test_run_refuses_to_open_onebot_without_a_token(cli_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[str] = []

    async def fake_serve(services: runtime.Services, app: Any, *, host: str, port: int, **_: Any) -> None:
        served.append(host)

    monkeypatch.setattr(runtime, "serve", fake_serve)
    refused = CliRunner().invoke(cli, ["run", "--adapters", "onebot", "--host", "0.0.0.0"])
    assert refused.exit_code == 1 and "WENMING_ONEBOT_ACCESS_TOKEN" in refused.output and served == []
    local = CliRunner().invoke(cli, ["run", "--adapters", "onebot", "--host", "0.0.0.0", "--insecure-local"])
    assert local.exit_code == 0, local.output
    assert served == ["127.0.0.1"]  # whatever --host says, the open mode listens on this machine only


# --- recalls -----------------------------------------------------------------------------------------


def _adapter(sink: IngestSink, settings: Settings) -> OneBotAdapter:
    return OneBotAdapter(settings, sink, httpx.AsyncClient())


def _report_after(sink: IngestSink, adapter: OneBotAdapter, *events: dict[str, Any]) -> Report:
    for event in events:
        asyncio.run(adapter.handle_event(event))
    sink.assemble_sync()
    with sink.factory() as session:
        return session.scalars(select(Report)).one()


def _recall(message_id: int, user_id: int, operator_id: int) -> dict[str, Any]:
    return ev.group_recall(message_id) | {"user_id": user_id, "operator_id": operator_id, "time": 1700000100}


def test_a_recall_by_someone_else_withdraws_nothing(sink: IngestSink, live_settings: Settings) -> None:
    adapter = _adapter(sink, live_settings)
    post = ev.group_message_array(300)  # sent by 87654321, a plain member
    assert _report_after(sink, adapter, post).status != "withdrawn"
    forged = _recall(300, user_id=87654321, operator_id=11112222)  # a stranger "recalls" it
    assert _report_after(sink, adapter, forged).status != "withdrawn"
    with sink.factory() as session:
        kept = session.scalars(select(RawMessage).where(RawMessage.status == "rejected")).one()
    assert "撤回未采纳" in (kept.error or "")  # kept for staff to see, with the reason


def test_a_recall_naming_the_wrong_sender_withdraws_nothing(sink: IngestSink, live_settings: Settings) -> None:
    adapter = _adapter(sink, live_settings)
    _report_after(sink, adapter, ev.group_message_array(301))
    fresh = _adapter(sink, live_settings)  # after a restart: the sender is looked up in the database
    forged = _recall(301, user_id=55556666, operator_id=55556666)
    assert _report_after(sink, fresh, forged).status != "withdrawn"


def test_the_sender_and_a_group_admin_can_still_recall(sink: IngestSink, live_settings: Settings) -> None:
    adapter = _adapter(sink, live_settings)
    admin_says = ev.group_message_array(
        302, user_id=44443333, sender={"user_id": 44443333, "card": "文明办-周", "role": "admin"}
    ) | {"message": [{"type": "text", "data": {"text": "收到"}}], "time": 1700000001}
    _report_after(sink, adapter, ev.group_message_array(303), admin_says)
    assert _report_after(sink, adapter, _recall(303, user_id=87654321, operator_id=44443333)).status == "withdrawn"


def test_the_sender_recalling_their_own_post_withdraws_it(sink: IngestSink, live_settings: Settings) -> None:
    adapter = _adapter(sink, live_settings)
    _report_after(sink, adapter, ev.group_message_array(304))
    assert _report_after(sink, adapter, _recall(304, user_id=87654321, operator_id=87654321)).status == "withdrawn"
