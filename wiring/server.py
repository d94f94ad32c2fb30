"""How uvicorn is configured for `wenming serve` and `wenming run`: proxies, frame sizes, token-free logs."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from wenming.settings import Settings

_TOKEN_IN_QUERY = re.compile(r"(access_token=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    """The text with every ``access_token=`` value replaced (paths in access and WebSocket logs)."""
    return _TOKEN_IN_QUERY.sub(r"\1***", text)


class TokenFilter(logging.Filter):
    """Rewrites a record whose message carries ``access_token=…`` so the token never reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):  # the access formatter reads the arguments one by one
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def log_config() -> dict[str, Any]:
    """Uvicorn's logging set-up with the token filter on every handler (worker processes apply it too)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_tokens"] = {"()": TokenFilter}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("no_tokens")
    return config


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Proxy headers only from ``WENMING_TRUSTED_PROXIES`` (none by default); WebSocket frames capped and not queued."""
    trusted = ",".join(settings.trusted_proxies)
    return {
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or "",
        "ws_max_size": settings.onebot_max_body_bytes,
        # One frame waits inside the server at a time: the rest stay with the sender's socket until the OneBot
        # adapter has journaled the one before (bot/onebot/journal.py), so a crash loses no frame it had read.
        "ws_max_queue": 1,
        "h11_max_incomplete_event_size": 64 * 1024,
        "log_config": log_config(),
    }
