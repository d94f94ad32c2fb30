"""Request body limits, enforced while the body arrives and before any route (or authentication) runs.

A pure ASGI middleware: ``Content-Length`` is checked first, then the bytes are counted as they are received, so a
400 MB body costs at most the limit in memory, whoever sends it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from wenming.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """Raised inside the app's ``receive`` when the counted bytes pass the route's limit."""


def route_limits(settings: Settings) -> list[tuple[str, int, str]]:
    """(path prefix, limit in bytes, advice), most specific first; everything else gets ``max_body_bytes``."""
    return [
        ("/api/v1/auth/login", settings.login_max_body_bytes, ""),
        ("/login", settings.login_max_body_bytes, ""),
        ("/u/", settings.login_max_body_bytes, ""),  # the public unit pages: an appeal form, no login
        ("/onebot/", settings.onebot_max_body_bytes, ""),
        ("/api/v1/capture/", settings.capture_max_body_bytes, "，请分成更小的批次上传"),
    ]


def _too_large_body(limit: int, advice: str) -> bytes:
    error = {"code": "too_large", "message": f"请求内容过大（上限 {limit} 字节）{advice}", "details": None}
    return json.dumps({"error": error}, ensure_ascii=False).encode()


class BodyLimitMiddleware:
    """413 with a Chinese message as soon as a request body is known to exceed its route's limit."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.routes = route_limits(settings)
        self.default = (settings.max_body_bytes, "")

    def limit_for(self, path: str) -> tuple[int, str]:
        return next(((limit, advice) for prefix, limit, advice in self.routes if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # WebSocket frames are capped by the server (ws_max_size)
            return
        limit, advice = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit, advice)
            return
        state = {"received": 0, "exceeded": False, "answered": False}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            """Once the limit is passed, whatever the app answers (FastAPI turns the error into a 400) becomes 413."""
            if state["exceeded"]:
                if not state["answered"]:
                    state["answered"] = True
                    await self._refuse(send, limit, advice)
                return
            state["answered"] = state["answered"] or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, counting_receive, guarded_send)
        if state["exceeded"] and not state["answered"]:
            await self._refuse(send, limit, advice)

    @staticmethod
    async def _refuse(send: Send, limit: int, advice: str) -> None:
        body = _too_large_body(limit, advice)
        headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
