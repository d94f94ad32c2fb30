"""Small helpers shared by tests that run servers, processes, threads or `wenming` commands in-process."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from wenming.settings import get_settings
from wiring.cli import common

T = TypeVar("T")


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(probe: Callable[[], T], timeout: float, what: str = "the condition", poll: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy and return it; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)


@contextmanager
def cli_settings(monkeypatch: pytest.MonkeyPatch, **env: str | Path) -> Iterator[None]:
    """Run `wenming` commands in-process with these settings (``database_url=…`` → ``WENMING_DATABASE_URL``):
    fresh settings and engines before, and the cached engines disposed after."""
    for name, value in env.items():
        monkeypatch.setenv(f"WENMING_{name.upper()}", str(value))
    get_settings.cache_clear()
    common.reset_engines()
    try:
        yield
    finally:
        common.reset_engines()
        get_settings.cache_clear()
