"""The OneBot endpoints end to end inside a bare FastAPI app: auth, signatures, sockets, actions, media."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bot.onebot.adapter import OneBotAdapter
from bot.onebot.router import create_router
from ingest.models import MessageKind
from tests.bot import onebot_events as ev
from tests.bot.fakes import RecordingSink, png_bytes
from tests.support import wait_until
from wenming.settings import Settings

PNG = png_bytes()
WS_HEADERS = {"X-Self-ID": str(ev.SELF_ID), "X-Client-Role": "Universal", "Authorization": "Bearer tok"}


def _build(
    settings: Settings, handler: Callable[[httpx.Request], httpx.Response] | None = None
) -> tuple[TestClient, OneBotAdapter, RecordingSink]:
    settings = settings.model_copy(
        update={
            "onebot_secret": "s3cret",
            "onebot_access_token": "tok",
            "media_download_retries": 2,
            "onebot_action_timeout_seconds": 2.0,
        }
    )
    sink = RecordingSink()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler or (lambda r: httpx.Response(200, content=PNG))))
    adapter = OneBotAdapter(settings, sink, http)
    app = FastAPI()
    app.include_router(create_router(adapter))
    return TestClient(app), adapter, sink


def _signed(body: bytes, secret: str = "s3cret") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {
        "X-Signature": f"sha1={digest}",
        "X-Self-ID": str(ev.SELF_ID),
        "Authorization": "Bearer tok",
        "Content-Type": "application/json",
    }


def _post(client: TestClient, event: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    body = json.dumps(event, ensure_ascii=False).encode()
    return client.post("/onebot/v11/http", content=body, headers=headers if headers is not None else _signed(body))


def test_http_post_with_valid_signature_delivers_the_message(settings: Settings) -> None:
    client, _, sink = _build(settings)
    assert _post(client, ev.group_message_array()).status_code == 204
    [message] = sink.messages
    assert message.text.startswith("县人民医院") and message.sender_name == "县人民医院-王医生"


def test_bad_signature_is_401_and_nothing_is_stored(settings: Settings) -> None:
    client, _, sink = _build(settings)
    body = json.dumps(ev.group_message_array()).encode()
    headers = _signed(body, secret="wrong")
    assert client.post("/onebot/v11/http", content=body, headers=headers).status_code == 401
    headers.pop("X-Signature")
    assert client.post("/onebot/v11/http", content=body, headers=headers).status_code == 401
    assert sink.messages == []


def test_missing_token_is_401_wrong_token_is_403_query_token_accepted(settings: Settings) -> None:
    client, _, sink = _build(settings)
    body = json.dumps(ev.group_message_array()).encode()
    headers = _signed(body)
    headers.pop("Authorization")
    assert client.post("/onebot/v11/http", content=body, headers=headers).status_code == 401
    wrong = headers | {"Authorization": "Bearer nope"}
    assert client.post("/onebot/v11/http", content=body, headers=wrong).status_code == 403
    ok = client.post("/onebot/v11/http?access_token=tok", content=body, headers=headers)
    assert ok.status_code == 204 and len(sink.messages) == 1


def test_malformed_events_are_kept_raw_with_a_reason(settings: Settings) -> None:
    client, _, sink = _build(settings)
    body = b"{not json"
    assert client.post("/onebot/v11/http", content=body, headers=_signed(body)).status_code == 400
    assert _post(client, ev.group_message_array(group_id="abc")).status_code == 204
    assert [r[2] for r in sink.rejected] == ["qq", "qq"]
    assert sink.rejected[0][0] == {"raw_body": "{not json"}
    assert "group_id" in sink.rejected[1][1]
    assert sink.messages == []


def test_image_segment_is_downloaded_from_its_url(settings: Settings) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=PNG)

    client, _, sink = _build(settings, handler)
    assert _post(client, ev.group_message_string()).status_code == 204
    text, image = sink.messages
    assert text.kind is MessageKind.TEXT and image.kind is MessageKind.IMAGE
    assert image.media is not None and image.media.data == PNG
    assert seen == ["https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=X,Y"]


def test_oversize_image_is_not_retried_and_the_message_is_kept(settings: Settings) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, content=b"x" * 2048, headers={"content-length": "99999999"})

    client, _, sink = _build(settings, handler)
    _post(client, ev.image_message())
    [message] = sink.messages
    assert message.media is None and "过大" in (message.media_error or "")
    assert len(calls) == 1


def test_duplicate_pushes_are_delivered_once(settings: Settings) -> None:
    client, _, sink = _build(settings)
    for _ in range(2):
        _post(client, ev.group_message_array(message_id=555))
    _post(client, ev.group_message_array(message_id=555, self_id=20002000))  # another bot account
    assert [m.message_id for m in sink.messages] == [f"{ev.SELF_ID}:555", "20002000:555"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Client-Role": "Universal", "Authorization": "Bearer tok"},
        {"X-Self-ID": "10001000", "Authorization": "Bearer tok"},
        {"X-Self-ID": "10001000", "X-Client-Role": "Universal"},
        {"X-Self-ID": "10001000", "X-Client-Role": "Universal", "Authorization": "Bearer bad"},
    ],
)
def test_websocket_without_identity_or_token_is_closed_1008(settings: Settings, headers: dict[str, str]) -> None:
    client, _, _ = _build(settings)
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect("/onebot/v11/ws", headers=headers),
    ):
        pass
    assert info.value.code == 1008


def _answer(ws: Any, expected_action: str, data: Any, status: str = "ok") -> dict[str, Any]:
    frame = ws.receive_json()
    assert frame["action"] == expected_action
    ws.send_json({"status": status, "retcode": 0 if status == "ok" else 100, "data": data, "echo": frame["echo"]})
    return frame


def test_websocket_session_heartbeat_groups_events_and_send(settings: Settings) -> None:
    client, adapter, sink = _build(settings)
    with client, client.websocket_connect("/onebot/v11/ws", headers=WS_HEADERS) as ws:
        _answer(
            ws,
            "get_group_list",
            [{"group_id": ev.GROUP_ID, "group_name": "文明单位工作群", "member_count": 80}],
        )
        ws.send_json(ev.lifecycle())
        ws.send_json(ev.heartbeat())
        ws.send_json(ev.group_message_array())
        ws.send_json(ev.group_message_array())  # pushed twice
        wait_until(lambda: len(sink.messages) == 1 and adapter.status().connected, 3.0, poll=0.01)
        assert sink.messages[0].group_name == "文明单位工作群"
        assert adapter.status().accounts == [str(ev.SELF_ID)]

        future = client.portal.start_task_soon(adapter.send_image, str(ev.GROUP_ID), PNG, "十月排行榜")
        frame = _answer(ws, "send_group_msg", {"message_id": 9001})
        assert future.result(timeout=3) == "9001"
        assert frame["params"]["group_id"] == ev.GROUP_ID
        text, image = frame["params"]["message"]
        assert text == {"type": "text", "data": {"text": "十月排行榜\n"}}
        assert base64.b64decode(image["data"]["file"].removeprefix("base64://")) == PNG
    wait_until(lambda: not adapter.status().connected, 3.0, poll=0.01)


def test_image_without_working_url_falls_back_to_get_image(settings: Settings) -> None:
    client, _, sink = _build(settings, lambda r: httpx.Response(404))
    with client, client.websocket_connect("/onebot/v11/ws", headers=WS_HEADERS) as ws:
        _answer(ws, "get_group_list", [])
        ws.send_json(ev.image_message())
        frame = _answer(ws, "get_image", {"file": "/tmp/x.png", "base64": base64.b64encode(PNG).decode()})
        assert frame["params"] == {"file": "A1B2C3.image"}
        wait_until(lambda: len(sink.messages) == 1, 3.0, poll=0.01)
    assert sink.messages[0].media is not None and sink.messages[0].media.data == PNG


def test_action_failure_and_timeout_surface_as_send_errors(settings: Settings) -> None:
    from bot.base import SendError

    client, adapter, _ = _build(settings)
    adapter.settings = adapter.settings.model_copy(update={"onebot_action_timeout_seconds": 0.2})
    with client, client.websocket_connect("/onebot/v11/ws", headers=WS_HEADERS) as ws:
        _answer(ws, "get_group_list", [])
        future = client.portal.start_task_soon(adapter.send_text, "1", "hi")
        _answer(ws, "send_group_msg", None, status="failed")
        with pytest.raises(SendError, match="发送失败"):
            future.result(timeout=3)
        with pytest.raises(SendError, match="超时"):
            client.portal.call(adapter.send_text, "1", "hi")


def test_image_download_retries_server_errors(settings: Settings) -> None:
    answers = [httpx.Response(502), httpx.Response(200, content=PNG)]
    client, _, sink = _build(settings, lambda r: answers.pop(0))
    _post(client, ev.image_message())
    assert sink.messages[0].media is not None and answers == []


def test_http_post_mode_is_connected_while_heartbeats_arrive(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    import bot.onebot.adapter as adapter_module

    client, adapter, _ = _build(settings)
    assert not adapter.status().connected and adapter.status().detail == "尚无 OneBot 实现连接"
    _post(client, ev.lifecycle("enable"))
    _post(client, ev.heartbeat(interval=5000))
    assert adapter.status().connected
    later = adapter_module.utcnow() + timedelta(seconds=16)
    monkeypatch.setattr(adapter_module, "utcnow", lambda: later)
    assert not adapter.status().connected  # three missed heartbeats
    _post(client, ev.heartbeat(interval=5000))
    assert adapter.status().connected
    _post(client, ev.lifecycle("disable"))
    assert not adapter.status().connected


def test_event_that_fails_message_validation_is_kept_raw(settings: Settings) -> None:
    client, _, sink = _build(settings)
    _post(client, ev.group_message_array(group_id=int("9" * 210)))
    assert sink.messages == [] and "整数过大" in sink.rejected[0][1]  # a 210-digit group id
