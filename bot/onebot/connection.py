"""One reverse-WebSocket connection: action calls matched to responses by ``echo``, with timeouts."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wenming.db import utcnow

_ECHO = itertools.count(1)


class ActionError(RuntimeError):
    """The OneBot implementation answered an action with a failure, or never answered."""


@dataclass(eq=False)
class Connection:
    """A connected OneBot client; ``role`` is ``Universal``, ``Event`` or ``API``."""

    self_id: int
    role: str
    send: Callable[[str], Awaitable[None]]
    timeout: float
    connected_at: datetime = field(default_factory=utcnow)
    # (journal seq, parsed frame, Chinese error or None); None closes the worker. Bounded by the adapter.
    events: asyncio.Queue[tuple[int, Any, str | None] | None] = field(default_factory=asyncio.Queue)
    _pending: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    closed: bool = False

    @property
    def can_call(self) -> bool:
        return self.role in ("Universal", "API") and not self.closed

    async def call(self, action: str, params: dict[str, Any], timeout: float | None = None) -> Any:
        """Send an action and wait for its ``data``; raises ``ActionError`` on failure or timeout."""
        if self.closed:
            raise ActionError("连接已断开")
        echo = f"wm-{next(_ECHO)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[echo] = future
        try:
            await self.send(json.dumps({"action": action, "params": params, "echo": echo}, ensure_ascii=False))
            return await asyncio.wait_for(future, timeout or self.timeout)
        except TimeoutError:
            raise ActionError(f"调用 {action} 超时（{timeout or self.timeout:g} 秒无响应）") from None
        finally:
            self._pending.pop(echo, None)

    def resolve(self, frame: dict[str, Any]) -> bool:
        """Complete the waiting call whose ``echo`` this response carries; False if it is not a response."""
        echo = frame.get("echo")
        if "post_type" in frame or echo is None:
            return False
        future = self._pending.get(str(echo))
        if future is None or future.done():
            return True  # a late answer to a timed-out call
        if frame.get("status") == "failed" or frame.get("retcode", 0) not in (0, 1):
            detail = frame.get("wording") or frame.get("message") or frame.get("msg") or ""
            future.set_exception(ActionError(f"动作失败（retcode={frame.get('retcode')}）{detail}"))
        else:
            future.set_result(frame.get("data"))
        return True

    def close(self) -> None:
        """Fail every waiting call; queued events are still processed by the worker (the adapter ends it)."""
        self.closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ActionError("连接已断开"))
