"""FastAPI endpoints a OneBot v11 implementation talks to: reverse WebSocket and HTTP POST."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

from fastapi import APIRouter, Request, Response, WebSocket, WebSocketDisconnect, status
from fastapi.responses import JSONResponse

from bot.onebot.adapter import PLATFORM, OneBotAdapter
from bot.onebot.codec import decode_event, is_id

log = logging.getLogger(__name__)

ROLES = ("Universal", "Event", "API")


def _presented_token(headers: object, query: object) -> str | None:
    """The access token from ``Authorization: Bearer|Token …`` or ``?access_token=``."""
    auth = headers.get("authorization") or ""  # type: ignore[attr-defined]
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return query.get("access_token") or None  # type: ignore[attr-defined]


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _token_problem(expected: str | None, presented: str | None, insecure_local: bool = False) -> int | None:
    """401 when the token is missing, 403 when it is wrong or none is configured (closed by default), else None."""
    if not expected:
        return None if insecure_local else status.HTTP_403_FORBIDDEN
    if presented is None:
        return status.HTTP_401_UNAUTHORIZED
    return None if hmac.compare_digest(presented, expected) else status.HTTP_403_FORBIDDEN


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Signature: sha1=<hex HMAC-SHA1 of the raw body keyed with the secret>``."""
    if not header or not header.startswith("sha1="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(header[5:].strip().lower(), expected)


def create_router(adapter: OneBotAdapter) -> APIRouter:
    """The router the API app includes; all state lives in ``adapter``."""
    router = APIRouter(prefix="/onebot/v11", tags=["onebot"])
    settings = adapter.settings

    def local_only(client: object) -> bool:
        """``--insecure-local`` accepts loopback clients only, whatever the bind address."""
        host = getattr(client, "host", None)
        return not adapter.insecure_local or host in LOOPBACK

    @router.post("/http", status_code=204)
    async def http_post(request: Request) -> Response:
        if not local_only(request.client):
            return JSONResponse({"detail": "未配置密钥时只接受本机连接"}, status_code=403)
        body = await request.body()
        if not settings.onebot_secret and not adapter.insecure_local:
            return JSONResponse({"detail": "HTTP 上报已关闭：请设置 WENMING_ONEBOT_SECRET"}, status_code=403)
        if settings.onebot_secret and not signature_ok(
            settings.onebot_secret, body, request.headers.get("x-signature")
        ):
            return JSONResponse({"detail": "签名校验失败"}, status_code=401)
        presented = _presented_token(request.headers, request.query_params)
        problem = _token_problem(settings.onebot_access_token, presented, adapter.insecure_local)
        if problem is not None:
            return JSONResponse({"detail": "access token 缺失或错误"}, status_code=problem)
        event, error = decode_event(body)
        if error is not None:
            await adapter.sink.reject(event, error, PLATFORM)
            return JSONResponse({"detail": error}, status_code=400)
        hint = request.headers.get("x-self-id")
        await adapter.handle_event(event, self_id_hint=int(hint) if is_id(hint) else None)
        return Response(status_code=204)

    @router.websocket("/ws")
    async def reverse_ws(websocket: WebSocket) -> None:
        self_id = websocket.headers.get("x-self-id", "")
        role = websocket.headers.get("x-client-role", "")
        if not is_id(self_id) or role not in ROLES:
            log.warning("拒绝 OneBot 连接：缺少或无效的 X-Self-ID / X-Client-Role")
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="missing X-Self-ID/X-Client-Role")
            return
        token = _presented_token(websocket.headers, websocket.query_params)
        problem = _token_problem(settings.onebot_access_token, token, adapter.insecure_local)
        if problem is not None or not local_only(websocket.client):
            log.warning("拒绝 OneBot 连接（账号 %s）：access token 缺失或错误", self_id)
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="bad access token")
            return
        await websocket.accept()
        conn = adapter.open_connection(int(self_id), role, websocket.send_text)
        worker = asyncio.create_task(adapter.run_worker(conn))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                await adapter.feed(conn, text if text is not None else message.get("bytes") or b"")
        except WebSocketDisconnect:
            pass
        finally:
            await adapter.close_connection(conn)
            await worker

    return router
